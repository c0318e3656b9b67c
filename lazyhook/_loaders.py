"""The loaders the finder hands out: a real loader wrapped for one import.

``Loader`` makes the module lazy instead of running it (``_module.make_lazy``);
``ParentsFirstLoader`` runs a still-lazy parent first for an eager import of its child (and
takes the loader ``_refind`` finds then);
``EagerBody`` runs a test module unittest imports with its own imports eager; ``Existing``
hands importlib a module that is already there.  Loaded with the first lazy module (or the
first of the others), never at ``install()``: the start-up path defines only the finder.
"""

import sys

from lazyhook import _interp, _module, _state
from lazyhook._config import Settings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from lazyhook._refind import Refind


class Wrapper:
    """A real loader, wrapped for one import; gone from view once the module exists:
    ``_unwrap`` puts the real loader back on the spec and the module (``__loader__``,
    ``inspect.getsource``, ``importlib.resources``, pickling).  Anything else asked of it
    before ``exec_module`` (get_code, is_package...) is the real loader's business."""

    __slots__ = ("real",)

    def __init__(self, real: object) -> None:
        self.real = real

    def _unwrap(self, module: "object") -> None:
        module.__spec__.loader = self.real  # type: ignore[attr-defined]
        module.__dict__["__loader__"] = self.real

    def create_module(self, spec: "object") -> "object":
        create = getattr(self.real, "create_module", None)
        return create(spec) if create is not None else None

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)


class Loader(Wrapper):
    """Loader of a lazy import: ``exec_module`` makes the module lazy instead of running it."""

    __slots__ = ("site", "importer", "settings", "refind")

    def __init__(
        self,
        real: object,
        site: "tuple[str, int]",
        importer: "dict[str, object] | None",
        settings: Settings,
    ) -> None:
        super().__init__(real)
        self.site = site
        self.importer = importer  # the importing module's globals (warnings go there)
        self.settings = settings
        self.refind: Refind | None = None  # found while a parent had not run (the finder's)

    def exec_module(self, module: "object") -> None:
        self._unwrap(module)
        if type(module) is not type(sys):
            # create_module() returned its own kind of module object: it did the work itself.
            self.real.exec_module(module)  # type: ignore[attr-defined]
            return
        _module.make_lazy(module, self.real, (self.site, self.importer), self.settings)
        st = _state.pending(module)
        if st is not None:
            st.refind = self.refind


class ParentsFirstLoader(Wrapper):
    """Loader of an eager import whose parent package is still lazy: runs the lazy parents
    first (outermost first), as an eager import of the child would have, in
    ``create_module`` (an extension module's create_module already executes it; outside
    importlib's global lock: only the child's module lock is held)."""

    __slots__ = ("existing", "refind")

    def __init__(self, real: object, refind: "Refind") -> None:
        super().__init__(real)
        self.existing: Existing | None = None
        self.refind = refind

    def create_module(self, spec: "object") -> "object":
        name = spec.name  # type: ignore[attr-defined]
        _state.execute_parents(name, sys._getframe(1))
        self.real = self.refind.loader(name, self.real, spec.origin)  # type: ignore[attr-defined]
        existing = sys.modules.get(name)
        if existing is not None:
            # The parent's body imported this very module (``from .sub import x`` in an
            # __init__): eagerly importlib would now find it in sys.modules and not load it
            # again.  Hand importlib that module, and keep it from running twice.
            self.existing = Existing(existing)
            return existing
        return super().create_module(spec)

    def exec_module(self, module: "object") -> None:
        if self.existing is not None and self.existing.module is module:
            self.existing.exec_module(module)
            return
        self._unwrap(module)
        self.real.exec_module(module)  # type: ignore[attr-defined]


class AfterExec(Wrapper):
    """Loader of an eager import lazyhook must see the end of (``logging.config``: see
    ``_loggers``): the loader it wraps (perhaps a ``ParentsFirstLoader``), then *after*."""

    __slots__ = ("after",)

    def __init__(self, real: object, after: "Callable[[], object]") -> None:
        super().__init__(real)
        self.after = after

    def exec_module(self, module: "object") -> None:
        if isinstance(self.real, Wrapper):  # it puts back the loader it wraps itself
            self.real.exec_module(module)  # type: ignore[operator]
        else:
            self._unwrap(module)
            self.real.exec_module(module)  # type: ignore[attr-defined]
        self.after()


class EagerBody(Wrapper):
    """Loader of a test module unittest's loader imports: its body's imports are eager, as the
    pytest plugin runs a test module's deferred bodies at its collection, so a dependency that
    fails at import is that module's load error (lazily no test that used it: suite passed)."""

    __slots__ = ()

    def exec_module(self, module: "object") -> None:
        self._unwrap(module)
        state = _interp.state  # as lazyhook.eager() does
        state.eager_depth += 1
        try:
            self.real.exec_module(module)  # type: ignore[attr-defined]
        finally:
            state.eager_depth -= 1


class Existing:
    """Loader of a module a lazy parent's body, run by this import, put in ``sys.modules``
    after importlib looked there, where eagerly importlib would have found it (urllib3 under
    ``requests.packages``, an ``__init__``'s ``from .sub import x``): importlib gets that very
    module; its own ``__spec__`` is kept."""

    __slots__ = ("module", "spec")

    def __init__(self, module: object) -> None:
        self.module, self.spec = module, getattr(module, "__spec__", None)

    def create_module(self, spec: object) -> object:
        return self.module

    def exec_module(self, module: object) -> None:
        try:
            module.__spec__ = self.spec  # type: ignore[attr-defined]
        except AttributeError:
            pass


# Frames of these run lazy bodies (see _interp.hide_from_warnings); an eager import's error
# leaves through the two exec_modules, trimmed from tracebacks as importlib's own frames.
_interp.as_importlib(EagerBody.exec_module, ParentsFirstLoader.exec_module, AfterExec.exec_module)
_interp.hide_from_warnings(Loader, ParentsFirstLoader)
