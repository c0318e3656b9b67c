"""Writing the store: directory, lock, re-read, merge, atomic replace.

Separate from ``_store`` (the format and reading) so that a process that only reads the cache
never loads this, nor ``_merge``, ``_lock``, ``_atomic`` and ``zlib``.  ``write(store, ...)``
and ``clear(store)`` work on a ``_store.Store``; ``Store`` here is that class with ``write``
and ``clear`` methods, for callers that write (the cache, the CLI, the tests).  Every step
that can fail raises ``WriteFailed`` internally; ``write`` turns that into one warning (or
none, for a read-only deployment, which is supported) and False.
"""

import errno
import marshal
import os
import stat

from lazyhook import _atomic, _config, _lock, _merge, _store
from lazyhook._marshal_check import is_safe

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping


class Hooks:
    """Test hooks, set by the test suite only (never read from the environment).

    ``lock = False`` writes without the lock (the lost-update control); ``before_replace`` is
    called between a complete temp file and its replace (the crash window).
    """

    lock = True
    before_replace: "Callable[[], None] | None" = None


hooks = Hooks()
# Cannot create files here: a read-only deployment, which is supported and stays silent.
_READONLY_ERRNOS = (errno.EROFS, errno.EACCES, errno.EPERM)


class WriteFailed(Exception):
    """A write step failed; ``warn`` is False for silent (read-only) failures."""

    def __init__(self, cause: str, detail: str, warn: bool = True) -> None:
        super().__init__(cause)
        self.cause = cause
        self.detail = detail
        self.warn = warn


def _warn(cause: str, message: str) -> None:
    from lazyhook._warn import warn_once

    warn_once(cause, message, stacklevel=5)


def _oserror(exc: OSError, step: str, readonly_ok: bool) -> WriteFailed:
    """The failure for *exc*: silent for a read-only file system, and — where a file is to be
    created (*readonly_ok*) — for a directory this user may not write (a shared cache)."""
    if exc.errno == errno.EROFS or (readonly_ok and exc.errno in _READONLY_ERRNOS):
        return WriteFailed("readonly", str(exc), warn=False)
    name = errno.errorcode.get(exc.errno or 0, str(exc.errno))
    return WriteFailed(name, f"{step}: {name} {exc.strerror}")


def _encode(put: "Mapping[str, object]") -> "dict[str, bytes]":
    fresh: dict[str, bytes] = {}
    for key, value in put.items():
        if type(key) is not str or "\0" in key:
            _warn("store-bad-key", f"lazyhook: cache key {key!r} is not storable")
            continue
        try:
            blob = marshal.dumps(value)  # type: ignore[arg-type]
        except ValueError:
            _warn("store-bad-value", f"lazyhook: cache value for {key!r} is not marshal-able")
            continue
        if not is_safe(blob):  # e.g. a code object: it would never read back
            _warn("store-bad-value", f"lazyhook: cache value for {key!r} is not plain data")
            continue
        fresh[key] = blob
    return fresh


class Store(_store.Store):
    """A ``_store.Store`` that can also write."""

    def write(
        self,
        put: "Mapping[str, object]",
        drop: "Iterable[str]" = (),
        touch: "Iterable[str]" = (),
        *,
        shared: bool = False,
    ) -> bool:
        """``write(self, ...)``."""
        return write(self, put, drop, touch, shared=shared)

    def clear(self) -> bool:
        """``clear(self)``."""
        return clear(self)


def write(
    store: "_store.Store",
    put: "Mapping[str, object]",
    drop: "Iterable[str]" = (),
    touch: "Iterable[str]" = (),
    *,
    shared: bool = False,
) -> bool:
    """Merge *put*/*drop*/*touch* into *store*'s file on disk; True if the new file is in place.

    Under the writer lock the current file is re-read from disk (another process may have
    written since the store was read), its verified entries are kept as raw bytes, *drop* keys
    removed, *put* added or replaced (a key in both *put* and *drop* is put), *put* and *touch*
    keys stamped with the current time, the caps enforced (least recently used first, ties by
    key), and a temp file in the same directory is written and ``os.replace``-d over the cache.
    On False the old file is intact and no temp file is left.  On True the store's view is the
    new file.  *shared* writes the file 0o644 in a 0o755 directory (a cache prepared by root
    for all users).
    """
    try:
        data, keys = _write(store, put, drop, touch, shared)
    except WriteFailed as exc:
        if exc.warn:
            _warn(
                f"store-write:{exc.cause}",
                f"lazyhook: could not update the name cache {store.path} ({exc.detail}); "
                "continuing without it",
            )
        return False
    store.adopt(data, keys)
    return True


