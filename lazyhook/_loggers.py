"""Configuring logging, as the eager imports would have left the loggers by now.

``logging.config.dictConfig()`` and ``fileConfig()`` disable every logger that exists when
they run (``disable_existing_loggers``, true by default): eagerly those include the loggers the
imported libraries made at import (asyncio's, urllib3's), whose output then goes away.  A body
still pending makes its logger afterwards, enabled, and the program printed lines it does not
print eagerly (``import asyncio`` then ``dictConfig``: asyncio's "Using selector").  So once
``logging.config`` has run and lazy modules exist, the pending bodies run, in import order,
right before each configuration starts.  The hooks are what each looks up before it takes
logging's lock: ``BaseConfigurator.__init__`` (``dictConfig`` makes a ``dictConfigClass``,
which derives from it, as may a program's own configurator) and ``_create_formatters``
(``fileConfig``'s first step) become ``PendingFirst`` objects: looked up on an instance, or
called, they run the bodies and hand the interpreter the original, which it then calls from
C.  So nothing runs under logging's lock (a body waiting for another thread's ``getLogger()``
would deadlock there), no frame of lazyhook's is in a configuration error's traceback, and
``DictConfigurator``'s own methods stay functions (``mock.patch.object(DictConfigurator,
"configure", autospec=True)``; not ``BaseConfigurator.__init__``'s autospec).  The finder
sees ``logging.config``'s body end: lazy, by the body hook; eager, by its loader
(``_finder._logging_config``).

Not covered (README, "Configuring logging"): a listing of the loggers by the program
(``loggerDict``, ``Logger.getChildren()``); a configuration made while a module is being
imported or a lazy body runs (bodies run there could import the module half-initialised), or
off the main thread (eagerly the bodies ran in it).
``_process`` runs the bodies.
"""

import sys
from _thread import get_ident

from lazyhook import _interp
from lazyhook._process import run_all_pending
from lazyhook._state import _pending

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


def _sync() -> None:
    if not _pending or _interp.inside_import():
        return
    threading = sys.modules.get("threading")  # (logging imports it)
    main = getattr(threading, "main_thread", None)
    if main is not None and main().ident == get_ident():
        run_all_pending()


class _Call:
    """The ``__call__`` of ``PendingFirst``: a descriptor, so the interpreter calls what it
    returns (the original) from C."""

    def __get__(self, obj: "PendingFirst | None", cls: "type | None" = None) -> object:
        if obj is None:
            return self
        _sync()
        return obj.__wrapped__


class PendingFirst:
    """In place of a module's global function *name* (called) or a class's method (looked up
    on an instance): the pending bodies run, then the original.  It answers for the original
    where code looks at it: name, doc, module, signature (``__wrapped__``), pickling (by the
    global's name), ``isinstance``/``issubclass`` and subclassing for a class."""

    __slots__ = ("__wrapped__", "_name")
    __call__ = _Call()

    def __init__(self, name: str, func: "Callable[..., object]") -> None:
        self.__wrapped__, self._name = func, name

    def __getattr__(self, attr: str) -> object:  # __name__, __qualname__, __defaults__...
        if attr in PendingFirst.__slots__:
            raise AttributeError(attr)
        return getattr(self.__wrapped__, attr)

    # What the class itself has, an instance would answer: the original's instead.
    @property
    def __module__(self) -> str:  # type: ignore[override]
        return self.__wrapped__.__module__

    @property
    def __doc__(self) -> "str | None":  # type: ignore[override]
        return self.__wrapped__.__doc__

    def __get__(self, obj: object, cls: "type | None" = None) -> object:
        if obj is None:
            return self.__wrapped__  # looked up on the class: the function itself
        _sync()
        return self.__wrapped__.__get__(obj, cls)

    def __repr__(self) -> str:
        return repr(self.__wrapped__)

    def __reduce__(self) -> str:
        return self._name

    def __instancecheck__(self, obj: object) -> bool:
        return isinstance(obj, self.__wrapped__)  # type: ignore[arg-type]

    def __subclasscheck__(self, cls: type) -> bool:
        return issubclass(cls, self.__wrapped__)  # type: ignore[arg-type]

    def __mro_entries__(self, bases: "tuple[object, ...]") -> "tuple[object, ...]":
        return (self.__wrapped__,)


def watch() -> bool:
    """Put ``PendingFirst`` in front of ``logging.config``'s configuring steps; True."""
    d: dict[str, Any] = getattr(sys.modules.get("logging.config"), "__dict__", {})
    base = d.get("BaseConfigurator")
    if isinstance(base, type) and type(vars(base).get("__init__")) is type(watch):
        base.__init__ = PendingFirst("__init__", vars(base)["__init__"])  # type: ignore[misc]
    if type(d.get("_create_formatters")) is type(watch):
        d["_create_formatters"] = PendingFirst("_create_formatters", d["_create_formatters"])
    return True


_interp.hide_module_from_warnings()  # its lookups run lazy bodies
