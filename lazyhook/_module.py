"""Lazy modules: a module object whose body runs at its first real use.

A lazy module is the very module object the import system created (so there is never a second
object for one name), with its class switched to ``_LazyModule`` until its body has run.

* Reading ``__name__``, ``__spec__``, ``__path__``... (what the import system set) does not
  run it; a from-import's reads are answered from the name cache (``_from_import``); any other
  read, ``dir()``, a write or a delete runs the body first (``_execute``), as the eager import
  would have — except the import system's own binding of a submodule on its parent, which is
  kept aside until the parent has run, and a write of an attribute the import system set
  (``__file__``, ``__path__``...), which lands at once and again after the body.
* An *eager* import of an already-lazy module runs it: ``importlib.import_module()``,
  ``__import__()``, and an import statement the policy keeps eager (in a function, in
  ``try``, inside the same package in boundary mode).  The import system reads the module's
  ``__spec__`` for every import of a module already in ``sys.modules``: that read tells them
  apart (``_spec_read``).

What a from-import binds for each name depends on the kind the cache learned (``_bind``): a
literal its value, a module the (lazy) module itself, an exception class of the module's own
package an exception stand-in, a class, callable or other object a stand-in (``_names``); a
mutable container or non-literal builtin value named explicitly runs the module at once.

Loaded when the first lazy module is created, never at ``install()``.
"""

import os
import sys
from _thread import get_ident

