"""Output directories: the files of one run written as one set.

The files of one run in an output directory ``DIR`` (for a batch: the
summary files and one subfolder of files per dataset) form one set,
and ``DIR`` always holds the files of exactly one run:

1. **staged**: every file is written completely into a private, hidden
   staging directory ``DIR/.fitcli-staging-XXXXXXXX/`` (a batch's
   datasets' files too, under names that say their folder:
   ``5.run01.fit.csv``);
2. **committed**: under an exclusive lock on ``DIR`` (``flock`` on the
   directory) and with SIGINT/SIGTERM held, each staged file is renamed
   into place (tables first, plots next, ``result.json`` /
   ``summary.json`` last), the files of the previous set that the new
   one does not have are removed, and the manifest is replaced;
3. on any failure before the renames -- no space left, a file that
   cannot be created, an interrupt -- the staging directory is removed
   and ``DIR`` keeps the previous set untouched.

The manifest ``DIR/.fitcli-manifest.json`` lists the set: its files,
and for a batch each dataset folder with its files.  Only files it
lists are ever removed: the user's own files in ``DIR`` (``-o .``) and
files written by a fitcli without manifests stay.  Two runs writing
into one ``DIR`` at once commit one after the other, so ``DIR`` ends
with the complete set of the later one.  A staging directory left by a
process killed with SIGKILL is removed by the next run into ``DIR``
(each live one is locked by its run).  Readers take no lock: a program
listing ``DIR`` during a commit (milliseconds) may see both sets; and a
SIGKILL or power loss in those milliseconds can leave a mix, which the
next run into ``DIR`` replaces.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile

from .inputs import file_kind, read_prefix
from .writes import (OutputError, _as_bytes, _fill, _fsync_dir, _hold_signals,
                     _output_error, _reason, _release_for, _release_signals,
                     _umask)

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no locking
    fcntl = None

__all__ = ["OutputSet", "write_outputs", "stage_files", "check_output_dir",
           "make_output_dir",
           "read_manifest", "written_by_fitcli", "MANIFEST", "STAGING_PREFIX"]

#: The manifest of an output directory (hidden), and its format.
MANIFEST = ".fitcli-manifest.json"
MANIFEST_FORMAT = "fitcli.outputs"
MANIFEST_VERSION = 1
#: Prefix of the staging directories inside an output directory.
STAGING_PREFIX = ".fitcli-staging-"
#: Largest manifest read back (a batch of 10^6 datasets stays far below).
_MAX_MANIFEST_BYTES = 256 << 20

#: Files moved into place first by :func:`write_outputs` (in this order),
#: the result documents moved last, and the suffixes of plots (before them).
_TABLES = ("params.csv", "summary.csv")
_DOCUMENTS = ("summary.json", "result.json")
_LAST_SUFFIXES = (".png", ".svg", ".pdf", ".jpg", ".jpeg")


def _check_file_name(name):
    if not isinstance(name, str) or not _plain_name(name):
        raise ValueError(f"output file names must be plain file names, "
                         f"got {name!r}")


def _plain_name(name):
    """A plain file name: no directories, not '.', '..', the manifest or a
    staging directory."""
    return (isinstance(name, str) and name not in ("", ".", "..", MANIFEST)
            and "/" not in name and "\0" not in name
            and (os.sep == "/" or os.sep not in name)
            and (os.altsep is None or os.altsep not in name)
            and not name.startswith(STAGING_PREFIX))


def _write_order(names):
    """Tables and reports first, plots next, and the result documents
    (``summary.json``, ``result.json``) last: a Makefile rule whose target is
    ``result.json`` then sees a new target only when everything else is in
    place."""
    documents = [n for n in _DOCUMENTS if n in names]
    tables = [n for n in _TABLES if n in names]
    plots = [n for n in names if n not in documents and n not in tables
             and n.lower().endswith(_LAST_SUFFIXES)]
    middle = [n for n in names if n not in documents and n not in tables
              and n not in plots]
    return tables + middle + plots + documents


def check_output_dir(path, *, key=None, **where):
    """Raise :class:`OutputError` when ``path`` cannot be an output
    directory: it, or the nearest of its parents that exists, is not a
    directory (a regular file, a device, a named pipe, a socket).

    ``key`` and ``where`` (``file``, ``line``, ``column``) locate the error
    (a spec's ``output.dir``); without them it names ``path``.
    """
    import stat
    directory = os.fspath(path)
    current = os.path.abspath(directory)
    while True:
        try:
            mode = os.stat(current).st_mode
        except (FileNotFoundError, NotADirectoryError):
            parent = os.path.dirname(current)
            if parent == current:
                return
            current = parent
            continue
        except OSError:
            return              # not examinable here: the write reports it
        if stat.S_ISDIR(mode):
            return
        kind = file_kind(mode) or "a regular file"
        if current == os.path.abspath(directory):
            text = f"cannot use it as the output directory: it is {kind}"
        else:
            text = (f"cannot create the output directory: {current} is "
                    f"{kind}")
        text += ", not a directory"
        if where.get("file") is not None:
            text = f"{directory}: {text}"
        else:
            where = {"file": directory}
        raise OutputError(text, key=key, **where)


def _flock(fd, *, blocking=True):
    """Exclusive ``flock`` on ``fd``: True when taken, False when another
    process holds it (``blocking=False``), None when the filesystem or
    platform has no such locks."""
    if fcntl is None:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    except OSError as exc:
        if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL,
                         errno.ENOSYS):
            return None
        raise
    return True


def _open_dir(path):
    return os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
                   | getattr(os, "O_CLOEXEC", 0))


class _DirLock:
    """``with _DirLock(path):`` -- an exclusive lock on a directory, held
    until the block ends (released also when the process dies)."""

    def __init__(self, path):
        self.path = path
        self.fd = None
        self.locked = None

    def __enter__(self):
        self.fd = _open_dir(self.path)
        try:
            self.locked = _flock(self.fd)
        except BaseException:
            os.close(self.fd)
            raise
        return self

    def __exit__(self, *info):
        os.close(self.fd)       # releases the lock


def _remove_dead_staging(root, own=None):
    """Remove staging directories in ``root`` whose run is gone (their lock
    can be taken).  Called with ``root`` locked: a live run creates and
    locks its staging directory under that lock, so it cannot be taken for
    a dead one.  Without locks (a filesystem that has none) nothing is
    removed."""
    try:
        entries = [e.name for e in os.scandir(root)
                   if e.name.startswith(STAGING_PREFIX)
                   and e.is_dir(follow_symlinks=False)]
    except OSError:
        return
    for name in entries:
        path = os.path.join(root, name)
        if path == own:
            continue
        try:
            fd = _open_dir(path)
        except OSError:
            continue
        try:
            if _flock(fd, blocking=False):
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass
        finally:
            os.close(fd)


class _Manifest:
    """The set of files recorded in an output directory: ``files`` (names
    in the directory) and ``dirs`` (subfolder -> names in it)."""

    def __init__(self, files=(), dirs=None):
        self.files = list(files)
        self.dirs = {d: list(v) for d, v in (dirs or {}).items()}

    def document(self):
        return {"format": MANIFEST_FORMAT, "version": MANIFEST_VERSION,
                "files": sorted(self.files),
                "dirs": {d: sorted(self.dirs[d]) for d in sorted(self.dirs)}}

    def union(self, other):
        files = list(dict.fromkeys(self.files + other.files))
        dirs = {d: list(v) for d, v in self.dirs.items()}
        for d, names in other.dirs.items():
            dirs[d] = list(dict.fromkeys(dirs.get(d, []) + names))
        return _Manifest(files, dirs)

    def lists(self, sub, name):
        """Whether the file ``name`` (in subfolder ``sub``, or in the
        directory itself for None) belongs to the set."""
        return name in (self.files if sub is None else self.dirs.get(sub, ()))


def read_manifest(directory):
    """The manifest of an output directory (:class:`_Manifest`), or None
    when there is none or it cannot be read or trusted (names that are not
    plain file names are dropped: a manifest never makes fitcli remove a
    file outside its directory)."""
    try:
        raw = read_prefix(os.path.join(directory, MANIFEST),
                          _MAX_MANIFEST_BYTES + 1)
        if len(raw) > _MAX_MANIFEST_BYTES:
            return None
        doc = json.loads(raw)
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(doc, dict) or doc.get("format") != MANIFEST_FORMAT:
        return None
    files = doc.get("files")
    dirs = doc.get("dirs")
    files = [n for n in files if _plain_name(n)] \
        if isinstance(files, list) else []
    dirs = {d: [n for n in v if _plain_name(n)]
            for d, v in dirs.items() if _plain_name(d) and isinstance(v, list)} \
        if isinstance(dirs, dict) else {}
    return _Manifest(files, dirs)


def _staged_path(staging, sub, name):
    """Where file ``name`` of subfolder ``sub`` (None: the directory
    itself) is staged: flat in the staging folder, as ``-.NAME`` or
    ``LEN.SUB.NAME`` (``5.run01.fit.csv``: unambiguous, and no folder to
    create and remove per dataset -- on many filesystems a directory costs
    far more than a file), or in a subfolder ``SUB/NAME`` when that name
    would be too long for the filesystem."""
    flat = f"-.{name}" if sub is None else f"{len(sub)}.{sub}.{name}"
    if len(flat.encode("utf-8", "surrogateescape")) <= 255:
        return os.path.join(staging, flat)
    return os.path.join(staging, sub, name)


def _parse_staged(entry):
    """(sub or None, name) of a flat staged file name, or None."""
    if entry.startswith("-."):
        return None, entry[2:]
    count, dot, rest = entry.partition(".")
    if not (dot and count.isdigit()):
        return None
    k = int(count)
    if len(rest) <= k + 1 or rest[k] != ".":
        return None
    return rest[:k], rest[k + 1:]


def stage_files(staging, files, *, sub=None, mode=None, durable=False,
                shown=None):
    """Write ``files`` (``{name: bytes or str}``) as new files into the
    staging folder ``staging`` of an :class:`OutputSet`, for its
    subfolder ``sub`` (None: the directory itself), in the order of
    :func:`_write_order`.  Used by :class:`OutputSet` and by a batch's
    worker processes.  A file that fails is removed, and the error names
    ``shown`` (the folder the files are for) instead of the staging
    folder."""
    for name in files:
        _check_file_name(name)
    if mode is None:
        mode = 0o666 & ~_umask()
    shown = staging if shown is None else shown
    for name in _write_order(list(files)):
        path = _staged_path(staging, sub, name)
        if os.path.dirname(path) != staging:
            try:
                os.makedirs(os.path.dirname(path), exist_ok=True)
            except OSError as exc:
                raise _output_error("cannot create the output directory",
                                    shown, exc) from None
        _create(path, files[name], mode, durable, os.path.join(shown, name))


def _create(path, data, mode, durable, shown):
    """Write the new file ``path`` (removed again on failure); errors name
    ``shown``."""
    data = _as_bytes(data)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    # signals held while the file is created: an interrupt between the
    # open() and the ``try`` would leave it behind (as in _atomic_write)
    held = _hold_signals()
    try:
        fd = os.open(path, flags, 0o600)
    except BaseException as exc:
        _release_signals(held)
        if isinstance(exc, OSError):
            raise _output_error("cannot create a file in the output "
                                "directory", shown, exc) from None
        raise
    try:
        _release_for(held, fd)
        _fill(fd, data, mode, durable)
    except BaseException as exc:
        try:
            os.unlink(path)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise _output_error("cannot write output file", shown,
                                exc) from None
        raise


class OutputSet:
    """The files of one run for an output directory, staged and then
    committed as one set (see the module docstring).

    ::

        with OutputSet("results/peaks") as out:
            out.write({"fit.csv": ..., "result.json": ...})
            out.write({...}, sub="run001")       # a batch's dataset folder
            written = out.commit()

    Leaving the ``with`` block without :meth:`commit` (an exception, an
    interrupt) removes everything staged: the directory keeps its previous
    set.  The directory is created (with its parents) when the set is
    opened, and removed again on abort if it was created and is empty.

    Parameters
    ----------
    out_dir : str or os.PathLike
    durable : bool
        fsync every file and directory (see :func:`atomic_write`).
    replace : bool, default True
        The set replaces the directory's previous set: the previous set's
        files that this one does not have are removed.  With False the
        files are added to it (``fitcli plot`` drawing a plot again into a
        run's folder); a manifest is then only updated, never created.
    """

    def __init__(self, out_dir, *, durable=False, replace=True):
        self.root = os.fspath(out_dir)
        self.durable = durable
        self.replace = replace
        self.staging = None
        self._stage_fd = None
        self._created = []
        self._order = {}
        self._kept = {}
        self._mode = 0o666 & ~_umask()
        try:
            self._open()
        except BaseException:
            self.abort()
            raise

    # ------------------------------------------------------------ staging
    def _open(self):
        check_output_dir(self.root)
        self._created = _makedirs(self.root)
        with _DirLock(self.root):
            _remove_dead_staging(self.root)
            held = _hold_signals()
            try:
                self.staging = tempfile.mkdtemp(prefix=STAGING_PREFIX,
                                                dir=self.root)
                self._stage_fd = _open_dir(self.staging)
                _flock(self._stage_fd, blocking=False)
            except OSError as exc:
                raise _output_error("cannot create a file in the output "
                                    "directory", self.root, exc) from None
            finally:
                _release_signals(held)

    def target(self, sub=None):
        """The final folder of ``sub`` (or the directory itself)."""
        if sub is not None and not _plain_name(sub):
            raise ValueError(f"output subfolder names must be plain names, "
                             f"got {sub!r}")
        return self.root if sub is None else os.path.join(self.root, sub)

    def write(self, files, sub=None):
        """Stage ``files`` (``{name: bytes or str}``) for the directory
        itself or for its subfolder ``sub``."""
        stage_files(self.staging, files, sub=sub, mode=self._mode,
                    durable=self.durable, shown=self.target(sub))
        order = self._order.setdefault(sub, [])
        order.extend(n for n in _write_order(list(files)) if n not in order)

    def keep(self, sub):
        """Make the previous set's subfolder ``sub`` part of this set as it
        is (an incremental run that does not refit a dataset).  Returns
        False -- nothing kept -- when the previous set has no such folder
        or a file of it is missing; the caller then writes it anew.  The
        folder is checked again under the lock when the set is committed
        (:class:`OutputError` if it changed meanwhile)."""
        if sub is None or not _plain_name(sub):
            return False
        previous = read_manifest(self.root)
        if previous is None or sub not in previous.dirs:
            return False
        names = previous.dirs[sub]
        folder = self.target(sub)
        if not names or not all(os.path.isfile(os.path.join(folder, n))
                                for n in names):
            return False
        self._kept[sub] = list(names)
        return True

    def staging_writes(self):
        """``with out.staging_writes():`` -- while the block runs,
        :func:`write_outputs` into a subfolder of this set's directory
        (``out_dir/run001``) stages the files into this set instead of
        writing them (in this process and in worker processes forked from
        it; others get :func:`staged_folders` through
        :func:`register_staged`).  A batch's datasets are written by code
        that knows nothing of the batch."""
        import contextlib

        @contextlib.contextmanager
        def scope():
            key = os.path.abspath(self.root)
            _STAGED[key] = self.staging
            try:
                yield self
            finally:
                _STAGED.pop(key, None)
        return scope()

    def _staged(self):
        """``{sub or None: [(name, staged path)] in write order}`` of
        everything staged (also by other processes)."""
        found = {None: {}}
        for entry in os.scandir(self.staging):
            if entry.is_dir(follow_symlinks=False):      # long names
                names = found.setdefault(entry.name, {})
                for e in os.scandir(entry.path):
                    if e.is_file(follow_symlinks=False):
                        names[e.name] = e.path
            elif entry.is_file(follow_symlinks=False):
                parsed = _parse_staged(entry.name)
                if parsed is not None and entry.name != MANIFEST:
                    sub, name = parsed
                    found.setdefault(sub, {})[name] = entry.path
        out = {}
        for sub in [None] + sorted(s for s in found if s is not None):
            known = [n for n in self._order.get(sub, []) if n in found[sub]]
            rest = sorted(n for n in found[sub] if n not in known)
            out[sub] = [(n, found[sub][n]) for n in _write_order(known + rest)]
        return out

    # ------------------------------------------------------------ commit
    def commit(self):
        """Move the staged set into place (see the module docstring).

        Returns
        -------
        list of str
            The paths written (subfolders' files first, then the
            directory's own), in the order they were moved into place.

        Raises
        ------
        OutputError
            Something is in the way of a file (a directory, a device...):
            nothing was moved, the previous set is intact.  Or a rename
            failed part-way (very rare: the message says the directory now
            mixes both sets).
        """
        staged = self._staged()
        with _DirLock(self.root):
            _remove_dead_staging(self.root, own=self.staging)
            previous = read_manifest(self.root)
            new = _Manifest([n for n, _ in staged[None]],
                            {s: [n for n, _ in v] for s, v in staged.items()
                             if s is not None})
            for sub, names in self._kept.items():
                if previous is None or previous.dirs.get(sub) != names:
                    raise OutputError(
                        f"the previous results of {sub!r} changed while "
                        "this run was working (another run into the same "
                        "directory?); run again", file=self.target(sub))
                if sub not in new.dirs:
                    new.dirs[sub] = list(names)
            moves = [(src, os.path.join(self.target(sub), n))
                     for sub in sorted(s for s in staged if s is not None)
                     for n, src in staged[sub]]
            moves += [(src, os.path.join(self.root, n))
                      for n, src in staged[None]]
            self._check_targets(staged, moves)
            if self.replace:
                keep = new
            elif previous is not None:
                keep = previous.union(new)
            else:
                keep = None
            if keep is not None:
                manifest = os.path.join(self.staging, MANIFEST)
                _create(manifest, json.dumps(keep.document(), indent=2) + "\n",
                        self._mode, self.durable,
                        os.path.join(self.root, MANIFEST))
                moves.append((manifest, os.path.join(self.root, MANIFEST)))
            held = _hold_signals()
            try:
                self._move(staged, moves)
                if self.replace and previous is not None:
                    _remove_stale(self.root, previous, new)
            finally:
                _release_signals(held)
            if self.durable:
                for sub in staged:
                    _fsync_dir(self.target(sub))
        self._created = []      # kept: the directory holds the set now
        self._discard_staging()
        return [dst for _, dst in moves if os.path.basename(dst) != MANIFEST]

    def _check_targets(self, staged, moves):
        """Refuse, before anything moves, targets that a rename cannot
        replace or must not replace: a directory, a device, a pipe or a
        socket in place of a file, something else in place of a
        subfolder."""
        import stat
        for sub in staged:
            if sub is None:
                continue
            path = self.target(sub)
            try:
                mode = os.stat(path).st_mode
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise _output_error("cannot create the output directory",
                                    path, exc) from None
            if not stat.S_ISDIR(mode):
                raise OutputError(f"cannot create the output directory: it "
                                  f"is {file_kind(mode) or 'a regular file'}"
                                  ", not a directory", file=path)
        for _, dst in moves:
            try:
                mode = os.lstat(dst).st_mode
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise _output_error("cannot write output file", dst,
                                    exc) from None
            kind = file_kind(mode)
            if kind is not None and not stat.S_ISLNK(mode):
                raise OutputError(f"cannot write output file: {kind} is in "
                                  "the way (an output directory holds "
                                  "regular files only)", file=dst)

    def _move(self, staged, moves):
        for sub in staged:
            if sub is not None:
                try:
                    os.makedirs(self.target(sub), exist_ok=True)
                except OSError as exc:
                    raise _output_error("cannot create the output directory",
                                        self.target(sub), exc) from None
        done = 0
        try:
            for src, dst in moves:
                os.replace(src, dst)
                done += 1
        except OSError as exc:
            mixed = " (the directory now mixes the new and the previous " \
                "files; run again)" if done else ""
            raise OutputError(f"cannot move the new file into place: "
                              f"{_reason(exc)}{mixed}", file=dst,
                              errno=exc.errno) from None

    # ------------------------------------------------------------ abort
    def _discard_staging(self):
        fd, self._stage_fd = self._stage_fd, None
        if fd is not None:
            os.close(fd)        # never twice: the number may be reused
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None

    def abort(self):
        """Remove everything staged (and the directory itself when this
        set created it and it is empty).  Safe to call twice."""
        self._discard_staging()
        for path in reversed(self._created):
            try:
                os.rmdir(path)
            except OSError:
                break
        self._created = []

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        self.abort()            # after commit: only the empty staging


def make_output_dir(path):
    """Create the directory ``path`` for output files (with its parents),
    or raise :class:`OutputError` (also when something that is not a
    directory is in the way: :func:`check_output_dir`)."""
    check_output_dir(path)
    _makedirs(path)


def _makedirs(path):
    """Create ``path`` with its parents; returns the directories created,
    outermost first."""
    missing = []
    current = os.path.abspath(path)
    while not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise _output_error("cannot create the output directory", path,
                            exc) from None
    return list(reversed(missing))


def _unlink_listed(directory, names):
    """Remove the files ``names`` from ``directory`` (never a directory;
    files already gone are fine)."""
    import stat
    for name in names:
        path = os.path.join(directory, name)
        try:
            if stat.S_ISDIR(os.lstat(path).st_mode):
                continue
            os.unlink(path)
        except OSError:
            pass


def _remove_stale(root, previous, new):
    """Remove the files of the previous set that the new set does not have,
    and the previous set's subfolders that are left empty."""
    _unlink_listed(root, [n for n in previous.files if n not in new.files])
    for sub, names in previous.dirs.items():
        folder = os.path.join(root, sub)
        if os.path.islink(folder):
            continue
        _unlink_listed(folder, [n for n in names
                                if not new.lists(sub, n)])
        if sub not in new.dirs:
            try:
                os.rmdir(folder)
            except OSError:
                pass


#: directory of an open set -> its staging folder (see
#: OutputSet.staging_writes)
_STAGED = {}


def staged_folders():
    """The open sets whose subfolders' writes are staged (a dict to hand to
    :func:`register_staged` in a spawned worker process)."""
    return dict(_STAGED)


def register_staged(folders):
    """Stage writes into the sets of ``folders`` (from
    :func:`staged_folders` of the parent process)."""
    _STAGED.update(folders)


def _staged_target(out_dir):
    """(staging folder, subfolder) for ``out_dir`` when it is a subfolder
    of an open set's directory (see OutputSet.staging_writes), else
    None."""
    if not _STAGED:
        return None
    parent, sub = os.path.split(os.path.abspath(out_dir))
    staging = _STAGED.get(parent)
    if staging is None or not _plain_name(sub):
        return None
    return staging, sub


def write_outputs(out_dir, files, *, durable=False, replace=True):
    """Write a run's output files into ``out_dir`` as one set (see the
    module docstring): all are written completely first, then moved into
    place under a lock on the directory; the previous set's files that
    this one does not have are removed (``replace``).

    Parameters
    ----------
    out_dir : str or os.PathLike
        Output directory; created with its parents if needed.
    files : dict
        ``{file name: bytes or str}``.  Names are plain file names (no
        directories).  Order of moving into place: ``params.csv``,
        ``summary.csv`` (those present), the others in the order given,
        plots (``.png``, ``.svg``, ``.pdf``...), then ``summary.json`` and
        ``result.json`` last (the natural Makefile targets).
    durable : bool
        fsync each file and the directory (see :func:`atomic_write`).
    replace : bool, default True
        Replace the previous set (False: add these files to it).

    Returns
    -------
    list of str
        The paths written, in order.

    Raises
    ------
    OutputError
        The directory could not be created or a file could not be written:
        the directory keeps its previous files, untouched.

    Inside :meth:`OutputSet.staging_writes` of the directory above
    ``out_dir`` (a batch's dataset folder), the files are staged into that
    set instead, to be moved into place with it.
    """
    for name in files:
        _check_file_name(name)
    staged = _staged_target(out_dir)
    if staged is not None:
        stage_files(staged[0], files, sub=staged[1], durable=durable,
                    shown=os.fspath(out_dir))
        return [os.path.join(os.fspath(out_dir), n)
                for n in _write_order(list(files))]
    with OutputSet(out_dir, durable=durable, replace=replace) as out:
        out.write(files)
        return out.commit()


#: Files that fitcli writes which a data glob could match, for folders
#: written before manifests existed (beside a fitcli result.json or
#: summary.json).
_OUTPUT_TABLES = ("fit.csv", "curve.csv", "params.csv", "ci.csv", "summary.csv",
                  "datasets.csv")
_DOCUMENT_HEAD = b'{\n  "format": "fitcli.'


def written_by_fitcli(paths):
    """The paths among ``paths`` that are files fitcli wrote as outputs,
    as a set of ``str``: listed in the manifest of their folder (or of the
    folder above, for a batch's dataset folder); or, in a folder without
    a manifest that holds a fitcli result.json or summary.json, named as
    fitcli names its tables (fit.csv, params.csv, ci.csv, ci2d_*.csv,
    summary.csv).  A data glob leaves these out: the results of a run are
    never read back as data by the next run."""
    manifests, legacy, out = {}, {}, set()

    def manifest(folder):
        if folder not in manifests:
            manifests[folder] = read_manifest(folder)
        return manifests[folder]

    def old_outputs(folder):
        if folder not in legacy:
            legacy[folder] = False
            for name in _DOCUMENTS:
                try:
                    head = read_prefix(os.path.join(folder, name),
                                       len(_DOCUMENT_HEAD))
                except OSError:
                    continue
                if head == _DOCUMENT_HEAD:
                    legacy[folder] = True
                    break
        return legacy[folder]

    for path in paths:
        path = str(path)
        folder, name = os.path.split(os.path.abspath(path))
        parent, sub = os.path.split(folder)
        mine, above = manifest(folder), manifest(parent)
        if (mine is not None and mine.lists(None, name)) or \
                (above is not None and above.lists(sub, name)):
            out.add(path)
        elif mine is None and (name in _OUTPUT_TABLES or (
                name.startswith("ci2d_") and name.endswith(".csv"))) \
                and old_outputs(folder):
            out.add(path)
    return out