def _write(
    store: "_store.Store",
    put: "Mapping[str, object]",
    drop: "Iterable[str]",
    touch: "Iterable[str]",
    shared: bool,
) -> "tuple[bytes, list[str]]":
    now = min(max(int(_config.CLOCKS[2]()), 0), 0xFFFFFFFF)  # time (see _config.CLOCKS)
    fresh = _encode(put)
    removed, touched = set(drop), set(touch)
    _prepare_directory(store, shared)
    lock = _take_lock(store) if hooks.lock else None
    try:
        # Re-read under the lock: our own view may be stale, and merging into it would
        # silently undo another process's update.
        snap = store._read(verify_index=True)
        if snap[0] == "refused":
            raise WriteFailed("refused", "already reported", warn=False)
        _atomic.remove_stale_temps(store.path)
        try:
            data, keys = _merge.merge(
                snap, fresh, removed, touched, now, store.max_entries, store.max_bytes
            )
        except OverflowError as exc:
            raise WriteFailed("too-large", str(exc)) from None
        mode, owner = _keep(store.path, shared)
        try:
            _atomic.replace(store.path, data, mode, hooks.before_replace, owner)
        except _atomic.Busy as exc:
            # The target stayed open in another process through every retry: give up
            # silently, the next write will try again.
            raise WriteFailed("busy", str(exc), warn=False) from None
        except _atomic.CreateFailed as exc:
            raise _oserror(exc, "creating a temp file", readonly_ok=True) from None
        except OSError as exc:
            raise _oserror(exc, "writing", readonly_ok=False) from None
    finally:
        if lock is not None:
            os.close(lock)  # closing releases flock/msvcrt locks
    return data, keys


def clear(store: "_store.Store") -> bool:
    """Remove the cache file under the writer lock; True if it is gone (or was never there)."""
    store.forget(gone=False)
    try:
        lock = _take_lock(store)
    except WriteFailed:
        return False
    try:
        os.unlink(store.path)
    except FileNotFoundError:
        pass
    except OSError:
        return False
    finally:
        if lock is not None:
            os.close(lock)
    store.forget(gone=True)
    return True


def _prepare_directory(store: "_store.Store", shared: bool) -> None:
    from lazyhook import _refused

    directory = os.path.dirname(store.path)
    if _refused.in_missing_home(directory):
        raise WriteFailed("no-home", "its home directory does not exist", warn=False)
    try:
        os.makedirs(directory, mode=0o755 if shared else 0o700, exist_ok=True)
        st = os.stat(directory)
    except OSError as exc:
        if exc.errno in (errno.EEXIST, errno.ENOTDIR):  # a file where a directory must be
            _refused.report(store.path, f"a file is in the way of its directory: {exc}")
            raise WriteFailed("refused", "a file in the way", warn=False) from None
        raise _oserror(exc, "creating its directory", readonly_ok=True) from None
    if not _store.trusted(st):
        # As the reader reports it (same words): once across runs, not at every write.
        _refused.report(store.path, "its directory is writable by others or owned by another user")
        raise WriteFailed("refused", "untrusted directory", warn=False)
    if shared and os.name != "nt" and st.st_mode & 0o055 != 0o055:
        try:
            os.chmod(directory, stat.S_IMODE(st.st_mode) | 0o755)
        except OSError:
            pass  # readers of other users will then miss: not worth failing the write


def _keep(path: str, shared: bool) -> "tuple[int, tuple[int, int] | None]":
    """The mode (and, for root, the owner) of the new file: what the file it replaces had,
    if others could read it — a write never narrows a shared cache (a root run in a Docker
    image built with ``cache warm --shared``) nor takes it from its owner."""
    mode = 0o644 if shared else 0o600
    try:
        st = os.lstat(path)
    except OSError:
        return mode, None
    if not stat.S_ISREG(st.st_mode):
        return mode, None
    if st.st_mode & 0o044:
        mode = stat.S_IMODE(st.st_mode) & 0o644 | 0o600
    owner = None
    if os.name != "nt" and os.geteuid() == 0 and st.st_uid != 0:
        owner = (st.st_uid, st.st_gid)
    return mode, owner


def _take_lock(store: "_store.Store") -> "int | None":
    """The writer lock's descriptor, or None: write without it (see ``_lock``)."""
    path = store.lock_path()
    for _ in range(2):
        try:
            return _lock.acquire(path, _store.trusted)
        except _lock.Refused as exc:
            from lazyhook import _refused

            if not _refused.move_aside(path, str(exc)):
                _refused.report(path, str(exc))
                raise WriteFailed("refused", str(exc), warn=False) from None
        except _lock.TimedOut:
            _warn(
                "store-lock-timeout",
                f"lazyhook: waited {_lock.TIMEOUT:g} s for {path}; writing without the lock",
            )
            return None
    return None