from lazyhook import _interp, _reads
from lazyhook._config import Settings
from lazyhook._execute import (
    ABSENT,
    PROBES,
    LazyState,
    ModuleReport,
    ParentOfPending,
    _pending,
    bind_on_running_parent,
    entry,
    execute,
    loaded_names,
    names_support,
    reports,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType, ModuleType
    from types import ModuleType as _ModuleType
    from typing import Any

    from lazyhook._cache import Entry
else:
    _ModuleType = type(sys)

_mod_getattr = _ModuleType.__getattribute__
_mod_setattr = _ModuleType.__setattr__
_mod_delattr = _ModuleType.__delattr__
_mod_dir = _ModuleType.__dir__

# Read without executing: what the import system set on the module before its body would run,
# and what tools probe on every module they see (unittest's warning-registry reset walks
# sys.modules; pytest's collector probes ``__test__``, ``__bases__`` and the attributes in
# PROBES).
_PASSTHROUGH = frozenset(
    {"__name__", "__loader__", "__package__", "__path__", "__file__", "__cached__",
     "__class__", "__warningregistry__", "__test__", "__bases__"}
)  # fmt: skip

# Written without running the body (regrtest makes every module's __file__ absolute, walking
# sys.modules): the import system's attributes, readable without running it too.  The body
# still runs with the original values, and the writes land after it (_execute), as eagerly.
_EARLY_WRITES = frozenset(
    {"__file__", "__cached__", "__path__", "__loader__", "__package__", "__warningregistry__"}
)
_NO = ABSENT
_PROBE, _FROM, _STAR = _interp.PROBE, _interp.FROM, _interp.STAR


class _LazyModule(_ModuleType):
    """The class of a module whose body has not run yet."""

    def __getattribute__(self, name: str) -> object:
        if name in _PASSTHROUGH:
            return _mod_getattr(self, name)
        if name == "__spec__":
            _spec_read(self, sys._getframe(1))
            return _mod_getattr(self, name)
        return _access(self, name, sys._getframe(1))

    def __setattr__(self, name: str, value: object) -> None:
        _write(self, name, value, sys._getframe(1))

    def __delattr__(self, name: str) -> None:
        _write(self, name, _NO, sys._getframe(1))

    def __dir__(self) -> "list[str]":
        _force(self, sys._getframe(1))
        if type(self) is _LazyModule:
            return list(_mod_dir(self))
        return dir(self)


def make_lazy(
    module: "ModuleType",
    loader: object,
    where: "tuple[tuple[str, int], dict[str, object] | None]",
    settings: Settings,
) -> None:
    """Turn a just-created module into a lazy one (called from the lazy loader's exec_module):
    *where* is the import statement's (file, line) and its module's globals."""
    site, importer = where
    st = LazyState(module, loader, site, settings)
    st.importer = importer
    module.__class__ = st.lazy_class = _LazyModule
    _pending[id(module)] = st
    parent = sys.modules.get(st.name.rpartition(".")[0])
    if type(parent) is _ModuleType:  # a package that has run: a miss may need this module
        parent.__class__ = ParentOfPending
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
    if name in PROBES and name not in _mod_getattr(module, "__dict__"):
        raise AttributeError(f"module {st.name!r} has no attribute {name!r}")
    execute(st, frame)
    if type(module) is _LazyModule:
        # A concurrent circular import between threads: importlib hands out the partially
        # initialised module in that case, and so do we.
        return _mod_getattr(module, name)
    return getattr(module, name)


def _write(module: "ModuleType", name: str, value: object, frame: "FrameType") -> None:
    """A write (or, with ``_NO``, a delete) on a lazy module: the body runs first, then the
    write lands on the finished module, as eagerly.  The import system binding a submodule
    on its parent is kept aside instead: eagerly the parent had run before that binding."""
    st = _pending.get(id(module))
    if st is not None and st.owner != get_ident():
        if frame.f_code is _interp.FIND_AND_LOAD_UNLOCKED and value is not _NO:
            st.submodules[name] = value
            return
        if name in _EARLY_WRITES and st.owner is None and st.write_early(name, value):
            return
        execute(st, frame)
    if type(module) is _LazyModule:  # the body itself, or still initialising in a cycle
        _mod_setattr(module, name, value) if value is not _NO else _mod_delattr(module, name)
    elif value is _NO:
        delattr(module, name)
    else:
        setattr(module, name, value)


def _spec_read(module: "ModuleType", frame: "FrameType") -> None:
    """``module.__spec__`` is being read: if an eager import of it is asking, run it now."""
    st = _pending.get(id(module))
    if st is None or st.owner is not None:
        return
    if _eager_import(st, frame):
        execute(st, frame)
    elif _interp.import_kind(frame) != _interp.NOT_A_STATEMENT:
        # A statement finding it in sys.modules: eagerly, imported and bound on its parent.
        bind_on_running_parent(st)


def _eager_import(st: LazyState, frame: "FrameType") -> bool:
    """Is the code reading ``__spec__`` an import that would run the module eagerly?"""
    code = frame.f_code
    if code is _interp.FIND_AND_LOAD:
        return not _interp.forced_lazy(st.name)  # importlib.import_module(), __import__ (py)
    if code in _interp.RELAYS:
        importer = _interp.importer_frame(frame)  # importing a submodule of a from-list
    elif frame.f_globals.get("__name__") in _interp.MACHINERY:
        return False  # e.g. a child's import reading its parent's spec: parents-first handles it
    else:
        importer = frame
    if importer is None:
        return False
    kind = _interp.import_kind(importer)
    if kind == _interp.NOT_A_STATEMENT:
        # builtins.__import__() called by code that names it (unittest's loader, mock)
        return "__import__" in importer.f_code.co_names
    if kind != _interp.STATEMENT and kind != _interp.IN_WITH:
        return True  # in a function, in try: eager
    declared = _interp.declared_lazy(importer)
    if kind == _interp.IN_WITH and not declared:
        return True
    if not st.settings.lazy_import(importer.f_globals.get("__name__"), st.name, declared):
        return True
    # As the finder judges (_lazy_statement): an unread import is there for side effects.
    return not declared and not _reads.bindings_read(importer)


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
    if how == _interp.NOT_FROM_IMPORT:
        return _NO
    target = _interp.probe_target(frame) if how == _PROBE else frame
    if target is None:
        return _NO
    if how == _FROM and name in st.submodules:
        # ``import pkg.sub as s`` compiles to IMPORT_FROM on the parent: a submodule the
        # import system has just bound on it is answered without running the parent (it
        # runs, first, when the submodule is used), whatever the names policy.
        sub = st.submodule(name)
        if sub is not None:
            return sub
    importer = target.f_globals.get("__name__")
    # PEP 810: ``from m import x`` is declared by listing ``m``, the module read here.
    declared = _interp.declared_lazy(target, st.name)
    if not st.settings.binds_names(importer, st.name, declared) or entry(st) is None:
        return _NO
    if how != _PROBE and _interp.module_level(frame.f_code):
        # Module-level (or exec) code binds into its globals: remember the namespace so the
        # real object replaces the lazy name there when the module runs.  Function locals and
        # class bodies are not replaced (the name forwards there).
        ns = target.f_globals
        if not any(ns is n for n in st.namespaces):
            st.namespaces.append(ns)
    # Holds the frame until the module runs or another statement reads it: a bounded cost.
    st.statement = (frame, frame.f_lasti, how)
    st.match_classes = _reads.match_classes(target.f_code)
    return _answer(st, module, name, how)


def _answer(st: LazyState, module: "ModuleType", name: str, how: int) -> object:
    """The from-import answer for *name*, once the statement is known to get lazy names."""
    entry: Entry = st.entry  # type: ignore[assignment]
    if name == "__all__":
        # Answered even for a module that defines none: hasattr(x, '__all__') may then differ
        # before and after execution (documented).
        if how == _PROBE:
            # _handle_fromlist reads __all__ only to import the star names that are not
            # attributes yet (submodules): hand it just those, not ~900 names to probe.
            return [n for n in entry.star if n not in entry.names and n not in st.submodules]
        if how == _STAR:
            return _bind_star(st, entry, st.statement[0])  # type: ignore[index]
        return entry.star_list
    sub = st.submodule(name)
    if sub is not None and name not in entry.names:
        return sub  # a submodule the import system bound on this lazy parent: the same eagerly
    if name in entry.names:
        return _bind(st, entry, name, star=False)
    if how == _PROBE and not entry.has_getattr:
        # Not a name of the module: _handle_fromlist then imports it as a submodule, exactly
        # as it would after executing the module.
        raise AttributeError(name)
    return _NO


def _bind(st: LazyState, entry: "Entry", name: str, star: bool) -> object:
    """What a from-import binds for *name* (``_NO``: run the module at the statement)."""
    made = st.stand_ins.get(name)
    if made is not None:
        return made
    kind = entry.kinds[name]
    detail = entry.details.get(name)
    rep = reports.get(st.name)
    how = "stand-in"
    if kind == "v":  # a literal: the value itself
        value: object = detail
        how = "value"
    elif kind == "m":  # a module: that module, lazy if it is not imported yet
        value = _module_named(detail)
        how = "module"
    elif kind == "x":  # an exception class from elsewhere: the real class if loaded
        value = _loaded_object(detail)
        how = "real object"
    elif kind == "e" and name not in st.match_classes:
        value = names_support().exception_stand_in(st, name, detail) or _NO
        how = "exception class"
    elif _plain(kind, name, star, st.match_classes):
        value = names_support().stand_in(st, name, kind, detail)
    else:
        value = _NO  # see _plain: the module runs at the statement, the real object is bound
    if value is _NO:
        how = "at the statement"
    elif how in ("stand-in", "exception class"):
        st.stand_ins[name] = value
    if rep is not None:
        rep.bound[how] = rep.bound.get(how, 0) + 1
        rep.lazy_names += how in ("stand-in", "exception class")
    return value


def _plain(kind: str, name: str, star: bool, match: "frozenset[str]") -> bool:
    """Is a name of *kind* bound as an ordinary stand-in?  Functions, and classes not used as
    ``case C()`` patterns (match demands a real class).  Other objects only in a star import:
    named explicitly, C code needs their exact type (containers, computed scalars) or code
    compares them by identity (``x is UNSET``, the sentinel captured as a default)."""
    return kind == "f" or (kind == "c" and name not in match) or (star and kind in "ods")


def _module_named(name: object) -> object:
    """Module *name* as a from-import binds it: from sys.modules, else imported lazily now."""
    if not isinstance(name, str):
        return _NO
    module: object = sys.modules.get(name)
    if module is None:
        try:
            module = _interp.import_lazily(name)
        except ImportError:
            return _NO
    return module


def _loaded_object(detail: object) -> object:
    """The object at (module, qualname) if that module is loaded and has run, else ``_NO``."""
    if not (isinstance(detail, tuple) and len(detail) == 2):
        return _NO
    module = sys.modules.get(detail[0])
    if module is None or id(module) in _pending or "." in detail[1]:
        return _NO
    return getattr(module, detail[1], _NO)


def _bind_star(st: LazyState, entry: "Entry", frame: "FrameType") -> object:
    """A star import reads ``__all__`` and then each name: bind them all at once instead.

    Binds every star name into the statement's namespace and answers an empty ``__all__``, so
    the interpreter's own loop has nothing left to do (measured: ~1.4 us a name through
    getattr, for sympy's 921).  Without ``__all__``, the public submodules the import system
    bound on the module are bound too, as eagerly.  If any name cannot be bound lazily, the
    whole list is answered instead and the interpreter asks name by name (and that name runs
    the module, as eagerly).
    """
    names = list(entry.star)
    if not entry.explicit_star:
        names += [n for n in st.submodules if n[0] != "_" and n not in entry.names]
    bound: dict[str, object] = {}
    # The common kinds inline (sympy: ~900 of 921 names): ~1 us a name instead of ~4 through
    # _bind, whose counts are added once at the end.
    known, kinds, details = entry.names, entry.kinds, entry.details
    made, match, make = st.stand_ins, st.match_classes, names_support().stand_in
    plain = 0
    for name in names:
        if name not in known:
            value = st.submodule(name)
        else:
            value = made.get(name)
            if value is None:
                kind = kinds[name]
                if kind == "f" or (kind == "c" and name not in match) or kind in "ods":  # _plain
                    value = made[name] = make(st, name, kind, details.get(name))
                    plain += 1
                else:
                    value = _bind(st, entry, name, True)
        if value is None or value is _NO:
            return entry.star_list
        bound[name] = value
    rep = reports.get(st.name)
    if rep is not None and plain:
        rep.bound["stand-in"] = rep.bound.get("stand-in", 0) + plain
        rep.lazy_names += plain
    frame.f_locals.update(bound)
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
    if isinstance(obj, _ModuleType):
        if type(obj) is _ModuleType or type(obj) is _LazyModule:
            return obj
        from lazyhook import _forwarding  # a module subclass: perhaps one that forwards

        return _forwarding.replacement(obj)
    names = loaded_names()
    return obj if names is None else names.real_object(obj)


def _after_import_call(module: object, frame: "FrameType") -> None:
    # 3.10's importlib.import_module() (see _interp.watch_import_calls): an eager import.
    st = _pending.get(id(module))
    if st is not None and st.owner is None and not _interp.forced_lazy(st.name):
        execute(st, frame)


# The process around lazy bodies: a fork, an audit hook.  Thin stubs: the work is in
# _process, loaded only when one happens (not on the path of a warm from-import).


def _before_fork() -> None:
    from lazyhook import _process

    _process.before_fork()


def _after_fork_in_child() -> None:
    from lazyhook import _process  # loaded by _before_fork in the parent

    _process.after_fork_in_child()


def _audit_stub(add: "Callable[[Any], None]") -> "Callable[[Any], None]":
    def addaudithook(hook: "Any") -> None:
        from lazyhook import _process

        _process.before_audit_hook()
        add(hook)

    addaudithook.__doc__ = add.__doc__
    return addaudithook


_interp.watch_import_calls(_after_import_call)
_interp.hide_module_from_warnings()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)
sys.addaudithook = _audit_stub(sys.addaudithook)  # type: ignore[assignment]
