"""Running a lazy module's body: once, parents first, under importlib's module lock.

The state of every lazy module that has not run (``LazyState``, in ``_pending``) lives here,
with what running it means: its still-lazy parents run first, outermost first (the order
invariant); the body runs under importlib's own per-module lock, so importlib's deadlock
detection applies as for a circular import and lazyhook holds no lock of its own; a body that
raises leaves the module in its lazy state on the same object, ready to run again; a body that
completes settles the module's lazy names and, if the cache had no entry, teaches the cache
its names.  ``_module`` (the lazy module objects) calls in here; this file does not import it.

Loaded with ``_module``, when the first lazy module is created.
"""

import os
import sys
import time
from _thread import get_ident

from lazyhook import _interp
from lazyhook._config import Settings, startup

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType, ModuleType
    from types import ModuleType as _ModuleType

    from lazyhook._cache import Entry
    from lazyhook._names import LazyName
else:
    _ModuleType = type(sys)

_mod_getattr = _ModuleType.__getattribute__
_names_mod: "ModuleType | None" = None  # lazyhook._names, once the first lazy name exists


def loaded_names() -> "ModuleType | None":
    """``_names`` if any lazy name exists in this process, else None."""
    return _names_mod


def names_support() -> "ModuleType":
    """``_names``, loaded with the first lazy name."""
    global _names_mod
    if _names_mod is None:
        from lazyhook import _names

        _names_mod = _names
    return _names_mod


