"""Configuring logging, as the eager imports would have left the loggers by now.

``logging.config.dictConfig()`` and ``fileConfig()`` disable every logger that exists when
they run (``disable_existing_loggers``, true by default): eagerly those include the loggers the
imported libraries made at import (asyncio's, urllib3's), whose output then goes away.  A body
still pending makes its logger afterwards, enabled, and the program printed lines it does not
print eagerly (``import asyncio`` then ``dictConfig``: asyncio's "Using selector").  So once
``logging.config`` has run and lazy modules exist, the pending bodies run, in import order,
right before each configuration starts: ``DictConfigurator.configure`` becomes a descriptor
that runs them when looked up on an instance, and ``fileConfig``'s first step
(``_create_formatters``) a callable that runs them when called.  Both hand over the original
function, which the interpreter then calls from C: no frame of lazyhook's in a configuration
error's traceback, and nothing runs while logging's lock is held (a body that waits for
another thread's ``getLogger()`` would deadlock there).  A listing of the loggers
(``logging.root.manager.loggerDict``, ``Logger.getChildren()``) is not covered; nor is a
configuration made while a lazy body runs (as for an import that would fail, ``_not_found``).

Installed by the finder (``watch``); ``_process`` runs the bodies.
"""

import sys

from lazyhook import _interp
from lazyhook._execute import _pending
from lazyhook._process import run_all_pending

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


def _sync() -> None:
    if _pending and not _interp.state.running:
        run_all_pending()


class _Call:
    """The ``__call__`` of ``PendingFirst``: a descriptor, so the interpreter calls what it
    returns (the original) from C."""

    def __get__(self, obj: "PendingFirst | None", cls: "type | None" = None) -> object:
        if obj is None:
            return self
        _sync()
        return obj.func


class PendingFirst:
    """In place of a method (looked up on an instance) or a module's function (called): the
    pending bodies run, then the original is handed over.  ``__wrapped__`` is the original
    (``inspect.signature``, ``help`` on the class's attribute give the original's)."""

    __slots__ = ("func", "__wrapped__")
    __call__ = _Call()

    def __init__(self, func: "Callable[..., object]") -> None:
        self.func = self.__wrapped__ = func

    def __get__(self, obj: object, cls: "type | None" = None) -> object:
        if obj is None:
            return self.func  # looked up on the class: the function itself
        _sync()
        return self.func.__get__(obj, cls)


def watch() -> bool:
    """Put ``PendingFirst`` in front of ``logging.config``'s configuring functions; True."""
    config = sys.modules.get("logging.config")
    function = type(watch)
    owner = getattr(config, "DictConfigurator", None)
    func = vars(owner).get("configure") if isinstance(owner, type) else None
    if type(func) is function:
        owner.configure = PendingFirst(func)  # type: ignore[union-attr]
    d = getattr(config, "__dict__", {})
    if type(d.get("_create_formatters")) is function:
        d["_create_formatters"] = PendingFirst(d["_create_formatters"])
    return True


_interp.hide_module_from_warnings()  # its lookups run lazy bodies
