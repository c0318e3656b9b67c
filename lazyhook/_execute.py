"""Running a lazy module's body: once, parents first, under importlib's module lock.

The state of every lazy module that has not run (``LazyState``, in ``_pending``) lives here,
with what running it means: its still-lazy parents run first, outermost first (the order
invariant); the body runs under importlib's own per-module lock, so importlib's deadlock
detection applies as for a circular import and lazyhook holds no lock of its own; a body that
raises leaves the module in its lazy state on the same object, ready to run again (its error
raised as ``_attribution`` says); a body that completes gets back the submodules the import
system bound on it meanwhile, settles its lazy names and, if the cache had no entry, teaches
the cache its names.  A package that ran before its lazily imported submodules runs them on
an attribute miss (``ParentOfPending``).

``_module`` (the lazy module objects, and the process around them: fork, audit hooks) calls
in here; this file does not import it.  Loaded with ``_module``.  Hook: ``body_hooks``, each
called ``hook(st, False)`` right before a body runs (under its module lock) and ``hook(st,
True)`` once it has run (``_loaders``: a package's changes to the import machinery; the finder:
logging's configuring functions, ``_loggers``).
"""

import sys
from _thread import get_ident

from lazyhook import _config, _context, _interp
from lazyhook._config import Settings, startup

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Container
    from types import CodeType, FrameType, ModuleType
    from types import ModuleType as _ModuleType

    from lazyhook._cache import Entry
else:
    _ModuleType = type(sys)

_mod_getattr = _ModuleType.__getattribute__
ABSENT = object()  # an attribute that is not there (early writes: a delete, or no original)
# Attributes tools probe on every object they scan, which no module defines: "absent" from a
# lazy module (unless its body ran and defined one) and a package with pending submodules,
# without running anything.  pytest's collector reads ``_mock_name``, the fixture markers
# and ``__wrapped__`` of every object in a test module (measured with pytest 8.4 and 9.2).
PROBES = frozenset(
    {"_mock_name", "_mock_methods", "_pytestfixturefunction", "_fixture_function_marker",
     "__pytest_wrapped__", "_is_coroutine_marker", "__wrapped__", "__func__"}
)  # fmt: skip
_names_mod: "ModuleType | None" = None  # lazyhook._names, once the first lazy name exists
body_hooks: "list[Callable[[LazyState, bool], object]]" = []


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

    __slots__ = ("module", "name", "loader", "site", "settings", "owner", "snapshot",
                 "submodules", "stand_ins", "namespaces", "entry", "checked", "learn_on_run",
                 "statement", "lazy_class", "importer", "early_writes",
                 "real_classes", "value_uses", "context", "refind")  # fmt: skip

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
        # Submodules the import system bound on this module while it was lazy: kept out of its
        # namespace until its body has run, as eagerly (the parent runs first).
        self.submodules: dict[str, object] = {}
        self.stand_ins: dict[str, object] = {}  # one lazy name per (module, name)
        self.namespaces: list[dict[str, object]] = []  # where lazy names were bound
        self.entry: Entry | None = None
        self.checked = False  # has the name cache been consulted for this module?
        self.learn_on_run = False  # record this module's names in the cache when it runs
        # (frame, f_lasti, how, IMPORT_NAME offset) of the last from-import given lazy names.
        self.statement: tuple[FrameType, int, int, int] | None = None
        # The class the module has while lazy (``_module`` sets it): if the body assigns its
        # own __class__ (gh-117182), the class is left alone when the body is done.
        self.lazy_class: type = type(module)
        self.importer: dict[str, object] | None = None  # the importing module's globals
        # Import-system attributes written before the body ran (``write_early``): name ->
        # (the value before the first such write, the value written; ABSENT: none).
        self.early_writes: dict[str, tuple[object, object]] = {}
        # Names its code uses where only the real object will do (``case C()``,
        # ``X.register(C)``, class bases: see _uses).
        self.real_classes: frozenset[str] = frozenset()
        # Names it uses as values (_uses.value_used): real classes and star-import objects.
        self.value_uses: Container[str] = frozenset()
        self.context = _context.capture()  # what its body would have seen at the import
        self.refind: object = None  # see _refind.Refind

    def write_early(self, name: str, value: object) -> bool:
        """Write (``ABSENT``: delete) an import-system attribute before the body ran; the body
        runs with the original, the write lands again after it.  False: deleting nothing."""
        d = _mod_getattr(self.module, "__dict__")
        if value is ABSENT and name not in d:
            return False
        before = self.early_writes.get(name, (d.get(name, ABSENT), None))[0]
        self.early_writes[name] = (before, value)
        _put(d, name, value)
        return True

    def real_value(self, name: str) -> object:
        """The hook ``_names`` calls: the real object for lazy name *name* of this module.
        Runs the module if it has not run (raising its own error, site noted); if the module
        does not define *name* after all, the cache lied: the entry is invalidated and the
        error is the ``ImportError`` eager Python would have raised at the statement."""
        if _pending.get(id(self.module)) is self:
            execute(self, sys._getframe(2))
        try:
            # Honours a PEP 562 __getattr__, and forwards if the body replaced the module.
            return getattr(self.module, name)
        except AttributeError:
            pass
        from lazyhook import _cache

        # Running the module has re-learned its true names already (unless it could not be
        # learned): make sure the lie is not used again either way.
        _cache.invalidate(self.name, keep_queued=True)
        file = getattr(self.module, "__file__", None) or "unknown location"
        err = ImportError(f"cannot import name {name!r} from {self.name!r} ({file})")
        err.name = self.name
        from lazyhook._attribution import add_note

        add_note(err, "lazyhook: its name cache was stale (the entry has been invalidated)")
        raise err

    def submodule(self, name: str) -> object:
        """The submodule the import system bound on this module under *name* (else ``None``):
        eagerly the attribute, bound at the import, stays whatever ``sys.modules`` holds."""
        return self.submodules.get(name)

    def pending_submodule(self) -> bool:
        """Is a submodule imported lazily under this module while it was lazy still lazy?"""
        return any(_pending.get(id(sub)) is not None for sub in self.submodules.values())

    def bind_submodules(self, d: "dict[str, object]") -> None:
        """Bind the kept-aside submodules in namespace *d*, as the import system does after
        the parent's body ran (over whatever the body bound under those names)."""
        for attr in self.submodules:
            sub = self.submodule(attr)
            if sub is not None:
                d[attr] = sub


