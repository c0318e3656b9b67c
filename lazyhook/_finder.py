"""The meta path finder: decides which imports are lazy and hands them a lazy loader.

``LazyFinder`` sits first on ``sys.meta_path``.  For an import it decides should be lazy, it
finds the real spec *eagerly* by asking the finders after it (so a missing module still raises
``ModuleNotFoundError`` at the import statement, and pytest's rewriter, editable-install
finders and zipimport keep their loaders), then wraps only the loader: ``create_module`` is the
real one, ``exec_module`` turns the module into a lazy module instead of running its body.

This file is on the start-up path and runs for every import not yet in ``sys.modules``: it
imports only ``sys``/``os``/``_thread`` and the frozen importlib, and loads the code a lazy
module needs (``_module``) only when the first lazy module is created.
"""

import os
import sys
import time
from _thread import _local

from lazyhook._config import Settings, matches

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import CodeType, FrameType

_bootstrap = sys.modules["_frozen_importlib"]
_bootstrap_external = sys.modules["_frozen_importlib_external"]
_ModuleType = type(sys)

# find_spec is a real import only when importlib's _find_and_load_unlocked called _find_spec;
# importlib.util.find_spec(), pkgutil and runpy probe specs too, and must get the plain spec.
_FIND_AND_LOAD_UNLOCKED = getattr(
    getattr(_bootstrap, "_find_and_load_unlocked", None), "__code__", None
)

# Frames of the import machinery itself, walked past to find the code that asked for an import.
# (The frozen modules' globals say "importlib._bootstrap" on 3.11 but "_frozen_importlib" on
# 3.10 and 3.12+.)
_MACHINERY = frozenset(
    {
        "importlib._bootstrap",
        "importlib._bootstrap_external",
        "_frozen_importlib",
        "_frozen_importlib_external",
        "importlib",
    }
)
# Helpers that import on the program's behalf (``python -m pkg.mod`` must execute ``pkg``).
_EAGER_IMPORTERS = frozenset({"runpy", "pkgutil", "lazyhook"})
_EAGER_IMPORTER_PREFIXES = ("lazyhook.",)

# Only loaders that execute the standard way may be deferred: create_module makes a plain
# module and exec_module runs its code, deciding nothing else.  A custom loader may set
# attributes in exec_module or raise ImportError there to say the module does not exist (toolz's
# tlz mirror does both), which must happen at the import statement.
_LOADER_BASICS_EXEC = getattr(getattr(_bootstrap_external, "_LoaderBasics", None), "exec_module", 0)


def _standard(loader: object) -> bool:
    exec_module = getattr(type(loader), "exec_module", None)
    return exec_module is _LOADER_BASICS_EXEC or type(loader).__name__ == "zipimporter"


# The opcodes lazyhook reads at a frame's f_lasti, per tested interpreter: IMPORT_NAME (the
# finder: is this an import statement?), IMPORT_FROM and the star import (lazy modules: is
# this a from-import?), the latter with its oparg since 3.12 made it CALL_INTRINSIC_1(2).  Any
# other version gets no lazy imports at all: guessing opcodes would be worse.
_OPCODES = {
    (3, 10): (108, 109, 84, -1),
    (3, 11): (108, 109, 84, -1),
    (3, 12): (108, 109, 173, 2),
    (3, 13): (75, 74, 55, 2),
}
IMPORT_NAME, IMPORT_FROM, STAR_OP, STAR_ARG = _OPCODES.get(sys.version_info[:2], (-1, -1, -1, -1))
CO_OPTIMIZED = 0x1

# Which import *statements* may be lazy, as PEP 810 draws the line: a module-level (or class
# body, or exec) statement outside any try/with block.  Calls of __import__() and
# importlib.import_module() stay eager (frameworks import to register things, and unittest's
# loader expects SkipTest from the import itself); so do imports in functions, and imports
# inside try (their ImportError must reach the handler).
_guarded: "dict[object, tuple[tuple[int, int], ...]]" = {}


def may_be_lazy(frame: "FrameType") -> bool:
    """True if the import statement *frame* is executing may be deferred."""
    code = frame.f_code
    if code.co_flags & CO_OPTIMIZED:
        return False
    i = frame.f_lasti
    if code.co_code[i] != IMPORT_NAME:
        return False
    ranges = _guarded.get(code)
    if ranges is None:
        if len(_guarded) > 4096:  # exec'd code objects come and go
            _guarded.clear()
        ranges = _guarded[code] = _protected(code)
    for start, end in ranges:
        if start <= i < end:
            return False
    return True


