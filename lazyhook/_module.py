"""Lazy modules: a module object whose body runs at its first real use.

A lazy module is the very module object the import system created (so there is never a second
object for one name), with its class switched to ``_LazyModule`` until its body has run.  Its
``__getattribute__`` answers the attributes the import system set (``__spec__``, ``__path__``,
...) from the module's dict, answers from-import reads from the name cache (see
``_from_import``), and executes the body for anything else.  Execution happens under
importlib's own per-module lock, so importlib's deadlock detection applies exactly as for a
circular import, and lazyhook holds no lock of its own while a body runs.  After a successful
run the class is switched back and attribute access costs what it costs on any module.

Lazy names (``_names``) are this module's stand-ins for ``from m import y``: ``_names`` never
imports this file; each lazy name holds its module's ``LazyState`` and calls its documented
hook ``LazyState.real_value(name)`` to get the real object.

Loaded when the first lazy module is created, never at ``install()``.
"""

import sys
from _thread import get_ident

from lazyhook import _interp
from lazyhook._config import Settings
from lazyhook._execute import (
    LazyState,
    ModuleReport,
    _forward,
    _ForwardingModule,
    _pending,
    entry,
    execute,
    loaded_names,
    names_support,
    reports,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType, ModuleType
    from types import ModuleType as _ModuleType

    from lazyhook._cache import Entry
else:
    _ModuleType = type(sys)

_mod_getattr = _ModuleType.__getattribute__
_mod_dir = _ModuleType.__dir__

# Read without executing: what the import system set on the module before its body would run,
# and what tools probe on every module they see (unittest's warning-registry reset walks
# sys.modules; pytest's collector).
_PASSTHROUGH = frozenset(
    {
        "__name__",
        "__spec__",
        "__loader__",
        "__package__",
        "__path__",
        "__file__",
        "__cached__",
        "__class__",
        "__warningregistry__",
        # pytest's collector probes every object in a test module's namespace for
        # ``__test__``, and issubclass(module, C) for ``__bases__``: a module that has not
        # run has set neither.
        "__test__",
        "__bases__",
    }
)

_NO = object()
_PROBE, _FROM, _STAR, _NOT_FROM_IMPORT = (
    _interp.PROBE,
    _interp.FROM,
    _interp.STAR,
    _interp.NOT_FROM_IMPORT,
)


class _LazyModule(_ModuleType):
    """The class of a module whose body has not run yet."""

    def __getattribute__(self, name: str) -> object:
        if name in _PASSTHROUGH:
            return _mod_getattr(self, name)
        return _access(self, name, sys._getframe(1))

    def __dir__(self) -> "list[str]":
        _force(self, sys._getframe(1))
        if type(self) is _LazyModule:
            return list(_mod_dir(self))
        return dir(self)


def make_lazy(
    module: "ModuleType", loader: object, site: "tuple[str, int]", settings: Settings
) -> None:
    """Turn a just-created module into a lazy one (called from the lazy loader's exec_module)."""
    st = LazyState(module, loader, site, settings)
    module.__class__ = st.lazy_class = _LazyModule
    _pending[id(module)] = st
    reports[st.name] = ModuleReport(site)


def _access(module: "ModuleType", name: str, frame: "FrameType") -> object:
    st = _pending.get(id(module))
    if st is None or st.owner == get_ident():
        # Finished meanwhile, or the body itself (re-entrant use while it runs, as eagerly).
        return _mod_getattr(module, name)
    stmt = st.statement
    if stmt is not None and stmt[0] is frame and stmt[1] == frame.f_lasti:
        # The same from-import statement as the previous read (a star import reads ~2 names
        # per star name): its decision stands, skip re-deciding (measured ~1 us).
        value = _answer(st, module, name, stmt[2])
    else:
        value = _from_import(st, module, name, frame)
    if value is not _NO:
        return value
    execute(st, frame)
    if type(module) is _LazyModule:
        # A concurrent circular import between threads: importlib hands out the partially
        # initialised module in that case, and so do we.
        return _mod_getattr(module, name)
    return getattr(module, name)


def _force(module: "ModuleType", frame: "FrameType | None") -> None:
    st = _pending.get(id(module))
    if st is not None:
        execute(st, frame)


def _from_import(st: LazyState, module: "ModuleType", name: str, frame: "FrameType") -> object:
    """Answer a from-import's read of *name* from the name cache, or ``_NO`` to execute.

    The import machinery reaches a module through the same getattr as ordinary code, so the
    caller is told apart by where the read comes from (``_interp.from_import_read``):
    ``_handle_fromlist``'s probes of ``__all__`` and each name, or the ``IMPORT_FROM`` /
    star-import instruction at the calling frame's ``f_lasti``.
    """
    how = _interp.from_import_read(frame)
    if how == _NOT_FROM_IMPORT:
        return _NO
    if how == _PROBE:
        target = _interp.probe_target(frame)
        if target is None:
            return _NO
    else:
        target = frame
        if how == _FROM:
            # ``import pkg.sub as s`` compiles to IMPORT_FROM on the parent: a submodule the
            # import system has just set on it is answered without running the parent (it
            # runs, first, when the submodule is used), whatever the names policy.
            sub = _mod_getattr(module, "__dict__").get(name)
            if sub is not None and sub is sys.modules.get(f"{st.name}.{name}"):
                return sub
    importer = target.f_globals.get("__name__")
    if not st.settings.binds_names(importer, st.name, False) or entry(st) is None:
        return _NO
    code = frame.f_code
    if how != _PROBE and _interp.module_level(code):
        # Module-level (or exec) code binds into its globals: remember the namespace so the
        # real object replaces the lazy name there when the module runs.  Function locals and
        # class bodies are not replaced (the name forwards there).
        ns = target.f_globals
        if not any(ns is n for n in st.namespaces):
            st.namespaces.append(ns)
    # Holds the frame until the module runs or another statement reads it: a bounded cost.
    st.statement = (frame, frame.f_lasti, how)
    return _answer(st, module, name, how)


def _answer(st: LazyState, module: "ModuleType", name: str, how: int) -> object:
    """The from-import answer for *name*, once the statement is known to get lazy names."""
    entry: Entry = st.entry  # type: ignore[assignment]
    d: dict[str, object] = _mod_getattr(module, "__dict__")
    if name == "__all__":
        # Answered even for a module that defines none: hasattr(x, '__all__') may then differ
        # before and after execution (documented).
        if how == _PROBE:
            # _handle_fromlist reads __all__ only to import the star names that are not
            # attributes yet (submodules): hand it just those, not ~900 names to probe.
            return [n for n in entry.star if n not in entry.names and n not in d]
        if how == _STAR:
            return _bind_star(st, entry, d, st.statement[0])  # type: ignore[index]
        return entry.star_list
    if name in d:
        # A submodule the import system set on this lazy parent: the same object eagerly.
        return d[name]
    if name in entry.names:
        if name not in st.stand_ins:
            _make_stand_ins(st, [name])
        return st.stand_ins[name]
    if how == _PROBE and not entry.has_getattr:
        # Not a name of the module: _handle_fromlist then imports it as a submodule, exactly
        # as it would after executing the module.
        raise AttributeError(name)
    return _NO


def _make_stand_ins(st: LazyState, names: "list[str]") -> None:
    st.stand_ins.update(names_support().stand_ins(st, names))
    rep = reports.get(st.name)
    if rep is not None:
        rep.lazy_names += len(names)


def _bind_star(st: LazyState, entry: "Entry", d: "dict[str, object]", frame: "FrameType") -> object:
    """A star import reads ``__all__`` and then each name: bind them all at once instead.

    Binds every star name into the statement's namespace and answers an empty ``__all__``, so
    the interpreter's own loop has nothing left to do (measured: ~1.4 us a name through
    getattr, for sympy's 921).  If any name is neither in the entry nor already an attribute,
    the whole list is answered instead and the interpreter asks name by name (and the unknown
    one runs the module, failing as eagerly).
    """
    lazy = st.stand_ins
    missing = [n for n in entry.star if n not in d and n not in lazy]
    if missing:
        if not entry.names.issuperset(missing):
            return entry.star_list
        _make_stand_ins(st, missing)
    frame.f_locals.update({n: d[n] if n in d else lazy[n] for n in entry.star})
    return []


def is_lazy(obj: object) -> bool:
    """True for a lazy module whose body has not run, or an unresolved lazy name."""
    if type(obj) is _LazyModule:
        return id(obj) in _pending
    names = loaded_names()
    return names is not None and bool(names.is_unresolved(obj))


def force(obj: object) -> object:
    """Run *obj* (lazy module or lazy name) and return the real object; others unchanged."""
    if type(obj) is _LazyModule:
        _force(obj, sys._getframe(1))
        return _forward.get(id(obj), obj)
    if type(obj) is _ForwardingModule:
        return _forward[id(obj)]
    names = loaded_names()
    return obj if names is None else names.real_object(obj)
