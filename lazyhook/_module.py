"""Lazy modules: a module object whose body runs at its first real use.

A lazy module is the very module object the import system created (so there is never a second
object for one name), with its class switched to ``_LazyModule`` until its body has run.  Its
``__getattribute__`` answers the attributes the import system set (``__spec__``, ``__path__``,
...) from the module's dict, answers from-import probes from the name cache (see
``_from_import``), and executes the body for anything else.  Execution happens under
importlib's own per-module lock, so importlib's deadlock detection applies exactly as for a
circular import, and lazyhook holds no lock of its own while a body runs.  After a successful
run the class is switched back and attribute access costs what it costs on any module.

Loaded when the first lazy module is created, never at ``install()``.
"""

import os
import sys
import time
from _thread import get_ident

from lazyhook._config import Settings, matches
from lazyhook._finder import (
    CO_OPTIMIZED,
    IMPORT_FROM,
    STAR_ARG,
    STAR_OP,
    _tls,
    importer_frame,
    is_main_namespace,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType, ModuleType
    from types import ModuleType as _ModuleType

    from lazyhook._cache import Entry
    from lazyhook._names import LazyName
else:
    _ModuleType = type(sys)

_bootstrap = sys.modules["_frozen_importlib"]
_mod_getattr = _ModuleType.__getattribute__
_mod_dir = _ModuleType.__dir__
_HANDLE_FROMLIST = _bootstrap._handle_fromlist.__code__

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

# The from-import opcodes come from _finder's per-version table; on an unknown version no
# module is ever lazy (install() declines), so this is a belt for direct callers.
NAMES_SUPPORTED = IMPORT_FROM != -1

_NO = object()
# How a from-import statement reads the module: _handle_fromlist's probes, IMPORT_FROM, IMPORT_STAR.
_PROBE, _FROM, _STAR = 0, 1, 2


class _State:
    """Book-keeping for one module that has not run yet."""

    __slots__ = (
        "module",
        "name",
        "loader",
        "site",
        "settings",
        "owner",
        "snapshot",
        "names",
        "namespaces",
        "entry",
        "checked",
        "record",
        "top",
        "statement",
    )

    def __init__(
        self, module: "ModuleType", loader: object, site: "tuple[str, int]", settings: Settings
    ) -> None:
        self.module = module
        self.name: str = module.__name__
        self.loader = loader
        self.site = site
        self.settings = settings
        self.owner: int | None = None  # thread running the body right now
        self.snapshot: dict[str, object] = {}
        self.names: dict[str, LazyName] = {}  # one lazy name per (module, name)
        self.namespaces: list[dict[str, object]] = []  # where lazy names were bound
        self.entry: Entry | None = None
        self.checked = False  # has the name cache been consulted for this module?
        self.record = False  # learn this module's names when it runs
        self.top = self.name.partition(".")[0]
        # (frame, f_lasti, how) of the last from-import statement given lazy names.
        self.statement: tuple[FrameType, int, int] | None = None


class Record:
    """What the report shows for one lazy module."""

    __slots__ = ("site", "used_at", "seconds", "names", "resolved_names", "failed")

    def __init__(self, site: "tuple[str, int]") -> None:
        self.site = site
        self.used_at: tuple[str, int] | None = None
        self.seconds: float | None = None
        self.names = 0
        self.resolved_names = 0
        self.failed = 0


_pending: dict[int, _State] = {}  # id(module) -> state, while the body has not run
_forward: dict[int, object] = {}  # id(module) -> what its body put in sys.modules instead
records: dict[str, Record] = {}
startup = {"finished": False, "strict": os.environ.get("LAZYHOOK_STRICT_STARTUP", "") == "1"}


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


class _ForwardingModule(_ModuleType):
    """A module whose body replaced its own ``sys.modules`` entry: forwards to the replacement."""

    def __getattribute__(self, name: str) -> object:
        return getattr(_forward[id(self)], name)

    def __setattr__(self, name: str, value: object) -> None:
        setattr(_forward[id(self)], name, value)

    def __delattr__(self, name: str) -> None:
        delattr(_forward[id(self)], name)

    def __dir__(self) -> "list[str]":
        return dir(_forward[id(self)])


def make_lazy(
    module: "ModuleType", loader: object, site: "tuple[str, int]", settings: Settings
) -> None:
    """Turn a just-created module into a lazy one (called from the lazy loader's exec_module)."""
    st = _State(module, loader, site, settings)
    module.__class__ = _LazyModule
    _pending[id(module)] = st
    records[st.name] = Record(site)


def _access(module: "ModuleType", name: str, frame: "FrameType") -> object:
    st = _pending.get(id(module))
    if st is None or st.owner == get_ident():
        # Finished meanwhile, or the body itself (re-entrant use while it runs, as eagerly).
        return _mod_getattr(module, name)
    if NAMES_SUPPORTED:
        stmt = st.statement
        if stmt is not None and stmt[0] is frame and stmt[1] == frame.f_lasti:
            # The same from-import statement as the previous read (a star import reads ~2
            # names per star name): its decision stands, skip re-deciding (measured ~1 us).
            value = _answer(st, module, name, stmt[2])
        else:
            value = _from_import(st, module, name, frame)
        if value is not _NO:
            return value
    _execute(st, frame)
    if type(module) is _LazyModule:
        # A concurrent circular import between threads: importlib hands out the partially
        # initialised module in that case, and so do we.
        return _mod_getattr(module, name)
    return getattr(module, name)


def _force(module: "ModuleType", frame: "FrameType | None") -> None:
    st = _pending.get(id(module))
    if st is not None:
        _execute(st, frame)


def _from_import(st: _State, module: "ModuleType", name: str, frame: "FrameType") -> object:
    """Answer a from-import's read of *name* from the name cache, or ``_NO`` to execute.

    The import machinery reaches a module through the same getattr as ordinary code, so the
    caller is told apart by where the read comes from: ``_handle_fromlist`` (its code object;
    it probes ``hasattr`` for ``__all__`` and each name), or the ``IMPORT_FROM`` /
    ``IMPORT_STAR`` instruction at the calling frame's ``f_lasti`` (per tested version).
    """
    code = frame.f_code
    how = _PROBE if code is _HANDLE_FROMLIST else _FROM
    if how == _PROBE:
        target = frame.f_back
        while target is not None and target.f_code is _HANDLE_FROMLIST:
            target = target.f_back
        if target is None:
            return _NO
    else:
        co = code.co_code
        i = frame.f_lasti
        op = co[i]
        if op != IMPORT_FROM and not (op == STAR_OP and (STAR_ARG < 0 or co[i + 1] == STAR_ARG)):
            return _NO
        target = frame
        if op != IMPORT_FROM:
            how = _STAR
        else:
            # ``import pkg.sub as s`` compiles to IMPORT_FROM on the parent: a submodule the
            # import system has just set on it is answered without running the parent (it
            # runs, first, when the submodule is used), whatever the names policy.
            sub = _mod_getattr(module, "__dict__").get(name)
            if sub is not None and sub is sys.modules.get(f"{st.name}.{name}"):
                return sub
    if not _names_allowed(st, target.f_globals.get("__name__")) or _entry(st) is None:
        return _NO
    if how != _PROBE and not (code.co_flags & CO_OPTIMIZED) and code.co_name == "<module>":
        # Module-level (or exec) code binds into its globals: remember the namespace so the
        # real object replaces the lazy name there when the module runs.  Function locals and
        # class bodies are not replaced (the name forwards there).
        ns = target.f_globals
        if not any(ns is n for n in st.namespaces):
            st.namespaces.append(ns)
    # Holds the frame until the module runs or another statement reads it: a bounded cost.
    st.statement = (frame, frame.f_lasti, how)
    return _answer(st, module, name, how)


def _answer(st: _State, module: "ModuleType", name: str, how: int) -> object:
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
        if name not in st.names:
            from lazyhook._names import lazy_names

            lazy_names(st, [name])
        return st.names[name]
    if how == _PROBE and not entry.has_getattr:
        # Not a name of the module: _handle_fromlist then imports it as a submodule, exactly
        # as it would after executing the module.
        raise AttributeError(name)
    return _NO


def _bind_star(st: _State, entry: "Entry", d: "dict[str, object]", frame: "FrameType") -> object:
    """IMPORT_STAR reads ``__all__`` and then each name: bind them all at once instead.

    Binds every star name into the statement's namespace and answers an empty ``__all__``, so
    the interpreter's own loop has nothing left to do (measured: ~1.4 us a name through
    getattr, for sympy's 921).  If any name is neither in the entry nor already an attribute,
    the whole list is answered instead and the interpreter asks name by name (and the unknown
    one runs the module, failing as eagerly).
    """
    names = entry.names
    lazy = st.names
    missing = [n for n in entry.star if n not in d and n not in lazy]
    if missing:
        if not names.issuperset(missing):
            return entry.star_list
        from lazyhook._names import lazy_names

        lazy_names(st, missing)
    frame.f_locals.update({n: d[n] if n in d else lazy[n] for n in entry.star})
    return []


def _names_allowed(st: _State, importer: "str | None") -> bool:
    s = st.settings
    policy = s.names
    if policy is False:
        return False
    if is_main_namespace(importer):
        return True
    if policy is not True and (policy == "main" or not matches(importer, policy)):  # type: ignore[arg-type]
        return False
    if s.filter is not None:
        try:
            return bool(s.filter(importer, st.name))
        except Exception:  # noqa: BLE001 - the finder already warned about this filter
            return False
    # The order invariant: a package's own from-imports stay eager in boundary mode.
    return s.mode_all or importer.partition(".")[0] != st.top  # type: ignore[union-attr]


def _entry(st: _State) -> "Entry | None":
    if not st.checked:
        from lazyhook import _cache

        st.entry = _cache.lookup(st)
        st.checked = True
        st.record = st.entry is None
    return st.entry


def _execute(st: _State, frame: "FrameType | None") -> None:
    """Run the body of *st*'s module once, parents first, under importlib's module lock."""
    if st.owner == get_ident():
        return
    name = st.name
    execute_parents(name, frame)
    lock = _bootstrap._ModuleLockManager(name)
    try:
        lock.__enter__()
    except _bootstrap._DeadlockError:
        return  # importlib's rule for a concurrent circular import: use the partial module
    try:
        if _pending.get(id(st.module)) is not st:
            return  # another thread ran it while this one waited for the lock
        st.owner = get_ident()
        try:
            _run(st, frame)
        finally:
            st.owner = None
    finally:
        lock.__exit__()
    if st.record:  # only ever set when the cache was consulted (names not False)
        from lazyhook import _cache

        _cache.learn(st)


def _first_use_site(frame: "FrameType | None") -> "tuple[str, int] | None":
    """file:line of the user code whose use resolved a module (past importlib and lazyhook)."""
    user = importer_frame(frame)
    while user is not None and user.f_globals.get("__name__", "").startswith("lazyhook"):
        user = user.f_back
    return None if user is None else (user.f_code.co_filename, user.f_lineno)


def _startup_warning(name: str, site: "tuple[str, int]") -> None:
    from lazyhook import _warn

    # Modules that showing a warning resolves (linecache, tokenize...) are lazyhook's doing,
    # not the program's start-up.
    if not _warn.emitting:
        msg = f"lazy module {name!r} was resolved during start-up at {site[0]}:{site[1]}"
        _warn.warn_once(f"startup:{name}", msg)


def execute_parents(name: str, frame: "FrameType | None") -> None:
    """Run the still-lazy parent packages of *name*, outermost first (the order invariant)."""
    i = name.find(".")
    while i != -1:
        parent = sys.modules.get(name[:i])
        pst = _pending.get(id(parent)) if parent is not None else None
        if pst is not None:
            _execute(pst, frame)
        i = name.find(".", i + 1)


def _run(st: _State, frame: "FrameType | None") -> None:
    module = st.module
    name = st.name
    d: dict[str, object] = _mod_getattr(module, "__dict__")
    spec = d.get("__spec__")
    rec = records.get(name)
    if rec is not None:
        rec.used_at = _first_use_site(frame)
        if startup["strict"] and not startup["finished"] and rec.used_at is not None:
            _startup_warning(name, rec.used_at)
    if not st.checked and st.settings.names is not False:
        _entry(st)  # so that a module run for any reason records its names when needed
    st.snapshot = dict(d)
    if spec is not None:
        spec._initializing = True  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    # Imports made while a lazy body runs get stamped by the finder before they are read:
    # they are the sources that may decide this module's cached names.
    _tls.running = getattr(_tls, "running", 0) + 1
    try:
        st.loader.exec_module(module)  # type: ignore[attr-defined]
    except BaseException as exc:
        # Back to the lazy state on the same object (never a half-initialised module, never a
        # second module object for one name): the next use runs the body again.
        _reset(st, d)
        if sys.modules.get(name) is not module:
            sys.modules[name] = module
        if rec is not None:
            rec.failed += 1
        _note(exc, st)
        raise
    finally:
        _tls.running -= 1
        if spec is not None:
            spec._initializing = False  # type: ignore[attr-defined]
        st.snapshot = {}
    if rec is not None:
        rec.seconds = time.perf_counter() - t0
    _finish(st)


def _reset(st: _State, d: "dict[str, object]") -> None:
    """Put a module whose body did not complete back to what it was before the body ran."""
    if st.snapshot:
        d.clear()
        d.update(st.snapshot)
    spec = d.get("__spec__")
    if spec is not None:
        spec._initializing = False  # type: ignore[attr-defined]


def _finish(st: _State) -> None:
    module = st.module
    replacement = sys.modules.get(st.name, module)
    if type(module) is _LazyModule:
        if replacement is not module and replacement is not None:
            _forward[id(module)] = replacement
            module.__class__ = _ForwardingModule  # type: ignore[assignment]
        else:
            # Only if the body left its class alone (gh-117182: it may assign its own).
            module.__class__ = _ModuleType  # type: ignore[assignment]
    del _pending[id(module)]
    st.statement = None
    if st.names:
        from lazyhook._names import settle

        if not settle(st, replacement if replacement is not None else module):
            st.record = True  # the cache promised a name the module does not define


def _note(exc: BaseException, st: _State) -> None:
    where = f"{st.site[0]}:{st.site[1]}"
    msg = f"lazyhook: {st.name!r} was imported lazily at {where} and failed when first used"
    if hasattr(exc, "add_note"):
        exc.add_note(msg)
    elif exc.__cause__ is None:
        exc.__cause__ = ImportError(msg)


def forget(module: object) -> None:
    """importlib.reload() is about to execute *module* itself: it is no longer lazy."""
    st = _pending.pop(id(module), None)
    if st is not None and type(module) is _LazyModule:
        module.__class__ = _ModuleType  # type: ignore[assignment]


def is_lazy(obj: object) -> bool:
    """True for a lazy module whose body has not run, or an unresolved lazy name."""
    if type(obj) is _LazyModule:
        return id(obj) in _pending
    names = sys.modules.get("lazyhook._names")
    return names is not None and names.is_unresolved(obj)


def resolve(obj: object) -> object:
    """Force *obj* (lazy module or lazy name) and return the real object; others unchanged."""
    if type(obj) is _LazyModule:
        _force(obj, sys._getframe(1))
        return _forward.get(id(obj), obj)
    if type(obj) is _ForwardingModule:
        return _forward[id(obj)]
    names = sys.modules.get("lazyhook._names")
    if names is not None:
        return names.resolve(obj)
    return obj


def pending_state(module: object) -> "_State | None":
    return _pending.get(id(module)) if module is not None else None


def _after_fork_in_child() -> None:
    # A body running in another thread at fork time will never finish in the child (that
    # thread does not exist there), and importlib's lock for it stays held forever: put the
    # module back to its lazy state and drop that lock so the child can run the body itself.
    me = get_ident()
    for st in list(_pending.values()):
        if st.owner is not None and st.owner != me:
            _reset(st, _mod_getattr(st.module, "__dict__"))
            st.owner = None
            _bootstrap._module_locks.pop(st.name, None)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