def _protected(code: "CodeType") -> "tuple[tuple[int, int], ...]":
    """Byte ranges of *code* covered by an exception handler (try, with)."""
    if sys.version_info >= (3, 11):
        # The exception table (Objects/exception_handling_notes.txt): varint entries of
        # start, length, target, depth+lasti, in instruction units.
        table = code.co_exceptiontable
        out = []
        pos = 0

        def varint() -> int:
            nonlocal pos
            b = table[pos]
            pos += 1
            value = b & 63
            while b & 64:
                b = table[pos]
                pos += 1
                value = (value << 6) | (b & 63)
            return value

        while pos < len(table):
            start = varint() * 2
            length = varint() * 2
            varint()
            varint()
            out.append((start, start + length))
        return tuple(out)
    # 3.10: SETUP_FINALLY / SETUP_WITH / SETUP_ASYNC_WITH protect [next, target).
    co = code.co_code
    out = []
    ext = 0
    for i in range(0, len(co), 2):
        op, arg = co[i], co[i + 1] | ext
        ext = (arg << 8) if op == 144 else 0  # EXTENDED_ARG
        if op in (122, 143, 154):
            out.append((i + 2, i + 2 + arg * 2))
    return tuple(out)


# The private importlib internals lazy modules rely on (keyed per version in _module.py).  On
# an interpreter without them install() declines with a warning rather than guessing.
SUPPORTED = (
    _FIND_AND_LOAD_UNLOCKED is not None
    and hasattr(_bootstrap, "_ModuleLockManager")
    and hasattr(_bootstrap, "_DeadlockError")
    and hasattr(_bootstrap, "_handle_fromlist")
    and _LOADER_BASICS_EXEC != 0
    and IMPORT_NAME != -1
)

_tls = _local()
# When lazyhook was loaded: files changed after this may have been read in an older version.
LOADED_NS = time.time_ns()


class eager:
    """Context manager: imports started inside it (in this thread) are eager.

    Like hgdemandimport's ``deactivated()``.  Thread-local and re-entrant.  A plain class
    rather than ``contextlib.contextmanager``: contextlib costs ~4 ms to import here.
    """

    __slots__ = ()

    def __enter__(self) -> None:
        _tls.depth = getattr(_tls, "depth", 0) + 1

    def __exit__(self, *exc: object) -> None:
        _tls.depth -= 1


def importer_frame(frame: "FrameType | None") -> "FrameType | None":
    """The first frame at or above *frame* that is not the import machinery's own."""
    f = frame
    while f is not None and f.f_globals.get("__name__") in _MACHINERY:
        f = f.f_back
    return f


def is_main_namespace(name: "str | None") -> bool:
    """True for ``__main__``, the interactive prompt and ``exec``/``eval`` namespaces."""
    return name is None or name == "__main__" or name not in sys.modules


class _Wrapper:
    """A real loader, wrapped for one import; gone from view once the module exists.

    ``_unwrap`` puts the real loader back on the spec and the module (so ``__loader__``,
    ``inspect.getsource``, ``importlib.resources`` and pickling see exactly what they would
    without lazyhook).  Anything else a caller asks of the loader before ``exec_module``
    (get_code, is_package, get_resource_reader...) is the real loader's business.
    """

    __slots__ = ("real",)

    def __init__(self, real: object) -> None:
        self.real = real

    def _unwrap(self, module: "object") -> None:
        module.__spec__.loader = self.real  # type: ignore[attr-defined]
        module.__dict__["__loader__"] = self.real

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)


class _Loader(_Wrapper):
    """Loader of a lazy import: ``exec_module`` makes the module lazy instead of running it."""

    __slots__ = ("site", "settings")

    def __init__(self, real: object, site: "tuple[str, int]", settings: Settings) -> None:
        super().__init__(real)
        self.site = site
        self.settings = settings

    def create_module(self, spec: "object") -> "object":
        return self.real.create_module(spec)  # type: ignore[attr-defined]

    def exec_module(self, module: "object") -> None:
        self._unwrap(module)
        if type(module) is not _ModuleType:
            # create_module() returned its own kind of module object: it did the work itself.
            self.real.exec_module(module)  # type: ignore[attr-defined]
            return
        from lazyhook import _module

        _module.make_lazy(module, self.real, self.site, self.settings)


