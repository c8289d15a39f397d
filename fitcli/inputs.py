"""Reading input files within bounds.

Every file fitcli reads on a user's behalf (the spec, data files, result
and summary documents, the fit.csv that ``fitcli plot`` redraws from, a
baseline) is read here, so that no input can make a read unbounded:

* Only regular files are read.  A file is opened without blocking
  (``O_NONBLOCK``: opening a named pipe would otherwise wait for a writer)
  and its kind is taken from the open descriptor, so a device
  (``/dev/zero``, ``/dev/urandom``), a named pipe, a socket or a directory
  is refused with one line naming what it is, and a file swapped for one
  between a check and the open cannot slip through.
* At most a limit of bytes is read, counted while reading (a file that
  grows while it is read stops at the limit too); the limits are those of
  :mod:`fitcli.limits` and can be raised with their environment variables.
* Compressed data (gzip) are decompressed in a stream that stops at the
  limit, so a small file that expands to gigabytes costs no more memory
  than the limit.
"""
from __future__ import annotations

import os
import stat

from .limits import exceeded, limit

__all__ = ["NotRegularFileError", "file_kind", "open_regular", "read_prefix",
           "read_limited", "gunzip_limited", "CHUNK"]

#: Bytes read (or decompressed) at a time.
CHUNK = 1 << 20

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
)


def file_kind(mode):
    """What a file of mode ``mode`` (``st_mode``) is, for messages:
    ``'a directory'``, ``'a character device'``, ``'a block device'``,
    ``'a named pipe (FIFO)'``, ``'a socket'``; ``None`` for a regular
    file."""
    if stat.S_ISREG(mode):
        return None
    for test, text in _KINDS:
        if test(mode):
            return text
    return "not a regular file"


class NotRegularFileError(OSError):
    """An input path names something other than a regular file.  An
    ``OSError`` (without an errno) whose ``strerror`` says what the path is,
    so that callers reporting ``cannot read X: <strerror>`` need nothing
    more."""

    def __init__(self, path, kind):
        super().__init__(None, f"it is {kind}, not a regular file (input is "
                         "read from regular files only)")
        self.filename = os.fspath(path)
        self.kind = kind


def open_regular(path):
    """Open ``path`` for reading in binary mode, refusing anything but a
    regular file (symbolic links are followed).

    Raises
    ------
    NotRegularFileError
        ``path`` is a directory, device, named pipe or socket.
    OSError
        The file cannot be opened.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | \
        getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        # a socket cannot be opened (ENXIO), a directory not for reading
        # as a file (EISDIR): say what the path is
        try:
            kind = file_kind(os.stat(path).st_mode)
        except OSError:
            kind = None
        if kind is not None:
            raise NotRegularFileError(path, kind) from None
        raise exc
    try:
        kind = file_kind(os.fstat(fd).st_mode)
        if kind is not None:
            raise NotRegularFileError(path, kind)
        fh = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    # (outside the try: once the file object owns the descriptor, only it
    # closes it -- closing the number twice may close a reused one)
    return fh


def _read_upto(fh, nbytes):
    """At most ``nbytes`` bytes from ``fh``: as many as its size says in
    one read, then (a file that grows while it is read) in chunks up to
    ``nbytes``."""
    size = os.fstat(fh.fileno()).st_size
    first = fh.read(min(size + 1, nbytes))
    if len(first) < min(size + 1, nbytes) or len(first) >= nbytes:
        return first
    buf = bytearray(first)
    while len(buf) < nbytes:
        chunk = fh.read(min(CHUNK, nbytes - len(buf)))
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


def read_prefix(path, nbytes):
    """The first ``nbytes`` bytes of the regular file ``path`` (all of it
    when it is shorter).  Raises ``OSError`` (:class:`NotRegularFileError`
    for anything but a regular file)."""
    with open_regular(path) as fh:
        return _read_upto(fh, nbytes)


#: Files whose bytes were handed over (a cluster worker fitting data it
#: cannot see): absolute path -> bytes.  See :func:`provided`.
_PROVIDED = {}


def provided(files):
    """``with provided({path: bytes}):`` -- while the block runs, reading
    one of these paths (:func:`read_limited`, :func:`exists`) gives these
    bytes instead of the file system's (``fitcli run --cluster ...
    --ship-data``: the client reads the data files and sends them)."""
    import contextlib

    @contextlib.contextmanager
    def scope():
        added = {os.path.abspath(p): bytes(b) for p, b in (files or {}).items()}
        saved = {p: _PROVIDED[p] for p in added if p in _PROVIDED}
        _PROVIDED.update(added)
        try:
            yield
        finally:
            for p in added:
                _PROVIDED.pop(p, None)
            _PROVIDED.update(saved)
    return scope()


def exists(path):
    """Whether ``path`` exists (or was provided, see :func:`provided`)."""
    return os.path.abspath(path) in _PROVIDED or os.path.exists(path)


def read_limited(path, name, what):
    """The whole regular file ``path``, which may hold at most
    ``limit(name)`` bytes.

    Parameters
    ----------
    path : str or os.PathLike
    name : str
        The limit of :mod:`fitcli.limits` (``'MAX_DATA_BYTES'``...).
    what : str
        The file as named in the message (``'data file /x/a.csv'``).

    Raises
    ------
    LimitError
        The file is larger (known from its size, or found while reading):
        ``<what> needs more than the limit of N bytes (set FITCLI_<NAME> to
        raise it)``.
    OSError
        The file cannot be opened or read; :class:`NotRegularFileError`
        when it is not a regular file.
    """
    cap = limit(name)
    given = _PROVIDED.get(os.path.abspath(path)) if _PROVIDED else None
    if given is not None:
        if len(given) > cap:
            raise exceeded(name, len(given), what)
        return given
    with open_regular(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > cap:
            raise exceeded(name, size, what)
        raw = _read_upto(fh, cap + 1)
    if len(raw) > cap:
        raise exceeded(name, None, what)
    return raw


def gunzip_limited(raw, name, what):
    """Decompress the gzip data ``raw`` (several members allowed), stopping
    with a :class:`~fitcli.limits.LimitError` as soon as the output passes
    ``limit(name)`` bytes: a small file that expands to gigabytes is
    refused after decompressing the limit, not the whole.

    Raises ``OSError``, ``EOFError`` or ``zlib.error`` for data that are not
    valid gzip (as :func:`gzip.decompress` does).  Returns a bytearray
    (no second copy of the data)."""
    import gzip
    import io

    cap = limit(name)
    out = bytearray()
    with gzip.GzipFile(fileobj=io.BytesIO(raw)) as gz:
        while True:
            chunk = gz.read(min(CHUNK, cap + 1 - len(out)))
            if not chunk:
                break
            out += chunk
            if len(out) > cap:
                raise exceeded(name, None, what, detail=" when decompressed")
    return out
