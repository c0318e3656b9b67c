"""A name cache (or its lock file) lazyhook must not use: moved aside, or reported once.

The store refuses a cache path it cannot trust: a symbolic link, a file another user owns or
others may write, a directory, a FIFO...  Two cases:

* The directory is this user's own and nobody else may write in it: moving the thing aside
  is safe (no one can race the rename), so it is renamed to ``<name>.refused.<time>`` and the
  cache is rebuilt from scratch, with one warning saying so.
* Otherwise (a shared directory, someone else's): lazyhook cannot fix it.  It warns once, and
  remembers that it did in a marker file in this user's own cache directory
  (``<default cache dir>/refused/<hash of the path>``, holding the refused object's identity),
  so later starts stay silent until the object changes.

Loaded only when a refused path is met.
"""

import os
import stat
import time

from lazyhook import _config
from lazyhook._warn import warn_once


def own_directory(path: str) -> bool:
    """Is *path*'s directory this user's, and writable by nobody else?"""
    if os.name == "nt":
        return False  # no owner to compare: never move anything aside on Windows
    try:
        st = os.stat(os.path.dirname(path))
    except OSError:
        return False
    return st.st_uid == os.getuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def move_aside(path: str, why: str) -> bool:
    """Rename what is at *path* out of the way if that is safe; True if the path is free."""
    if not own_directory(path):
        return False
    aside = f"{path}.refused.{time.strftime('%Y%m%d-%H%M%S')}.{os.getpid()}"
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    warn_once(
        f"store-moved:{path}",
        f"lazyhook: moved aside the unusable name cache path {path} ({why}) to {aside}; "
        "it is rebuilt",
        origin=path,
    )
    return True


def report(path: str, why: str) -> None:
    """Warn once about a refused *path* — once across runs while it stays the same object."""
    try:
        st = os.lstat(path)
        identity = f"{st.st_dev} {st.st_ino} {st.st_mtime_ns} {st.st_mode} {why}"
    except OSError:
        identity = f"- {why}"
    marker = _marker(path)
    try:
        with open(marker, encoding="utf-8") as f:
            if f.read() == identity:
                return  # warned in an earlier run, and nothing changed since
    except OSError:
        pass
    try:
        if in_missing_home(marker):
            raise OSError(2, "no home directory")  # never made for a marker, as for a cache
        os.makedirs(os.path.dirname(marker), mode=0o700, exist_ok=True)
        with open(marker, "w", encoding="utf-8") as f:
            f.write(identity)
        then = f"not repeated for it, remembered in {marker}"
    except OSError as exc:  # (``su`` keeping another user's HOME): said as it is
        then = f"repeated at each run: it cannot be remembered in {marker} ({exc.strerror})"
    warn_once(
        f"store-refused:{path}",
        f"lazyhook: refusing to use name cache {path} ({why}); {then}",
        origin=path,
    )


def in_missing_home(path: str) -> bool:
    """Is *path* under a home directory that does not exist (``HOME=/nonexistent``: a service
    account, a container)?  Then nothing is made there: Python itself never makes a home."""
    home = os.path.expanduser("~")
    return path.startswith(home + os.sep) and not os.path.isdir(home)


def _marker(path: str) -> str:
    # Hashed as the cache file's own name is: stable across processes.
    return os.path.join(_config.default_cache_dir(), "refused", f"{_config.fnv1a(path):016x}")
