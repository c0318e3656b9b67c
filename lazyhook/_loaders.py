"""The loaders the finder hands out: a real loader wrapped for one import.

``Loader`` makes the module lazy instead of running it (``_module.make_lazy``);
``ParentsFirstLoader`` runs a still-lazy parent first for an eager import of its child;
``EagerBody`` runs a test module unittest imports with its own imports eager; ``Existing``
hands importlib a module that is already there.  Loaded with the first lazy module (or the
first of the others), never at ``install()``: the start-up path defines only the finder.
"""

import sys

from lazyhook import _execute, _interp, _module
from lazyhook._config import Settings

_mod_getattr = type(sys).__getattribute__


def _machinery() -> "tuple[tuple[object, ...], tuple[object, ...]]":
    return tuple(sys.meta_path), tuple(sys.path_hooks)


_started: "dict[int, tuple[tuple[object, ...], tuple[object, ...]]]" = {}
changed_by: "set[str]" = set()  # packages whose body changed sys.meta_path or sys.path_hooks
# Path-finder cache entries that lookups under a still-lazy package made (package -> (key,
# finder)): eagerly they were made after its body ran, through the path hooks it installed.
_made_under: "dict[str, list[tuple[str, object]]]" = {}


def pending_parents(name: str) -> "list[str]":
    """The parent packages of module *name* that have not run yet."""
    parts = name.split(".")[:-1]
    names = [".".join(parts[: i + 1]) for i in range(len(parts))]
    return [n for n in names if _execute.pending(sys.modules.get(n)) is not None]


def note_lookup(name: str, fresh: "list[str]") -> None:
    """The finder looked *name* up under still-lazy packages; *fresh*: the path entries that
    had no path-finder cache entry before."""
    made = [(p, sys.path_importer_cache[p]) for p in fresh if p in sys.path_importer_cache]
    for parent in pending_parents(name) if made else ():
        _made_under.setdefault(parent, []).extend(made)


def body_hook(st: "_execute.LazyState", done: bool) -> None:
    """The hook ``_execute`` calls around each lazy body (under its module lock): a child's
    ``Refind`` is applied before its body, and a package's body that changes the machinery
    that finds modules is noted (from its first attempt: a retry finds its hook in place)."""
    if not done:
        refind, st.refind = st.refind, None
        if isinstance(refind, Refind):
            refind.apply(st)
        if "__path__" in _mod_getattr(st.module, "__dict__"):
            _started.setdefault(id(st), _machinery())
        return
    before = _started.pop(id(st), None)
    made = _made_under.pop(st.name, ())
    if before is None or before == _machinery():
        return
    changed_by.add(st.name)
    for key, finder in made:  # made without the hooks this body installed: made again
        if sys.path_importer_cache.get(key) is finder:
            del sys.path_importer_cache[key]


class Refind:
    """Eagerly the finders are asked for a submodule after its parents' bodies ran, so a
    package whose ``__init__`` installs an import hook for its own submodules (beartype's
    ``beartype_this_package()``, a path hook or a meta path finder) gets them instrumented.
    A spec found while a parent was still lazy is asked for again once the parents ran, if
    one of their bodies changed ``sys.meta_path`` or ``sys.path_hooks`` (the program's own
    changes after the import do not count: eagerly they came too late): a loader of another
    kind for the same file that creates modules as the first one did replaces it (a
    different file, none, or another kind of module object is left alone: the module object
    exists already).  *skip*: lazyhook's own finders."""

    __slots__ = ("parents", "skip")

    def __init__(self, name: str, skip: "tuple[type, ...]") -> None:
        self.parents = pending_parents(name)
        self.skip = skip

    def loader(self, name: str, found: object, origin: object) -> object:
        """The loader for module *name* (found before: *found*, for file *origin*) now."""
        if not any(p in changed_by for p in self.parents):
            return found  # no parent's body changed what finds modules: the same answer
        parent = sys.modules.get(name.rpartition(".")[0])
        path = getattr(parent, "__path__", None)
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            if isinstance(finder, self.skip) or find_spec is None:
                continue
            try:
                spec = find_spec(name, path, None)
            except Exception:  # noqa: BLE001 - a finder's failure: keep what was found
                return found
            if spec is not None:
                return self._usable(spec, found, origin)
        return found

    @staticmethod
    def _usable(spec: object, found: object, origin: object) -> object:
        new = getattr(spec, "loader", None)
        if new is None or type(new) is type(found) or not hasattr(new, "exec_module"):
            return found
        create = getattr(type(new), "create_module", None)
        if getattr(spec, "origin", None) != origin or create is not getattr(
            type(found), "create_module", None
        ):
            return found  # another file, or another kind of module object
        return new

    def apply(self, st: "_execute.LazyState") -> None:
        """Run *st*'s body with the loader found now (its parents have run)."""
        d = _mod_getattr(st.module, "__dict__")  # still lazy: read past its class
        spec = d.get("__spec__")
        new = self.loader(st.name, st.loader, getattr(spec, "origin", None))
        if new is not st.loader and spec is not None:
            st.loader = spec.loader = d["__loader__"] = new


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

    def create_module(self, spec: "object") -> "object":
        return self.real.create_module(spec)  # type: ignore[attr-defined]

    def exec_module(self, module: "object") -> None:
        self._unwrap(module)
        if type(module) is not type(sys):
            # create_module() returned its own kind of module object: it did the work itself.
            self.real.exec_module(module)  # type: ignore[attr-defined]
            return
        _module.make_lazy(module, self.real, (self.site, self.importer), self.settings)
        st = _execute.pending(module)
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
        _execute.execute_parents(name, sys._getframe(1))
        self.real = self.refind.loader(name, self.real, spec.origin)  # type: ignore[attr-defined]
        existing = sys.modules.get(name)
        if existing is not None:
            # The parent's body imported this very module (``from .sub import x`` in an
            # __init__): eagerly importlib would now find it in sys.modules and not load it
            # again.  Hand importlib that module, and keep it from running twice.
            self.existing = Existing(existing)
            return existing
        create = getattr(self.real, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: "object") -> None:
        if self.existing is not None and self.existing.module is module:
            self.existing.exec_module(module)
            return
        self._unwrap(module)
        self.real.exec_module(module)  # type: ignore[attr-defined]


class EagerBody(Wrapper):
    """Loader of a test module unittest's loader imports: its body's imports are eager, as the
    pytest plugin runs a test module's deferred bodies at its collection, so a dependency that
    fails at import is that module's load error (lazily no test that used it: suite passed)."""

    __slots__ = ()

    def create_module(self, spec: "object") -> "object":
        create = getattr(self.real, "create_module", None)
        return create(spec) if create is not None else None

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
_interp.as_importlib(EagerBody.exec_module, ParentsFirstLoader.exec_module)
_interp.hide_from_warnings(Loader, ParentsFirstLoader)
_execute.body_hooks.append(body_hook)