class ModuleReport:
    """What ``lazyhook.report()`` shows for one lazy module."""

    __slots__ = ("site", "used_at", "seconds", "lazy_names", "resolved_names", "failed", "bound")

    def __init__(self, site: "tuple[str, int]") -> None:
        self.site = site
        self.used_at: tuple[str, int] | None = None
        self.seconds: float | None = None
        self.lazy_names = 0
        self.resolved_names = 0
        self.failed = 0
        self.bound: dict[str, int] = {}  # how names were bound: "value", "stand-in", ...


_pending: dict[int, LazyState] = {}  # id(module) -> state, while the body has not run
reports: dict[str, ModuleReport] = {}


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
        for hook in body_hooks:
            hook(st, False)
        st.owner = get_ident()
        try:
            body_names = _run(st, frame)
        finally:
            st.owner = None
    finally:
        lock.__exit__()
    # Set only if the cache was consulted.  A body that replaced its entry: another's names.
    if st.learn_on_run and sys.modules.get(name) is st.module:
        from lazyhook import _cache

        _cache.learn(name, st.module, st.settings.cache_dir, body_names, _code(st))


def _code(st: LazyState) -> "CodeType | None":
    """The module's code object, from its loader (what the cache reads star imports from)."""
    try:
        return st.loader.get_code(st.name)  # type: ignore[attr-defined,no-any-return]
    except Exception:  # noqa: BLE001 - no code: the cache does without it
        return None


def _first_use_site(frame: "FrameType | None") -> "tuple[str, int] | None":
    """file:line of the user code whose use resolved a module (past importlib and lazyhook)."""
    user = _interp.importer_frame(frame)
    while user is not None and user.f_globals.get("__name__", "").startswith("lazyhook"):
        user = user.f_back
    return None if user is None else (user.f_code.co_filename, user.f_lineno)


def bind_on_running_parent(st: LazyState) -> None:
    """Importing a submodule binds it on its parent, the first time only: for one kept aside
    (imported lazily before the parent ran), that is when the parent's body imports it."""
    parent_name, _, child = st.name.rpartition(".")
    pst = _pending.get(id(sys.modules.get(parent_name)))
    if pst is not None and pst.owner == get_ident() and pst.submodules.get(child) is st.module:
        del pst.submodules[child]
        _mod_getattr(pst.module, "__dict__")[child] = st.module


