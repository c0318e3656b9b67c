"""The one warning category lazyhook emits, and its two rules: once per cause, never raised.

Kept tiny and free of imports: the finder, the settings and the store all warn, and none of
them may pull ``warnings`` (or anything else) onto the start-up path until a warning is due.

Never raised: a ``LazyhookWarning`` is always about something lazyhook could not do (a bad
setting, an unusable cache) while the program goes on eagerly; under ``-W error`` it is printed
to stderr instead of becoming an exception, because an exception here would break an import
or stop an interpreter from starting.
"""

import sys


class LazyhookWarning(UserWarning):
    """Something went wrong in lazyhook; the import it concerned still behaved eagerly."""


# Causes already reported in this process: each fault is reported once, never per import.
_reported: set[str] = set()
# True while a warning is being shown: the modules the warnings machinery itself resolves
# (linecache, tokenize...) must not trigger start-up warnings of their own.
emitting = False


def warn_once(cause: str, message: str, stacklevel: int = 2, origin: "str | None" = None) -> None:
    """Emit one ``LazyhookWarning`` per *cause* per process (later ones are dropped).

    *origin* names where the problem comes from when no line of code does (an environment
    variable, a cache file): the warning is shown as ``<origin>:0: LazyhookWarning: ...``.
    Otherwise it is attributed *stacklevel* frames up, as ``warnings.warn`` does.
    """
    if cause in _reported:
        return
    _reported.add(cause)
    global emitting
    emitting = True
    try:
        import warnings

        if origin is not None:
            warnings.warn_explicit(message, LazyhookWarning, origin, 0, module="lazyhook")
        else:
            warnings.warn(message, LazyhookWarning, stacklevel=stacklevel + 1)
    except Exception:  # noqa: BLE001 - a warning must never break an import (e.g. -W error)
        # With ``-W error`` the warning became an exception: print it instead (module doc).
        try:
            where = f"{origin}:0: " if origin is not None else ""
            sys.stderr.write(f"{where}LazyhookWarning: {message}\n")
        except Exception:  # noqa: BLE001
            pass
    finally:
        emitting = False


def resolved_during_startup(name: str, site: "tuple[str, int]") -> None:
    """``strict_startup``: lazy module *name* was resolved (first used at *site*) during
    start-up.  Modules resolved by showing a warning (linecache, tokenize...) are not the
    program's: not reported."""
    if not emitting:
        msg = f"lazy module {name!r} was resolved during start-up at {site[0]}:{site[1]}"
        warn_once(f"startup:{name}", msg, stacklevel=2)
