"""Test-only store hooks, switched on by environment variables in child interpreters.

lazyhook's production code reads no test switch from the environment; its writer exposes
``lazyhook._store_write.hooks`` instead.  Child interpreters of the multi-process tests call
``install_from_env()`` (directly, or through ``tests/hooksite/sitecustomize.py`` on their
``PYTHONPATH``), which maps these variables onto the hooks:

* ``LAZYHOOK_TEST_NO_LOCK=1``: write without the writer lock (the lost-update control);
* ``LAZYHOOK_TEST_PAUSE_BEFORE_REPLACE=<seconds>``: sleep between the complete temp file and
  the replace, first appending ``<pid>\\n`` to ``LAZYHOOK_TEST_WINDOW_MARKER`` if set (the
  crash window).
"""

from __future__ import annotations

import os
import time

VARIABLES = (
    "LAZYHOOK_TEST_NO_LOCK",
    "LAZYHOOK_TEST_PAUSE_BEFORE_REPLACE",
    "LAZYHOOK_TEST_WINDOW_MARKER",
)


def install_from_env() -> None:
    no_lock = os.environ.get("LAZYHOOK_TEST_NO_LOCK") == "1"
    pause = os.environ.get("LAZYHOOK_TEST_PAUSE_BEFORE_REPLACE")
    if not (no_lock or pause):
        return  # nothing asked: lazyhook is not even imported
    from lazyhook import _store_write

    if no_lock:
        _store_write.hooks.lock = False
    if pause:
        marker = os.environ.get("LAZYHOOK_TEST_WINDOW_MARKER")

        def before_replace() -> None:
            if marker:
                fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                try:
                    os.write(fd, b"%d\n" % os.getpid())
                finally:
                    os.close(fd)
            time.sleep(float(pause))

        _store_write.hooks.before_replace = before_replace
