"""Writing one output file: atomically, or in place for a device or pipe.

Nothing here prints; failures are :class:`OutputError` naming the path.

One file: :func:`atomic_write`
    What is done depends on what the path is:

    * a regular file, or nothing yet: the data go to a temporary file in
      the target's own directory (same filesystem), which gets the mode a
      normal ``open()`` would give (``0o666 & ~umask``; ``mkstemp`` makes
      ``0o600``) and is then ``os.replace``-d onto the target.  A reader
      sees the old file or the complete new one, never a part, also when
      the writing process is killed (the written data are in the page
      cache, which outlives the process).  The target itself is never
      opened for writing.  Durability against a power loss or kernel crash
      is left to the filesystem unless ``durable=True``, which also fsyncs
      the file before the rename and the directory after it.
    * a character device or a named pipe (``/dev/null``, ``/dev/full``, a
      terminal, a FIFO): written in place -- opened for writing, without
      creating or truncating -- since a rename would replace the device
      node by a regular file.  A named pipe is written once a reader opens
      it (the writer waits, as a shell redirection does); ``/dev/full``
      fails with "no space left on device".
    * ``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N``, ``/proc/self/fd/N``:
      written to this process's open descriptor ``N`` (after flushing
      Python's own buffers), so output redirected to a file keeps its
      place in it.
    * a directory, a block device or a socket: refused (exit code 4).

    On any exception, including ``KeyboardInterrupt`` and ``SystemExit``,
    the temporary file is removed and the exception propagates; ``OSError``
    becomes :class:`OutputError`.

A run's files: :func:`write_outputs` and :class:`fitcli.outdir.OutputSet`
    (module :mod:`fitcli.outdir`) write a run's files as one set.
"""
from __future__ import annotations

import errno
import os
import re
import signal
import sys
import tempfile
import threading

from .errors import FitcliError
from .inputs import file_kind

__all__ = ["OutputError", "Chunked", "atomic_write", "check_output_file",
           "write_outputs"]


class OutputError(FitcliError):
    """An output file or directory could not be written (no space, no
    permission, read-only filesystem, missing or blocked directory...).

    ``str(exc)`` is ``<path>: <what failed>: <reason>``; ``errno`` holds the
    operating-system error number when there is one.
    """

    def __init__(self, message, *, errno=None, **kws):
        super().__init__(message, **kws)
        self.errno = errno


# ==========================================================================
# errors, umask, signals
_REASONS = {
    errno.ENOSPC: "no space left on device",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
    errno.ENOENT: "the directory does not exist",
    errno.ENOTDIR: "a component of the path is not a directory",
    errno.EISDIR: "the path is a directory",
    errno.EEXIST: "a file is in the way",
    errno.ENAMETOOLONG: "file name too long",
    errno.EXDEV: "the temporary file is on another filesystem",
    errno.EFBIG: "file too large",
    errno.EPIPE: "the reader closed the pipe",
    errno.EBADF: "the file descriptor is not open for writing",
}
if hasattr(errno, "EDQUOT"):
    _REASONS[errno.EDQUOT] = "disk quota exceeded"

_umask_lock = threading.Lock()


def _reason(exc):
    text = _REASONS.get(exc.errno)
    if text is None:
        text = exc.strerror or str(exc) or type(exc).__name__
    name = errno.errorcode.get(exc.errno) if exc.errno is not None else None
    return f"{text} ({name})" if name else text


def _output_error(what, path, exc):
    return OutputError(f"{what}: {_reason(exc)}", file=os.fspath(path),
                       errno=exc.errno)