def execute_parents(name: str, frame: "FrameType | None") -> None:
    """Run the still-lazy parent packages of *name*, outermost first (the order invariant)."""
    i = name.find(".")
    while i != -1:
        parent = sys.modules.get(name[:i])
        pst = _pending.get(id(parent)) if parent is not None else None
        if pst is not None:
            execute(pst, frame)
        i = name.find(".", i + 1)


def _run(st: LazyState, frame: "FrameType | None") -> "tuple[str, ...]":
    """Run the body; the names it bound (before the set-aside submodules are added back)."""
    module = st.module
    d: dict[str, object] = _mod_getattr(module, "__dict__")
    spec = d.get("__spec__")
    rep = reports.get(st.name)
    if rep is not None:
        rep.used_at = _first_use_site(frame)
        if startup["strict"] and not startup["finished"] and rep.used_at is not None:
            from lazyhook import _warn

            _warn.resolved_during_startup(st.name, rep.used_at)
    # Only from-imports wanting lazy names consult the name cache (learning on a miss): looking
    # up every module that ran cost a CLI ~3 ms.  Imports made while a body to be learned runs
    # are stamped by the finder before they are read: they may decide its cached names.
    st.snapshot = dict(d)
    _swap_early_writes(st, d, 0)  # the body sees what the import system set, as eagerly
    entry_before = sys.modules.get(st.name)  # mock.patch.dict(sys.modules) may hold a fake
    if spec is not None:
        spec._initializing = True  # type: ignore[attr-defined]
    t0 = _config.CLOCKS[0]()  # perf_counter (see _config.CLOCKS)
    from lazyhook import _attribution

    _attribution.enter(sys._getframe(), st.site, st.importer)
    state, learning, now = _interp.state, int(st.learn_on_run), None
    state.running += 1  # (right before the try: nothing in between can fail)
    state.learning += learning
    try:
        now = _context.enter(st.context)  # (in the try: the finally gives back what it put)
        st.loader.exec_module(module)  # type: ignore[attr-defined]
    except BaseException as exc:  # noqa: BLE001 - surface re-raises it
        # Back to the lazy state on the same object (never a half-initialised module, never a
        # second module object for one name): the next use runs the body again.
        reset(st, d)
        sys.modules[st.name] = entry_before if entry_before is not None else module
        if rep is not None:
            rep.failed += 1
        _attribution.surface(exc, st.name, st.site, frame is not None and _at_from_import(frame))
    finally:
        if now is not None:
            _context.leave(st.context, now)
        _attribution.leave()
        state.running -= 1
        state.learning -= learning
        if spec is not None:
            spec._initializing = False  # type: ignore[attr-defined]
        st.snapshot = {}
    if rep is not None:
        rep.seconds = _config.CLOCKS[0]() - t0
    body_names = tuple(d)
    _swap_early_writes(st, d, 1)
    st.early_writes.clear()
    _finish(st, entry_before, body_names)
    return body_names


def _at_from_import(frame: "FrameType") -> bool:  # its IMPORT_FROM, or its __path__ read
    return _interp.from_import_read(frame) != _interp.NOT_FROM_IMPORT or _interp.at_from_list(frame)


def _swap_early_writes(st: LazyState, d: "dict[str, object]", which: int) -> None:
    """Put the early-written attributes to their originals (*which* 0: before the body) or to
    the values written (1: after it)."""
    for name, values in st.early_writes.items():
        _put(d, name, values[which])


def _put(d: "dict[str, object]", name: str, value: object) -> None:
    d.pop(name, None) if value is ABSENT else d.__setitem__(name, value)


def reset(st: LazyState, d: "dict[str, object]") -> None:
    """Put a module whose body did not complete back to what it was before the body ran."""
    if st.snapshot:
        d.clear()
        d.update(st.snapshot)
    spec = d.get("__spec__")
    if spec is not None:
        spec._initializing = False  # type: ignore[attr-defined]