def _has_lazy_parent(fullname: str) -> bool:
    module = sys.modules.get("lazyhook._module")
    if module is None:
        return False  # no lazy module was ever created in this process
    pending = module.pending_state
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


def _selected(fullname: str, s: Settings) -> bool:
    """Does *fullname* match ``include`` and not ``exclude`` (nor the ignore list)?"""
    if s.include is not None and not matches(fullname, s.include):
        return False
    return not matches(fullname, s.exclude) and "*" not in s.exclude


class _ParentsFirstLoader(_Wrapper):
    """Loader of an eager import whose parent package is still lazy.

    Runs the lazy parents first (outermost first), exactly as an eager import of the child
    would have, in ``create_module``: an extension module's create_module already executes
    it, and this is outside importlib's global lock (only the child's module lock is held).
    """

    __slots__ = ("existing",)

    def __init__(self, real: object) -> None:
        super().__init__(real)
        self.existing: tuple[object, object] | None = None

    def create_module(self, spec: "object") -> "object":
        from lazyhook import _module

        name = spec.name  # type: ignore[attr-defined]
        _module.execute_parents(name, sys._getframe(1))
        existing = sys.modules.get(name)
        if existing is not None:
            # The parent's body imported this very module (``from .sub import x`` in an
            # __init__): eagerly importlib would now find it in sys.modules and not load it
            # again.  Hand importlib that module, and keep it from running twice.
            self.existing = (existing, existing.__spec__)
            return existing
        create = getattr(self.real, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: "object") -> None:
        if self.existing is not None and self.existing[0] is module:
            module.__spec__ = self.existing[1]  # type: ignore[attr-defined]
            return
        self._unwrap(module)
        self.real.exec_module(module)  # type: ignore[attr-defined]


