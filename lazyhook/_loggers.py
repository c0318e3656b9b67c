"""logging's registry of loggers, as the eager imports would have filled it by now.

``logging.config.dictConfig()`` and ``fileConfig()`` disable every logger that exists when
they run (``disable_existing_loggers``, true by default): eagerly those include the loggers the
imported libraries made at import (asyncio's, urllib3's), whose output then goes away.  A body
still pending makes its logger afterwards, enabled, and the program printed lines it does not
print eagerly (``import asyncio`` then ``dictConfig``: asyncio's "Using selector").  So once
logging has run and lazy modules exist, its registry (``Logger.manager.loggerDict``) becomes a
dict that runs the pending bodies, in import order, before anything lists it: the configuring
functions (``keys()``), ``Logger.getChildren()`` (3.12+, ``items()``), a program listing its
loggers.  Looking one logger up (``getLogger``: ``in``, ``[]``) runs nothing, nor does
``values()``: ``Manager._clear_cache`` walks them at every ``setLevel``, and pytest's log
capture at every test phase, for non-propagating loggers, missing later ones by its own
account; nor a listing made while a lazy body runs (as for an import that would fail).

Installed by the finder (``watch``), at an import once both hold; ``_process`` runs the bodies.
"""

import sys

from lazyhook import _interp
from lazyhook._execute import _pending, pending
from lazyhook._process import run_all_pending

TYPE_CHECKING = False
if TYPE_CHECKING:
    from _collections_abc import dict_items, dict_keys
    from collections.abc import Iterator


def _sync() -> None:
    if _pending and not _interp.state.running:
        run_all_pending()


class LoggerDict(dict[str, object]):
    """``logging.Manager.loggerDict``: a dict whose listings come after the pending bodies."""

    __slots__ = ()

    def keys(self) -> "dict_keys[str, object]":
        _sync()
        return dict.keys(self)

    def items(self) -> "dict_items[str, object]":
        _sync()
        return dict.items(self)

    def __iter__(self) -> "Iterator[str]":
        _sync()
        return dict.__iter__(self)

    def __len__(self) -> int:
        _sync()
        return dict.__len__(self)

    def copy(self) -> "dict[str, object]":
        _sync()
        return dict(dict.items(self))


def watch() -> bool:
    """Replace logging's registry by a ``LoggerDict`` if logging has run; True once done (or
    never to be done: a registry that is no plain dict is someone else's, left alone)."""
    logging = sys.modules.get("logging")
    if logging is None or pending(logging) is not None:
        return False  # not imported, or lazy: its body has not made the registry yet
    manager = getattr(getattr(logging, "Logger", None), "manager", None)
    registry = getattr(manager, "loggerDict", None)
    if type(registry) is not dict:
        return registry is not None
    lock = getattr(logging, "_lock", None)  # getLogger() holds it while it adds a logger
    if lock is not None:
        with lock:
            manager.loggerDict = LoggerDict(manager.loggerDict)  # type: ignore[union-attr]
    return True


_interp.hide_module_from_warnings()  # its listings run lazy bodies