def _finish(st: LazyState, entry_before: object, body_names: "tuple[str, ...]") -> None:
    module = st.module
    now = sys.modules.get(st.name)
    # Only the body itself can replace the module's entry: a fake put there around the first
    # use (mock.patch.dict(sys.modules)) is not the module's doing and is not forwarded to.
    replacement = now if now is not None and now is not entry_before else module
    if type(module) is st.lazy_class:
        if replacement is not module:
            from lazyhook import _forwarding

            _forwarding.forward(module, replacement, st.importer)
        else:
            # Only if the body left its class alone (gh-117182: it may assign its own).
            module.__class__ = ParentOfPending if st.pending_submodule() else _ModuleType
    del _pending[id(module)]
    st.statement = None
    for hook in body_hooks:
        hook(st, True)
    bind_on_running_parent(st)  # running a submodule means importing it
    settle_package(st.name.rpartition(".")[0])
    d = _mod_getattr(module, "__dict__")
    st.bind_submodules(d)
    if st.stand_ins:
        missing, resolved = names_support().settle(st.stand_ins, st.namespaces, replacement)
        rep = reports.get(st.name)
        if rep is not None:
            rep.resolved_names = resolved
        if missing:
            st.learn_on_run = True  # the cache promised a name the module does not define
    if st.entry is not None:
        # Did the entry tell the truth?  If not: relearn it, repair what a star import bound.
        from lazyhook import _truth

        # A submodule is in the namespace or not depending on when (if at all) this process
        # imported it (during the body, before it, never in mode "all"): no difference.
        kinds, details, prefix = st.entry.kinds, st.entry.details, st.name + "."
        subs = {n for n in st.entry.names if kinds[n] == "m" and details.get(n) == prefix + n}
        for n in body_names:  # type(), not getattr: a stand-in would resolve
            if (
                issubclass(type(d.get(n)), _ModuleType)
                and _mod_getattr(d[n], "__name__") == prefix + n
            ):
                subs.add(n)
        seen = [n for n in body_names if n not in subs] + [n for n in subs if n in st.entry.names]
        if _truth.ran(st.name, st.entry, replacement, tuple(seen), st.namespaces):
            st.learn_on_run = True
    st.namespaces.clear()


class ParentOfPending(_ModuleType):
    """A package that has run while submodules imported lazily under it have not.  Eagerly
    they had run, and a body may bind siblings on the package (``import logging.config``
    binds ``logging.handlers``): a miss runs them, in import order, and looks again.  Reads
    cost ~0.1 us more until the last of them has run (then the class goes back); a module's
    own PEP 562 ``__getattr__`` is asked after them, as eagerly."""

    def __getattribute__(self, name: str) -> object:
        try:
            return _object_getattr(self, name)  # the namespace, not yet PEP 562's __getattr__
        except AttributeError:
            pass
        # Not for dunders, tools' probes, or _handle_fromlist's probe of a from-import's names
        # (a missing one it imports as a submodule itself: ``from . import b``).
        if name[:2] != "__" and name not in PROBES:
            try:
                frame: FrameType | None = sys._getframe(1)
            except ValueError:  # straight from C, no Python caller
                frame = None
            if frame is None or frame.f_code is not _interp.HANDLE_FROMLIST:
                settle_package(_mod_getattr(self, "__name__"), frame, run=True)
        return _mod_getattr(self, name)  # found now, or the module's own __getattr__/error


_object_getattr = object.__getattribute__


def settle_package(name: str, frame: "FrameType | None" = None, run: bool = False) -> bool:
    """Run (*run*) the lazy submodules of package *name* marked ``ParentOfPending``; once none
    is left it is a plain module again.  True if any ran."""
    package, prefix = sys.modules.get(name), name + "."
    if type(package) is not ParentOfPending:
        return False
    # Those another thread is running too: execute waits for them (its module lock).
    todo = [st for st in _pending.values() if st.name.startswith(prefix)]
    for st in todo if run else ():
        try:
            execute(st, frame)
        except Exception:  # noqa: BLE001 - its own first use raises it again
            pass
    if not any(st.name.startswith(prefix) for st in list(_pending.values())):
        package.__class__ = _ModuleType  # type: ignore[assignment]
    return run and bool(todo)


def forget(module: object) -> None:
    """importlib.reload() is about to execute *module* itself: it is no longer lazy."""
    st = _pending.pop(id(module), None)
    if st is not None and type(module) is st.lazy_class:
        module.__class__ = _ModuleType
        st.bind_submodules(_mod_getattr(module, "__dict__"))


_interp.hide_module_from_warnings()