class LazyFinder:
    """First on ``sys.meta_path``: gives lazy loaders to the imports the policy selects.

    ``find_spec`` sees only the module name, never the fromlist, and is consulted only for
    modules not yet in ``sys.modules``: a module imported before ``install()`` (or eagerly
    by anything else first) is never made lazy.  Which imports are lazy:

    * the module matches ``include`` and not ``exclude`` (nor the built-in ignore list);
    * then ``filter(importer, name)`` decides if given, where *importer* is the ``__name__``
      of the code that asked for the import (``None`` for ``exec`` code without one);
    * otherwise ``mode="all"`` makes every such import lazy, and the default
      ``mode="boundary"`` only those crossing a top-level package boundary (or made from
      ``__main__``, the prompt or ``exec`` code), so one package's own modules run in exactly
      their eager order.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # Source stamps taken before the import system reads each file (see _cache).
        self.stamps: dict[str, tuple[str, int, int]] = {}

    def find_spec(
        self, fullname: str, path: "object" = None, target: "object" = None
    ) -> "object | None":
        """Return a spec with a lazy loader for a lazy import, else None (normal import)."""
        if target is not None:
            # importlib.reload(): it executes the module itself; a lazy one must not run twice.
            mod = sys.modules.get("lazyhook._module")
            if mod is not None:
                mod.forget(target)
            return None
        if "." in fullname and _has_lazy_parent(fullname):
            # An import under a parent that is still lazy: if it is to be eager, eagerly the
            # parent would have run first, so make its loader run the parents first.
            caller = sys._getframe(1).f_back
            if caller is None or caller.f_code is not _FIND_AND_LOAD_UNLOCKED:
                return None
            selected = not getattr(_tls, "depth", 0) and _selected(fullname, self.settings)
            spec = self._find_lazy(fullname, path, caller) if selected else None
            if spec is None or type(spec.loader) is not _Loader:  # type: ignore[attr-defined]
                if spec is None:
                    spec = self._delegate(fullname, path)
                if spec is None:
                    return self._after_parents(fullname, path, caller)
                if spec.loader is not None:  # type: ignore[attr-defined]
                    spec.loader = _ParentsFirstLoader(spec.loader)  # type: ignore[attr-defined]
            return spec
        # The cheapest test first: most imports a program makes do not match (measured: the
        # whole non-matching path is ~1 us).
        s = self.settings
        if not _selected(fullname, s):
            return None
        caller = sys._getframe(1).f_back
        if caller is None or caller.f_code is not _FIND_AND_LOAD_UNLOCKED:
            return None
        if getattr(_tls, "depth", 0):
            return None
        return self._find_lazy(fullname, path, caller)

    def _find_lazy(self, fullname: str, path: "object", caller: "object") -> "object | None":
        """For an import *fullname* selected by include/exclude: a spec with a lazy loader if
        it is to be lazy, else None (or a plain spec, stamped for the name cache)."""
        s = self.settings
        frame = importer_frame(caller.f_back)  # type: ignore[attr-defined]
        importer = frame.f_globals.get("__name__") if frame is not None else None
        if importer in _EAGER_IMPORTERS or (
            importer is not None and importer.startswith(_EAGER_IMPORTER_PREFIXES)
        ):
            return None
        if frame is None or not may_be_lazy(frame):
            lazy = False
        elif s.filter is not None:
            try:
                lazy = bool(s.filter(importer, fullname))
            except Exception as exc:  # noqa: BLE001 - a broken filter must not break imports
                from lazyhook._warn import warn_once

                warn_once("filter", f"lazyhook filter raised {exc!r}; importing eagerly")
                lazy = False
        elif s.mode_all or is_main_namespace(importer):
            lazy = True
        else:
            lazy = importer.partition(".")[0] != fullname.partition(".")[0]  # type: ignore[union-attr]
        if not lazy and (s.names is False or not getattr(_tls, "running", 0)):
            # An eager import outside any lazy body: not worth a stat (~3 us each; a cold
            # sympy makes ~600).  If it turns out to feed a name-cache entry, the cache stamps
            # it then, trusting only a file older than the process (see _cache).
            return None
        spec = self._delegate(fullname, path)
        if spec is None:
            return None
        origin = spec.origin  # type: ignore[attr-defined]
        if spec.has_location and isinstance(origin, str):  # type: ignore[attr-defined]
            # Stamp before the import system reads the file (as importlib does for a pyc):
            # an edit landing while the module runs makes a name-cache entry that depends on
            # it stale, never a stale one valid.  ~3 us, and only for imports that matched.
            try:
                st = os.stat(origin)
                self.stamps[fullname] = (origin, st.st_size, st.st_mtime_ns)
            except OSError:
                pass
        if not lazy:
            return spec
        loader = spec.loader  # type: ignore[attr-defined]
        if not _standard(loader):
            return spec
        site = (frame.f_code.co_filename, frame.f_lineno) if frame is not None else ("?", 0)
        spec.loader = _Loader(loader, site, s)  # type: ignore[attr-defined]
        return spec

    def _after_parents(self, fullname: str, path: "object", caller: "FrameType") -> object:
        """Not found under a still-lazy parent: run the parents, then look again.

        A pkgutil/pkg_resources-style namespace package extends its ``__path__`` in its body,
        and eagerly that body has run before the child is searched for.  This runs inside
        importlib's global lock (find_spec is called under it), so only for a child that the
        unextended path does not have.
        """
        from lazyhook import _module

        _module.execute_parents(fullname, caller)
        parent = sys.modules.get(fullname.rpartition(".")[0])
        new_path = getattr(parent, "__path__", None)
        if new_path is None or list(new_path) == list(path or ()):  # type: ignore[call-overload]
            return None
        return self._delegate(fullname, new_path)

    def _delegate(self, fullname: str, path: "object") -> "object | None":
        """The spec the finders after this one would give, or None."""
        meta_path = sys.meta_path
        try:
            start = meta_path.index(self) + 1  # type: ignore[arg-type]
        except ValueError:
            return None
        for finder in meta_path[start:]:
            find_spec = getattr(finder, "find_spec", None)
            if find_spec is None:
                return None  # a legacy finder: let the import system handle it eagerly
            spec = find_spec(fullname, path, None)
            if spec is not None:
                return spec  # type: ignore[no-any-return]
        return None

    def invalidate_caches(self) -> None:
        """Nothing to invalidate: this finder delegates finding to the others."""
