"""A lazy module whose body replaced its own ``sys.modules`` entry forwards to the replacement.

Code that imported the module before its body ran holds the lazy module object, where eagerly
it would hold what the body put in ``sys.modules`` (a proxy, another module): after the body,
that object forwards every attribute access to the replacement.

Read by the replacement itself — a proxy reading the module it wraps, as twisted's
``deprecatedModuleAttribute`` does (so every scrapy command) — the object is the plain module
it eagerly was: forwarding there too recursed until ``RecursionError``.  "The replacement
itself" is code from the file that defines the replacement's class (twisted's proxy and its
deprecated-attribute helper share one), or any access made while forwarding from this very
object in this thread.  The importing namespace's own binding is replaced by the replacement,
as the eager import statement would have bound it.

Loaded only when a body replaces its own entry (and by ``lazyhook.resolve`` of a module).
"""

import copyreg  # never lazy (_config.IGNORE)
import sys
from _thread import get_ident

from lazyhook import _interp

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import CodeType
    from types import ModuleType as _ModuleType
else:
    _ModuleType = type(sys)

_targets: "dict[int, object]" = {}  # id(module) -> what its body put in sys.modules instead
_own_files: "dict[int, frozenset[str]]" = {}  # id(module) -> files of the replacement's class
_inside: "set[tuple[int, int]]" = set()  # (id(module), thread) while forwarding from it


def forward(
    module: "_ModuleType", replacement: object, importer: "dict[str, object] | None"
) -> None:
    """From now on, *module* forwards to *replacement*; *importer*'s bindings of it (the
    globals of the code that imported it lazily) become the replacement."""
    files = {
        code.co_filename
        for klass in type(replacement).__mro__
        if not klass.__module__.startswith("lazyhook")  # a lazy module put there: not its own
        for value in vars(klass).values()
        # Plain functions only: a class attribute's own __getattr__ could raise or run code.
        if (code := _code(value)) is not None
    }
    _targets[id(module)], _own_files[id(module)] = replacement, frozenset(files)
    module.__class__ = ForwardingModule
    for key, value in list(importer.items()) if importer is not None else ():
        if value is module:
            importer[key] = replacement  # type: ignore[index]


def _code(value: object) -> "CodeType | None":
    if type(value) is staticmethod or type(value) is classmethod:
        value = getattr(value, "__func__", None)  # types checked first: no code of theirs runs
    code: CodeType | None = getattr(value, "__code__", None) if type(value) is _FUNCTION else None
    return code


_FUNCTION = type(_code)


def replacement(obj: object) -> object:
    """What *obj* forwards to if it is a forwarding module, else *obj* itself."""
    return _targets[id(obj)] if type(obj) is ForwardingModule else obj


def _forwarded(
    module: "_ModuleType",
    op: "Callable[..., object]",
    plain: "Callable[..., object]",
    *args: object,
) -> object:
    key = (id(module), get_ident())
    try:
        caller = sys._getframe(2).f_code.co_filename
    except ValueError:  # straight from C, no Python caller (an atexit callback's getattr)
        caller = ""
    if key in _inside or caller in _own_files[id(module)]:
        return plain(module, *args)  # the replacement reading the module it wraps
    _inside.add(key)
    try:
        return op(_targets[id(module)], *args)
    finally:
        _inside.discard(key)


class ForwardingModule(_ModuleType):
    """The class of a module whose body replaced its own ``sys.modules`` entry."""

    def __getattribute__(self, name: str) -> object:
        return _forwarded(self, getattr, _ModuleType.__getattribute__, name)

    def __setattr__(self, name: str, value: object) -> None:
        _forwarded(self, setattr, _ModuleType.__setattr__, name, value)

    def __delattr__(self, name: str) -> None:
        _forwarded(self, delattr, _ModuleType.__delattr__, name)

    def __dir__(self) -> "list[str]":
        return _forwarded(self, dir, _ModuleType.__dir__)  # type: ignore[return-value]


def _reduce(module: object) -> "tuple[object, tuple[object, ...]]":
    # copyreg's: pickled or copied, a forwarding module is its replacement, as eagerly.
    from lazyhook._pickling import hand_over

    return hand_over(_targets[id(module)], sys._getframe(1))


copyreg.pickle(ForwardingModule, _reduce)  # type: ignore[arg-type]
_interp.hide_module_from_warnings()