class LazyState:
    """Book-keeping for one module that has not run yet."""

    __slots__ = (
        "module",
        "name",
        "loader",
        "site",
        "settings",
        "owner",
        "snapshot",
        "stand_ins",
        "namespaces",
        "entry",
        "checked",
        "learn_on_run",
        "top",
        "statement",
        "lazy_class",
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
        self.stand_ins: dict[str, LazyName] = {}  # one lazy name per (module, name)
        self.namespaces: list[dict[str, object]] = []  # where lazy names were bound
        self.entry: Entry | None = None
        self.checked = False  # has the name cache been consulted for this module?
        self.learn_on_run = False  # record this module's names in the cache when it runs
        self.top = self.name.partition(".")[0]
        # (frame, f_lasti, how) of the last from-import statement given lazy names.
        self.statement: tuple[FrameType, int, int] | None = None
        # The class the module has while lazy (``_module`` sets it): if the body assigns its
        # own __class__ (gh-117182), the class is left alone when the body is done.
        self.lazy_class: type = type(module)

    def real_value(self, name: str) -> object:
        """The hook ``_names`` calls: the real object for lazy name *name* of this module.

        Runs the module if it has not run (raising its own error, site noted); if the module
        does not define *name* after all, the cache lied: the entry is invalidated and the
        error is the ``ImportError`` eager Python would have raised at the statement.
        """
        if _pending.get(id(self.module)) is self:
            execute(self, sys._getframe(2))
        target = _forward.get(id(self.module), self.module)
        try:
            return getattr(target, name)  # honours a PEP 562 __getattr__
        except AttributeError:
            pass
        from lazyhook import _cache

        # Running the module has re-learned its true names already (unless it could not be
        # learned): make sure the lie is not used again either way.
        _cache.invalidate(self.name, keep_queued=True)
        file = getattr(self.module, "__file__", None) or "unknown location"
        text = f"cannot import name {name!r} from {self.name!r} ({file})"
        err = ImportError(text, name=self.name)
        msg = "lazyhook: its name cache was stale (the entry has been invalidated)"
        if hasattr(err, "add_note"):
            err.add_note(msg)
            raise err from None
        raise err from ImportError(msg)  # 3.10 has no notes: say it as the cause


class ModuleReport:
    """What ``lazyhook.report()`` shows for one lazy module."""

    __slots__ = ("site", "used_at", "seconds", "lazy_names", "resolved_names", "failed")

    def __init__(self, site: "tuple[str, int]") -> None:
        self.site = site
        self.used_at: tuple[str, int] | None = None
        self.seconds: float | None = None
        self.lazy_names = 0
        self.resolved_names = 0
        self.failed = 0


_pending: dict[int, LazyState] = {}  # id(module) -> state, while the body has not run
_forward: dict[int, object] = {}  # id(module) -> what its body put in sys.modules instead
reports: dict[str, ModuleReport] = {}


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


def pending(module: object) -> "LazyState | None":
    """The state of *module* if it is a lazy module whose body has not run."""
    return _pending.get(id(module)) if module is not None else None


def has_pending_parent(fullname: str) -> bool:
    """Is a parent package of *fullname* still lazy (and not running right now)?"""
    i = fullname.find(".")
    while i != -1:
        st = pending(sys.modules.get(fullname[:i]))
        # A parent whose body is running right now is not waited for (an eager import of a
        # child of a package being initialised does not wait either): the package's own
        # imports, sympy's ~420 among them, stay on the plain path.
        if st is not None and st.owner is None:
            return True
        i = fullname.find(".", i + 1)
    return False


def entry(st: LazyState) -> "Entry | None":
    if not st.checked:
        from lazyhook import _cache

        spec = _mod_getattr(st.module, "__spec__")
        origin = getattr(spec, "origin", None)
        st.entry = _cache.lookup(st.name, origin, st.settings.cache_dir)
        st.checked = True
        st.learn_on_run = st.entry is None
    return st.entry


def execute(st: LazyState, frame: "FrameType | None") -> None:
    """Run the body of *st*'s module once, parents first, under importlib's module lock."""
    if st.owner == get_ident():
        return
    name = st.name
    execute_parents(name, frame)
    lock = _interp.ModuleLock(name)
    try:
        lock.__enter__()
    except _interp.DeadlockError:
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
    # Only ever set when the cache was consulted (names not False).  A body that replaced its
    # own sys.modules entry has another object's names: not learned.
    if st.learn_on_run and sys.modules.get(name) is st.module:
        from lazyhook import _cache

        _cache.learn(name, st.module, st.settings.cache_dir)


def _first_use_site(frame: "FrameType | None") -> "tuple[str, int] | None":
    """file:line of the user code whose use resolved a module (past importlib and lazyhook)."""
    user = _interp.importer_frame(frame)
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
            execute(pst, frame)
        i = name.find(".", i + 1)


def _run(st: LazyState, frame: "FrameType | None") -> None:
    module = st.module
    name = st.name
    d: dict[str, object] = _mod_getattr(module, "__dict__")
    spec = d.get("__spec__")
    rep = reports.get(name)
    if rep is not None:
        rep.used_at = _first_use_site(frame)
        if startup["strict"] and not startup["finished"] and rep.used_at is not None:
            _startup_warning(name, rep.used_at)
    if not st.checked and st.settings.names is not False:
        entry(st)  # so that a module run for any reason records its names when needed
    st.snapshot = dict(d)
    if spec is not None:
        spec._initializing = True  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    # Imports made while a lazy body runs get stamped by the finder before they are read:
    # they are the sources that may decide this module's cached names.
    state = _interp.state
    state.running += 1
    try:
        st.loader.exec_module(module)  # type: ignore[attr-defined]
    except BaseException as exc:
        # Back to the lazy state on the same object (never a half-initialised module, never a
        # second module object for one name): the next use runs the body again.
        _reset(st, d)
        if sys.modules.get(name) is not module:
            sys.modules[name] = module
        if rep is not None:
            rep.failed += 1
        _note(exc, st)
        raise
    finally:
        state.running -= 1
        if spec is not None:
            spec._initializing = False  # type: ignore[attr-defined]
        st.snapshot = {}
    if rep is not None:
        rep.seconds = time.perf_counter() - t0
    _finish(st)


def _reset(st: LazyState, d: "dict[str, object]") -> None:
    """Put a module whose body did not complete back to what it was before the body ran."""
    if st.snapshot:
        d.clear()
        d.update(st.snapshot)
    spec = d.get("__spec__")
    if spec is not None:
        spec._initializing = False  # type: ignore[attr-defined]


def _finish(st: LazyState) -> None:
    module = st.module
    replacement = sys.modules.get(st.name, module)
    if type(module) is st.lazy_class:
        if replacement is not module and replacement is not None:
            _forward[id(module)] = replacement
            module.__class__ = _ForwardingModule
        else:
            # Only if the body left its class alone (gh-117182: it may assign its own).
            module.__class__ = _ModuleType
    del _pending[id(module)]
    st.statement = None
    if st.stand_ins:
        real = replacement if replacement is not None else module
        missing, resolved = names_support().settle(st.stand_ins, st.namespaces, real)
        st.namespaces.clear()
        rep = reports.get(st.name)
        if rep is not None:
            rep.resolved_names = resolved
        if missing:
            st.learn_on_run = True  # the cache promised a name the module does not define


def _note(exc: BaseException, st: LazyState) -> None:
    where = f"{st.site[0]}:{st.site[1]}"
    msg = f"lazyhook: {st.name!r} was imported lazily at {where} and failed when first used"
    if hasattr(exc, "add_note"):
        exc.add_note(msg)
    elif exc.__cause__ is None:
        exc.__cause__ = ImportError(msg)


def forget(module: object) -> None:
    """importlib.reload() is about to execute *module* itself: it is no longer lazy."""
    st = _pending.pop(id(module), None)
    if st is not None and type(module) is st.lazy_class:
        module.__class__ = _ModuleType


def _after_fork_in_child() -> None:
    # A body running in another thread at fork time will never finish in the child (that
    # thread does not exist there), and importlib's lock for it stays held forever: put the
    # module back to its lazy state and drop that lock so the child can run the body itself.
    me = get_ident()
    for st in list(_pending.values()):
        if st.owner is not None and st.owner != me:
            _reset(st, _mod_getattr(st.module, "__dict__"))
            st.owner = None
            _interp.release_module_lock(st.name)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
