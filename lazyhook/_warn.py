"""The one warning category lazyhook emits, and the once-per-cause rule.

Kept tiny and free of imports: the finder and the store both warn, and neither may pull
``warnings`` (or anything else) onto the start-up path until a warning is actually due.
"""

import sys


class LazyhookWarning(UserWarning):
    """Something went wrong in lazyhook; the import it concerned still behaved eagerly."""


# Causes already reported in this process: each fault is reported once, never per import.
_reported: set[str] = set()
# True while a warning is being shown: the modules the warnings machinery itself resolves
# (linecache, tokenize...) must not trigger start-up warnings of their own.
emitting = False


def warn_once(cause: str, message: str, stacklevel: int = 2) -> None:
    """Emit one ``LazyhookWarning`` per *cause* per process (later ones are dropped)."""
    if cause in _reported:
        return
    _reported.add(cause)
    global emitting
    emitting = True
    try:
        import warnings

        warnings.warn(message, LazyhookWarning, stacklevel=stacklevel + 1)
    except Exception:  # noqa: BLE001 - a warning must never break an import (e.g. -W error)
        # With ``-W error::LazyhookWarning`` the warning becomes an exception; importing must
        # still work, so fall back to a plain line on stderr.
        try:
            sys.stderr.write(f"LazyhookWarning: {message}\n")
        except Exception:  # noqa: BLE001
            pass
    finally:
        emitting = False
