"""The state of every lazy module whose body has not run (``LazyState``, in ``_pending``).

What making a module lazy, answering a from-import from the name cache and binding lazy
names need, and no more: the state, which modules are pending and their reports, and a
package that ran before its lazily imported submodules (``ParentOfPending``: an attribute
miss runs them).  Running a body is ``_execute``'s (~22 KB of code, which a lazy import that
is never used need not load: measured ~0.2 ms in a fresh process).

Hooks: ``runner``, what ``execute`` calls — ``_module`` sets it to a function that loads
``_execute`` with the first body that runs and puts ``_execute.execute`` in its place (this
file cannot import ``_execute``, which imports it); ``body_hooks``, each called ``hook(st,
False)`` right before a body runs (under its module lock) and ``hook(st, True)`` once it has
run (``_refind``: a package's changes to the import machinery; the finder: logging's
configuring functions, ``_loggers``).  Loaded with ``_module``; does not import it.
"""

import sys
from _thread import get_ident

from lazyhook import _context, _interp

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Container
    from types import FrameType, ModuleType
    from types import ModuleType as _ModuleType

    from lazyhook._cache import Entry
    from lazyhook._config import Settings
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
                 "real_classes", "value_uses", "context", "refind", "placed")  # fmt: skip

    def __init__(
        self, module: "ModuleType", loader: object, site: "tuple[str, int]", settings: "Settings"
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
        # A parent's body put another module in sys.modules under this name (see _refind):
        # eagerly the import found that one, so this body never runs; it forwards there.
        self.placed = False

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
        if getattr(self.module, "__path__", None) is not None:
            # Eagerly ``from m import name`` imports ``m.name`` when m has no such attribute
            # (a package whose body imports that submodule only under some setting).
            full = f"{self.name}.{name}"
            try:
                return _interp.import_eagerly(full)
            except ModuleNotFoundError as exc:
                if exc.name != full:
                    raise
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


# See the module's docstring: set by ``_module``, which makes every LazyState.
runner: "Callable[[LazyState, FrameType | None], None] | None" = None


def execute(st: "LazyState", frame: "FrameType | None") -> None:
    """Run the body of *st*'s module once, parents first, under importlib's module lock."""
    runner(st, frame)  # type: ignore[misc]


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


def _put(d: "dict[str, object]", name: str, value: object) -> None:
    d.pop(name, None) if value is ABSENT else d.__setitem__(name, value)


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