def _umask():
    """The process umask, read without changing it where the system allows
    (``/proc/self/status`` on Linux); otherwise set and restore it under a
    lock."""
    try:
        with open("/proc/self/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _umask_lock:
        old = os.umask(0o022)
        os.umask(old)
    return old


def _fsync_dir(directory):
    """fsync a directory so that a rename in it is durable (best effort:
    some filesystems and platforms refuse)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(directory, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_HELD = (signal.SIGINT, signal.SIGTERM)
#: Nesting depth of held sections, and the signals that arrived in one.
_holding = {"depth": 0, "pending": []}


def _hold_signals():
    """Hold SIGINT and SIGTERM until :func:`_release_signals`: blocked in
    the main thread of a POSIX process, and -- since a process with other
    threads (a Dask client, a progress bar) may have the signal delivered
    to one of those, after which Python runs the handler in the main thread
    anyway -- noted by the handlers through :func:`defer_signal` and raised
    again on release.  Returns the token for :func:`_release_signals`."""
    _holding["depth"] += 1
    if not hasattr(signal, "pthread_sigmask") or \
            threading.current_thread() is not threading.main_thread():
        return None
    return signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)


def _release_signals(held):
    _holding["depth"] = max(0, _holding["depth"] - 1)
    if held is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
    pending = _holding["pending"]
    if not _holding["depth"] and pending and \
            threading.current_thread() is threading.main_thread():
        signum = pending[0]
        pending.clear()
        signal.raise_signal(signum)      # its handler runs now


def defer_signal(signum):
    """For SIGINT/SIGTERM handlers: True when signals are held (a file is
    being created or moved into place); the signal is then raised again
    when they are released, and the handler should return at once."""
    if _holding["depth"] and signum in _HELD:
        _holding["pending"].append(signum)
        return True
    return False


class Chunked:
    """The contents of a file made piece by piece as it is written, so that
    a large table is never held as one string: ``produce(*args)`` yields
    the pieces (bytes).  Accepted wherever a file's bytes are (the whole
    text is ``bytes(chunked)``); picklable when ``produce`` is a
    module-level function and ``args`` are picklable, as a batch's worker
    sends its files back."""

    __slots__ = ("produce", "args")

    def __init__(self, produce, *args):
        self.produce = produce
        self.args = args

    def __iter__(self):
        return iter(self.produce(*self.args))

    def __bytes__(self):
        return b"".join(self)

    def __eq__(self, other):
        if isinstance(other, (Chunked, bytes, bytearray)):
            return bytes(self) == bytes(other)
        return NotImplemented

    __hash__ = None

    def __getstate__(self):
        return self.produce, self.args

    def __setstate__(self, state):
        self.produce, self.args = state


def _as_bytes(data):
    if isinstance(data, Chunked):
        return data
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    if not isinstance(data, bytes):
        raise TypeError(f"data must be bytes or str, not {type(data).__name__}")
    return data


def _write_all(fd, data):
    """``os.write`` until every byte is written."""
    for piece in (data if isinstance(data, Chunked) else (data,)):
        view = memoryview(piece)
        while view:
            view = view[os.write(fd, view):]


# ==========================================================================
# one file
#: Paths that name an open descriptor of this process.
_FD_PATH = re.compile(r"/dev/(?P<std>stdout|stderr)|"
                      r"(?:/dev/fd|/proc/self/fd)/(?P<n>[0-9]{1,9})")


def _descriptor(target):
    """The descriptor named by ``target`` (``/dev/stdout`` -> 1), or None."""
    m = _FD_PATH.fullmatch(target)
    if m is None:
        return None
    if m.group("std"):
        return 1 if m.group("std") == "stdout" else 2
    return int(m.group("n"))


def _existing_kind(target):
    """``'regular'`` for a regular file or nothing at ``target`` (or a
    path that cannot be examined: the write reports it), ``'stream'`` for
    a character device or named pipe (symbolic links followed), else the
    text of :func:`fitcli.inputs.file_kind` (directory, block device,
    socket)."""
    import stat
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return "regular"
    if stat.S_ISREG(mode):
        return "regular"
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return "stream"
    return file_kind(mode)


def check_output_file(path):
    """Raise :class:`OutputError` when ``path`` names something an output
    file cannot be written to: a directory, a block device or a socket.
    (Regular files, character devices, named pipes and open descriptors
    can be written; see :func:`atomic_write`.)  Checked before a fit, so
    that an impossible ``--junit`` path fails at once."""
    target = os.fspath(path)
    if _descriptor(target) is not None:
        return
    kind = _existing_kind(target)
    if kind not in ("regular", "stream"):
        raise OutputError(f"cannot write output file: it is {kind} (output "
                          "files may be regular files, character devices or "
                          "named pipes)", file=target)


def atomic_write(path, data, *, durable=False):
    """Write ``data`` to the file ``path``: atomically for a regular file,
    in place for a character device or named pipe, to the descriptor for
    ``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N`` (see the module
    docstring).

    Without ``durable`` nothing is fsynced: after a power loss or kernel
    crash a regular file may be the old one, or (on filesystems that do
    not order data before the rename) empty -- durability is left to the
    filesystem.

    Parameters
    ----------
    path : str or os.PathLike
        Target file.  Its directory must exist.
    data : bytes or str
        Contents (``str`` is encoded as UTF-8).
    durable : bool
        Also fsync the temporary file before the rename and the directory
        after it, so that the new file survives a power loss once this
        returns (costs two disk flushes).

    Raises
    ------
    OutputError
        The file could not be written (a regular file is then left as it
        was and no temporary file remains), or ``path`` is a directory,
        block device or socket.
    """
    data = _as_bytes(data)
    target = os.fspath(path)
    fd = _descriptor(target)
    if fd is not None:
        _write_descriptor(target, fd, data)
        return
    check_output_file(target)
    if _existing_kind(target) == "stream":
        _write_in_place(target, data)
        return
    _atomic_write(target, data, 0o666 & ~_umask(), durable)


def _write_descriptor(target, fd, data):
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None and stream.fileno() == fd:
                stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    try:
        _write_all(fd, data)
    except OSError as exc:
        raise _output_error("cannot write output file", target, exc) from None


def _write_in_place(target, data):
    flags = os.O_WRONLY | getattr(os, "O_NOCTTY", 0) | \
        getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(target, flags)       # a FIFO: waits for a reader
    except OSError as exc:
        raise _output_error("cannot open output file", target, exc) from None
    try:
        _write_all(fd, data)
    except OSError as exc:
        raise _output_error("cannot write output file", target, exc) from None
    finally:
        os.close(fd)


def _atomic_write(path, data, mode, durable):
    """Replace the regular file ``path`` by a temporary file renamed onto
    it, with the file mode given."""
    data = _as_bytes(data)
    target = os.fspath(path)
    directory, name = os.path.split(target)
    if not name:
        raise OutputError("not a file name", file=target)
    directory = directory or os.curdir
    # SIGINT/SIGTERM are held while the temporary file is created: a signal
    # arriving during the open() would otherwise be handled before ``tmp``
    # is known, and the file would be left behind.  They are released
    # inside the ``try`` below, whose cleanup then removes the file.
    held = _hold_signals()
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + name[:200] + ".",
                                   suffix=".tmp")
    except BaseException as exc:
        _release_signals(held)
        if isinstance(exc, OSError):
            raise _output_error("cannot create a file in the output directory",
                                target, exc) from None
        raise
    replaced = False
    try:
        _release_for(held, fd)
        _fill(fd, data, mode, durable)
        os.replace(tmp, target)
        replaced = True
    except BaseException as exc:
        if not replaced:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        if isinstance(exc, OSError):
            raise _output_error("cannot write output file", target, exc) \
                from None
        raise
    if durable:
        _fsync_dir(directory)


def _release_for(held, fd):
    """Release the signals ``held`` while the new file ``fd`` was created:
    a signal that waited interrupts here, and ``fd`` is closed then (the
    caller removes the file)."""
    try:
        _release_signals(held)
    except BaseException:
        os.close(fd)
        raise


def _fill(fd, data, mode, durable):
    """Write ``data`` into the new file ``fd`` (closed on return), give it
    ``mode``, fsync it with ``durable``."""
    try:
        fh = os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        raise
    with fh:
        if isinstance(data, Chunked):
            for piece in data:
                fh.write(piece)
        else:
            fh.write(data)
        if durable:
            fh.flush()
            os.fsync(fh.fileno())
        if hasattr(os, "fchmod"):
            os.fchmod(fh.fileno(), mode)
        else:  # pragma: no cover - platforms without fchmod
            os.chmod(fh.name, mode)


def write_outputs(out_dir, files, *, durable=False, replace=True):
    """See :func:`fitcli.outdir.write_outputs`."""
    from .outdir import write_outputs as write
    return write(out_dir, files, durable=durable, replace=replace)
