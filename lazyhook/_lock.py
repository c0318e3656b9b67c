"""The writers' advisory lock: one definition per platform, chosen once at import.

Writers of one cache serialise their re-read/merge/replace under an exclusive lock on
``<cache>.lock`` so that no writer drops another's entries.  The lock only prevents lost
updates, never torn files (atomic replace does that), so a writer that cannot get it in time
writes anyway (filelock's rule: keep correctness independent of the lock).

As in filelock, the platform split is at module level: ``flock`` on POSIX, ``msvcrt.locking``
on Windows (exercised on Linux only by simulation in the tests).  Loaded by writers only.
"""

import os
import stat

from lazyhook import _config

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

TIMEOUT = 2.0  # seconds: an import must never hang on a stuck writer

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)
_FLAGS = os.O_RDWR | os.O_CREAT | _O_NOFOLLOW | _O_CLOEXEC | _O_BINARY


class Refused(Exception):
    """The lock file is not one this user may trust (the message says why)."""


class TimedOut(Exception):
    """Another writer held the lock for TIMEOUT seconds."""


# One definition per platform; the module picks its platform's at import.  (Both exist on
# every platform so that the tests can simulate Windows on Linux.)


def _try_msvcrt(fd: int) -> None:
    import msvcrt  # Windows only

    msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined,unused-ignore]


def _try_flock(fd: int) -> None:
    from lazyhook._stdlib import module

    fcntl = module("fcntl")  # POSIX only; never a program's fcntl.py (see _stdlib)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _check_path_windows(path: str) -> None:
    # No O_NOFOLLOW on Windows: look before opening.
    try:
        if stat.S_ISLNK(os.lstat(path).st_mode):
            raise Refused("it is a symbolic link")
    except OSError:
        pass


def _check_path_posix(path: str) -> None:
    pass  # O_NOFOLLOW refuses a symbolic link at open


if os.name == "nt":
    _try, _check_path = _try_msvcrt, _check_path_windows
    BUSY: "tuple[type[OSError], ...]" = (PermissionError, BlockingIOError)
else:
    _try, _check_path = _try_flock, _check_path_posix
    BUSY = (BlockingIOError,)


def prepare() -> None:
    """Import the platform's locking module now (a write at exit may find imports blocked)."""
    from lazyhook._stdlib import module

    try:
        module("fcntl")
    except ImportError:
        import msvcrt  # noqa: F401


def acquire(path: str, trusted: "Callable[[os.stat_result], bool]") -> "int | None":
    """Open and lock *path*: the open descriptor (closing it releases the lock), or None when
    there is no lock to take (no lock support here, or the directory is read-only).
    ``Refused`` if the path is a symbolic link, a directory, or a file *trusted* rejects;
    ``TimedOut`` after TIMEOUT seconds of another writer holding it."""
    import errno

    _check_path(path)
    try:
        fd = os.open(path, _FLAGS, 0o600)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK):  # O_NOFOLLOW: Linux ELOOP, BSD EMLINK
            raise Refused("it is a symbolic link") from None
        if exc.errno == errno.EISDIR:
            raise Refused("it is a directory") from None
        return None  # e.g. read-only directory: the temp file step decides what that means
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or not trusted(st):
            raise Refused("not a regular file that only this user can write")
        if _wait(fd):
            return fd
        raise TimedOut(path)
    except OSError:
        pass  # ENOLCK on NFS, EOPNOTSUPP: no lock support here
    except BaseException:
        os.close(fd)
        raise
    os.close(fd)
    return None


def _wait(fd: int) -> bool:
    _, monotonic, _, sleep = _config.CLOCKS  # not time's: a test may have patched them
    deadline = monotonic() + TIMEOUT
    delay = 0.001
    while True:
        try:
            _try(fd)
            return True
        except BUSY:
            if monotonic() >= deadline:
                return False
            sleep(delay)
            delay = min(delay * 2, 0.02)
