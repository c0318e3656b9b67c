"""Lazy modules: a module object whose body runs at its first real use.

A lazy module is the very module object the import system created (so there is never a second
object for one name), with its class switched to ``_LazyModule`` until its body has run.

* Reading what the import system set (``__name__``, ``__spec__``...) does not run it; a
  from-import's reads are answered from the name cache (``_from_import``); any other read
  (``__doc__`` even through ``object.__getattribute__``), ``dir()``, a write or a delete runs
  the body first (``_execute``), as eagerly — except the import system binding a submodule on
  it (kept aside until it has run) and a write of what it set (``__file__``...: lands at once
  and again after the body).
* An *eager* import of an already-lazy module runs it (``import_module()``, ``__import__()``,
  a statement the policy keeps eager), told by the import system's read of its ``__spec__``
  for every import of a module already in ``sys.modules`` (``_spec_read``).

A from-import binds each name by the kind the cache learned (``_bind``).  Loaded with the
first lazy module.
"""

import _weakref
import atexit  # built in
import copyreg  # never lazy (_config.IGNORE), loaded at start-up by most interpreters
import os
import sys
from _thread import get_ident

from lazyhook import _interp, _reads, _state
from lazyhook._config import Settings
from lazyhook._state import (
    ABSENT,
    PROBES,
    LazyState,
    ParentOfPending,
    _pending,
    execute,
    loaded_names,
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
_MODULE_DOC = vars(_ModuleType)["__doc__"]

# Read without executing: what the import system set, and what tools probe on every module
# (unittest's warning-registry reset; pytest's ``__test__``, ``__bases__`` and PROBES).
_PASSTHROUGH = frozenset(
    {"__name__", "__loader__", "__package__", "__path__", "__file__", "__cached__",
     "__class__", "__warningregistry__", "__test__", "__bases__"}
)  # fmt: skip

# Written without running the body (regrtest): it runs with the originals, then they land.
_EARLY_WRITES = frozenset(
    {"__file__", "__cached__", "__path__", "__loader__", "__package__", "__warningregistry__"}
)
_NO, _PROBE, _FROM = ABSENT, _interp.PROBE, _interp.FROM


class _LazyModule(_ModuleType):
    """The class of a module whose body has not run yet."""

    # A data descriptor: object.__getattribute__(m, "__doc__") (pydoc, help()) runs it too.
    __doc__ = property(lambda m: _doc(m, _caller()), lambda m, v: _set_doc(m, v, True),
                       lambda m: _set_doc(m, None, False))  # fmt: skip

    def __getattribute__(self, name: str) -> object:
        if name in _PASSTHROUGH:
            try:
                return _mod_getattr(self, name)
            except AttributeError:
                if name != "__path__":
                    raise
            return _path_for_child(self, _caller())  # (outside the except: no context)
        if name == "__spec__":
            _spec_read(self, _caller())
            return _mod_getattr(self, name)
        return _access(self, name, _caller())

    def __setattr__(self, name: str, value: object) -> None:
        _write(self, name, value, _caller())

    def __delattr__(self, name: str) -> None:
        _write(self, name, _NO, _caller())

    def __dir__(self) -> "list[str]":
        _force(self, _caller())
        return list(_mod_dir(self)) if type(self) is _LazyModule else dir(self)


def _doc(module: "ModuleType", frame: "FrameType | None") -> object:
    """Its ``__doc__``, once the body has run (read from its namespace: a ``getattr`` would
    come back here while the body runs; deleted, the class's, as for any module)."""
    _force(module, frame)
    return _mod_getattr(module, "__dict__").get("__doc__", _MODULE_DOC)


def _set_doc(module: "ModuleType", value: object, write: bool) -> None:
    d = _mod_getattr(module, "__dict__")
    if write:
        d["__doc__"] = value
    elif d.pop("__doc__", _NO) is _NO:
        raise AttributeError("__doc__")


def _path_for_child(module: "ModuleType", frame: "FrameType | None") -> object:
    """``__path__`` of a lazy module that is not a package (no spec says it is), read by
    importlib importing a submodule (``six.moves``, ``requests.packages.urllib3``, ``py.path``).
    Eagerly its body had run by then: it may have made itself a package (six: ``__path__ =
    []``) or put the submodule into ``sys.modules`` (importlib checks there only before this
    read).  So it runs; then its ``__path__``, or an empty one if the submodule is in
    ``sys.modules`` (the finder hands importlib that module), else "not a package" as eagerly.
    Read for a from-import statement (``IMPORT_NAME``), eagerly it asked the module's own PEP
    562 ``__getattr__``: it runs there (see ``_own_getattr_asked``).  Read by anything else, it
    is an AttributeError that runs nothing."""
    importing = frame is not None and frame.f_code is _interp.FIND_AND_LOAD_UNLOCKED
    if frame is None or not (importing or _own_getattr_asked(module, frame)):
        raise AttributeError("__path__")
    _force(module, frame)
    if not importing:  # its own __getattr__'s answer, as eagerly (unless still initialising)
        if type(module) is _LazyModule:
            raise AttributeError("__path__")
        return module.__path__
    path = getattr(module, "__path__", None)
    if path is None and sys.modules.get(str(frame.f_locals.get("name"))) is not None:
        path = []
    if path is None:
        raise AttributeError("__path__")
    return path


def _own_getattr_asked(module: "ModuleType", frame: "FrameType") -> bool:
    """Is *frame* a from-import reading *module*'s ``__path__``, and will it run at the names
    (no entry, lazy names not for this importer) or has it a ``__getattr__``?"""
    st = _pending.get(id(module))  # (running: a circular import reads it part initialised)
    if st is None or st.owner is not None or not _interp.at_from_list(frame):
        return False
    e = _names_entry(st, frame)
    return e is None or e.has_getattr


def _caller() -> "FrameType | None":
    """The code using a lazy module (two frames up); None straight from C (an atexit call)."""
    try:
        return sys._getframe(2)
    except ValueError:
        return None


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
    reports[st.name] = _state.ModuleReport(site)


def _access(module: "ModuleType", name: str, frame: "FrameType | None") -> object:
    st = _pending.get(id(module))
    if st is None or st.owner == get_ident():  # finished, or re-entrant use while it runs
        return _mod_getattr(module, name)
    stmt = st.statement
    if frame is None:
        value = _NO
    elif stmt is not None and stmt[0] is frame and stmt[1] == frame.f_lasti:
        # The same from-import statement as the previous read (a star import reads ~2 names
        # per star name): its decision stands, skip re-deciding (measured ~1 us).
        from lazyhook._bind import answer  # loaded by that statement

        value = answer(st, name, stmt[2])
    else:
        value = _from_import(st, module, name, frame)
    if value is not _NO:
        return value
    if name in PROBES and name not in _mod_getattr(module, "__dict__"):
        raise AttributeError(f"module {st.name!r} has no attribute {name!r}")
    execute(st, frame)
    if type(module) is _LazyModule:
        # A concurrent circular import between threads: importlib's partial module, as ours.
        return _mod_getattr(module, name)
    return getattr(module, name)


def _write(module: "ModuleType", name: str, value: object, frame: "FrameType | None") -> None:
    """A write (or, with ``_NO``, a delete) on a lazy module: the body runs first, then the
    write lands on the finished module, as eagerly.  The import system binding a submodule
    on its parent is kept aside instead: eagerly the parent had run before that binding."""
    st = _pending.get(id(module))
    if st is not None and st.owner != get_ident():
        importing = frame is not None and frame.f_code is _interp.FIND_AND_LOAD_UNLOCKED
        if importing and value is not _NO:
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


def _spec_read(module: "ModuleType", frame: "FrameType | None") -> None:
    """``module.__spec__`` is being read: if an eager import of it is asking, run it now."""
    st = _pending.get(id(module))
    if st is None or st.owner is not None or frame is None:
        return
    if _eager_import(st, frame):
        execute(st, frame)
    elif _interp.import_kind(frame) != _interp.NOT_A_STATEMENT:
        # A statement finding it in sys.modules: eagerly, imported and bound on its parent.
        _state.bind_on_running_parent(st)


def _eager_import(st: LazyState, frame: "FrameType") -> bool:
    """Is the code reading ``__spec__`` an import that would run the module eagerly?"""
    code = frame.f_code
    if code is _interp.FIND_AND_LOAD:
        return True  # importlib.import_module(), __import__ (py)
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
    declared = _reads.declared_lazy(importer)
    if kind == _interp.IN_WITH and not declared:
        return True
    if not st.settings.lazy_import(importer.f_globals.get("__name__"), st.name, declared):
        return True
    # As the finder judges (_lazy_statement): an unread import is there for side effects.
    return (not declared and not _reads.bindings_read(importer, st.name)) or _reads.called(importer)


def entry(st: LazyState) -> "Entry | None":
    """The module's valid cache entry (consulted once), or None."""
    if not st.checked:
        from lazyhook import _cache

        spec = _mod_getattr(st.module, "__spec__")
        origin = getattr(spec, "origin", None)
        found = _cache.lookup(st.name, origin, st.settings.cache_dir)
        st.checked, st.entry, st.learn_on_run = True, found, found is None
        if found is not None and found.at_statement:  # names decided at run time, or suspect
            st.entry, st.learn_on_run = None, found.suspect
    return st.entry


def _names_entry(st: LazyState, target: "FrameType") -> "Entry | None":
    """The entry answering *target*'s from-import with lazy names; None (they run the module)
    if the policy binds none there (PEP 810: declared by listing ``m``) or none is valid."""
    importer = target.f_globals.get("__name__")
    declared = _reads.declared_lazy(target, st.name)
    return entry(st) if st.settings.binds_names(importer, st.name, declared) else None


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
    e = _names_entry(st, target)
    if e is None:
        return _NO
    from lazyhook._bind import answer, literals_only, use_checks  # with the first answer

    found = _reads.statement(frame) if how == _FROM else None
    start = found[0] if found is not None else -1
    prev = st.statement
    if found is None or prev is None or prev[0] is not frame or prev[3] != start:
        # A statement's first name: how does the importing code use what it binds?
        pairs = found[1] if found is not None else None
        if pairs and literals_only(st, [n for n, _ in pairs]):
            return _NO  # nothing it binds would ever run the module: it runs here, as eagerly
        use_checks(st, target.f_code, pairs, e.names)
        if _pending.get(id(module)) is not st:
            return _NO  # _bytecode's ``opcode`` import ran it (dis.py: ``from opcode import *``)
    if how != _PROBE and _interp.module_level(frame.f_code):
        # Module-level (or exec) code binds into its globals: remember the namespace so the
        # real object replaces the lazy name there when the module runs.  Function locals and
        # class bodies are not replaced (the name forwards there); exec(code, g, l) binds in l.
        ns = target.f_locals
        if not isinstance(ns, dict):
            ns = target.f_globals
        if not any(ns is n for n in st.namespaces):
            st.namespaces.append(ns)
    # Holds the frame until the module runs or another statement reads it: a bounded cost.
    st.statement = (frame, frame.f_lasti, how, start)
    return answer(st, name, how)


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
        if type(obj) in (_ModuleType, _LazyModule, ParentOfPending):
            return obj
        from lazyhook import _forwarding  # a module subclass: perhaps one that forwards

        return _forwarding.replacement(obj)
    names = loaded_names()
    return obj if names is None else names.real_object(obj)


def _after_import_call(module: object, frame: "FrameType") -> None:
    # 3.10's importlib.import_module() (see _interp.watch_import_calls): an eager import.
    st = _pending.get(id(module))
    if st is not None and st.owner is None:
        execute(st, frame)


# The process around lazy bodies (a fork, an audit hook, the exit), pickling: thin stubs.
def _reduce(module: "ModuleType") -> "tuple[object, tuple[object, ...]]":
    # copyreg's, for a lazy module and ParentOfPending: pickling one is a use (_pickling).
    frame = _caller()
    _force(module, frame)
    if type(module) is ParentOfPending:  # its lazy submodules: eagerly they had run too
        _state.settle_package(_mod_getattr(module, "__name__"), frame, run=True)
    if type(module) in (_LazyModule, ParentOfPending):  # asked in its own body
        raise TypeError(f"cannot pickle {type(module).__name__!r} object")
    from lazyhook._pickling import hand_over

    return hand_over(force(module), sys._getframe(1))  # a forwarding one's replacement


def _atexit_register(func: "Callable[..., Any]", /, *args: "Any", **kwargs: "Any") -> "Any":
    # atexit.register once lazy modules exist: notes what bodies register (see _process).
    _register(func, *args, **kwargs)
    if _interp.state.running:
        from lazyhook import _process

        _process.note_exit_handler(_register, func, args, kwargs)
        exit_handlers_noted.append(func)  # _finder.at_exit loads _process only then
    return func


def _main_freed(ref: object) -> None:
    # __main__ is freed (finalizing): eagerly its globals go with it, while os and print still
    # work.  Pending modules hold them (importer, namespaces to settle, a statement's frame).
    for st in list(_pending.values()):
        st.importer = None if id(st.importer) == _MAIN_GLOBALS else st.importer
        st.namespaces = [ns for ns in st.namespaces if id(ns) != _MAIN_GLOBALS]
        if st.statement is not None and id(st.statement[0].f_globals) == _MAIN_GLOBALS:
            st.statement = None


def _process_hook(name: str) -> None:
    from lazyhook import _process  # (after a fork: loaded by the parent's before_fork)

    getattr(_process, name)()


def _first_run(st: LazyState, frame: "FrameType | None") -> None:
    # _state.runner until a body runs, loading _execute (most lazy imports are never used)
    from lazyhook import _execute

    _state.runner = _execute.execute
    _execute.execute(st, frame)


def _audit_stub(add: "Callable[[Any], None]") -> "Callable[[Any], None]":
    def addaudithook(hook: "Any") -> None:
        _process_hook("before_audit_hook")
        add(hook)

    addaudithook.__doc__ = add.__doc__
    return addaudithook


_interp.watch_import_calls(_after_import_call)
_state.runner = _first_run
_interp.hide_module_from_warnings()
copyreg.pickle(_LazyModule, _reduce)  # type: ignore[arg-type]
copyreg.pickle(ParentOfPending, _reduce)  # type: ignore[arg-type]
exit_handlers_noted: "list[object]" = []
_register, atexit.register = atexit.register, _atexit_register
for _attr in ("__doc__", "__name__", "__qualname__", "__module__"):  # as the built-in says
    setattr(_atexit_register, _attr, getattr(_register, _attr))
_main = sys.modules.get("__main__")
_MAIN_GLOBALS = id(_mod_getattr(_main, "__dict__")) if isinstance(_main, _ModuleType) else 0
_main_ref = _weakref.ref(_main, _main_freed) if _MAIN_GLOBALS else None

del _main  # held here, __main__ would outlive its removal from sys.modules
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=lambda: _process_hook("before_fork"),
                        after_in_child=lambda: _process_hook("after_fork_in_child"))  # fmt: skip
sys.addaudithook = _audit_stub(sys.addaudithook)  # type: ignore[assignment]
