"""Replacing a file atomically: a complete temp file in the same directory, then ``os.replace``.

The invariant every reader relies on: the cache path names one complete file, always.  The
temp file is created next to the target, never in ``/tmp`` or ``/dev/shm``: a rename across
devices is a copy that readers can see half-done (SageMath's 2012 star-import cache crashes).
Loaded by writers only.
"""

import os
import stat

from lazyhook import _config

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

# A temp file younger than this may belong to a live writer (one that is paused, swapped out or
# writing a large file), so only older ones are treated as debris of a killed process.
STALE_TEMP_AGE = 60.0
# No fsync by default. Measured here (ext4, 10,000 entries = 4.4 MB): write 0.9 ms, then
# rename 2.4 ms without fsync, or fsync 1.8 ms + rename 0.9 ms with it (ext4's auto_da_alloc
# already flushes on rename-over, so +0.3 ms net); on slower disks or network file systems an
# fsync costs 10-100 ms inside someone's import. What it buys is small for a cache: after a
# power loss a torn or zero-filled file fails its checksums, reads as empty and is rebuilt.
FSYNC = False

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC | _O_BINARY


class CreateFailed(OSError):
    """The temp file could not be created (its directory may be read-only)."""


class Busy(OSError):
    """Windows: the target stayed open in another process through every retry."""


# One definition per platform; the module picks its platform's at import.  (Both exist on
# every platform so that the tests can simulate Windows on Linux.)

# Windows refuses os.replace while another process has the target open; it is usually a
# reader holding it for well under a millisecond, so a short bounded back-off wins almost
# always.
_REPLACE_DELAYS = (0.001, 0.004, 0.016, 0.05)


def _replace_windows(tmp: str, path: str) -> None:
    for delay in (*_REPLACE_DELAYS, None):
        try:
            os.replace(tmp, path)
            return
        except PermissionError as exc:
            if delay is None:
                raise Busy(exc.errno, exc.strerror) from None
            _config.CLOCKS[3](delay)  # sleep (see _config.CLOCKS)


def _replace_posix(tmp: str, path: str) -> None:
    os.replace(tmp, path)


def _set_mode_windows(fd: int, mode: int) -> None:
    pass  # no mode bits beyond read-only


def _set_mode_posix(fd: int, mode: int) -> None:
    os.fchmod(fd, mode)  # exact mode whatever the umask


if os.name == "nt":
    _replace, _set_mode = _replace_windows, _set_mode_windows
else:
    _replace, _set_mode = _replace_posix, _set_mode_posix


def temp_prefix(path: str) -> str:
    """The name prefix of *path*'s temp files (hidden, in its directory)."""
    return f".{os.path.basename(path)}.tmp."


def replace(
    path: str,
    data: bytes,
    mode: int,
    before_replace: "Callable[[], None] | None" = None,
    owner: "tuple[int, int] | None" = None,
) -> None:
    """Put *data* at *path* atomically, with permission bits *mode*.

    Raises ``OSError`` (the temp file is removed) if any step fails — ``CreateFailed`` if the
    temp file could not be created, ``Busy`` (Windows) if the target stayed open elsewhere;
    the old file is then intact.  *owner* ``(uid, gid)``: give the new file to them (root
    keeping a user's file theirs).  *before_replace* is a test hook, called between the
    complete temp file and the replace (the window in which a writer can be killed).
    """
    directory = os.path.dirname(path)
    tmp = os.path.join(directory, f"{temp_prefix(path)}{os.getpid()}.{os.urandom(4).hex()}")
    try:
        fd = os.open(tmp, _CREATE, mode)
    except OSError as exc:
        raise CreateFailed(exc.errno, exc.strerror, tmp) from None
    try:
        try:
            _set_mode(fd, mode)
            if owner is not None:
                os.fchown(fd, *owner)
            view = memoryview(data)
            written = 0
            while written < len(data):
                written += os.write(fd, view[written:])
            if FSYNC:
                os.fsync(fd)
        finally:
            os.close(fd)
        if before_replace is not None:
            before_replace()
        _replace(tmp, path)
    except BaseException:
        unlink_quietly(tmp)
        raise


def unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def remove_stale_temps(path: str) -> None:
    """Delete *path*'s temp files older than STALE_TEMP_AGE (debris of killed writers)."""
    directory = os.path.dirname(path)
    prefix = temp_prefix(path)
    cutoff = _config.CLOCKS[2]() - STALE_TEMP_AGE  # time (see _config.CLOCKS)
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if not name.startswith(prefix):
            continue
        full = os.path.join(directory, name)
        try:
            st = os.lstat(full)
            if st.st_mtime < cutoff and not stat.S_ISDIR(st.st_mode):
                os.unlink(full)
        except OSError:
            pass
