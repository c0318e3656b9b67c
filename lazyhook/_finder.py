"""The meta path finder: decides which imports are lazy and hands them a lazy loader.

``LazyFinder`` sits first on ``sys.meta_path``.  For an import the policy makes lazy
(``_config.Settings``), it finds the real spec *eagerly* by asking the finders after it (so a
missing module still raises ``ModuleNotFoundError`` at the import statement, and pytest's
rewriter, editable-install finders and zipimport keep their loaders), then wraps only the
loader: ``create_module`` is the real one, ``exec_module`` turns the module into a lazy module
(``_module.make_lazy``) instead of running its body.

On the start-up path, and run for every import not yet in ``sys.modules``: it imports only
``sys`` and ``_config``; what it needs later is kept in documented hooks (module globals
below): ``_interp`` loaded at the first import the policy selects, ``_reads`` at the first it
would make lazy, ``_lazy``/``_st``/``_ld`` (``_module``, ``_state``, ``_loaders``) with the
first lazy module, ``_rf`` (``_refind``) with the first lookup under a still-lazy package.  Its
stamps go to ``_config.stamps`` (read by ``_deciders``).
"""

import sys

from lazyhook import _config
from lazyhook._config import Settings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType, ModuleType

# Hooks: the modules this one uses once they are needed (None until then).  ``_lazy`` being
# None also means "no lazy module exists in this process", which the hot path relies on.
_interp: "ModuleType | None" = None
_lazy: "ModuleType | None" = None
_st: "ModuleType | None" = None
_reads: "ModuleType | None" = None
_ld: "ModuleType | None" = None  # _loaders
_rf: "ModuleType | None" = None  # _refind, with the first lookup under a still-lazy package

# Helpers that import on the program's behalf (``python -m pkg.mod`` must execute ``pkg``).
_EAGER_IMPORTERS = frozenset({"runpy", "pkgutil", "lazyhook"})
_EAGER_IMPORTER_PREFIXES = ("lazyhook.",)


def load_interp() -> "ModuleType":
    global _interp
    if _interp is None:
        from lazyhook import _interp as interp

        _interp = interp
    return _interp


def load_lazy() -> "ModuleType":
    """``_module``, the lazy modules' code, loaded with the first lazy module."""
    global _lazy, _st
    if _lazy is None:
        import lazyhook
        from lazyhook import _module, _state

        _lazy, _st = _module, _state
        _state.body_hooks.append(_logging_ran)
        _watch_loggers()  # logging.config imported before the first lazy module
        # Frames of these run lazy bodies too (see _interp.hide_from_warnings).
        load_interp().hide_from_warnings(LazyFinder, eager, lazyhook.resolve, _stamp, load_lazy)
    return _lazy


def load_loaders() -> "ModuleType":
    """``_loaders``, the loaders this finder hands out, loaded with the first of them (and the
    lazy modules' code with it)."""
    global _ld
    if _ld is None:
        load_lazy()
        from lazyhook import _loaders

        _ld = _loaders
    return _ld


def _load_refind() -> "ModuleType":
    global _rf
    from lazyhook import _refind

    _rf = _refind
    return _refind


def _load_reads() -> "ModuleType":
    global _reads
    from lazyhook import _reads as reads

    _reads = reads
    return reads


def at_exit() -> None:
    """Registered with atexit by the first ``install()``, before the program's own handlers,
    so it runs after them: the handlers lazy bodies registered too late for CPython
    (``_process.at_exit``).  Nothing to do, and nothing loaded (~0.1 ms at every exit),
    unless a body registered one."""
    if _lazy is not None and _lazy.exit_handlers_noted:
        from lazyhook import _process

        _process.at_exit()


_loggers_watched = False  # logging's configuring functions handed to _loggers (or never to be)
_mod_getattr = type(sys).__getattribute__  # a lazy module's __dict__, without running it


def _watch_loggers() -> None:
    """Once lazy modules exist and ``logging.config`` has run, configuring logging must see
    the loggers the pending bodies would have made by now (see ``_loggers``)."""
    global _loggers_watched
    config = sys.modules.get("logging.config")
    if config is None or "DictConfigurator" not in _mod_getattr(config, "__dict__"):
        return  # ~0.05 us an import until then
    _loggers_watched = True  # (the import of _loggers comes through the finder too)
    try:
        from lazyhook import _loggers

        _loggers_watched = _loggers.watch()
    except Exception:  # noqa: BLE001 - an unusual logging: its registry stays as it is
        pass


def _logging_ran(st: object, done: bool) -> None:
    if done and not _loggers_watched and getattr(st, "name", None) == "logging.config":
        _watch_loggers()


def lazy_support() -> "ModuleType | None":
    """``_module`` if any lazy module was ever created in this process, else None."""
    return _lazy


def _stamp(fullname: str, origin: str) -> None:
    """Stamp *origin*, which the import system is about to read for *fullname* (the table is
    ``_config.stamps``, which ``_deciders`` reads: no module to load for it)."""
    now = _config.stat_stamp(origin)
    if now is not None:
        _config.stamps[fullname] = now


class NotFoundFinder:
    """Last on ``sys.meta_path``, asked when no finder found a module (see ``_not_found``)."""

    __slots__ = ()

    def find_spec(self, name: str, path: object = None, target: object = None) -> object:
        if _lazy is None:
            return None  # no lazy module was ever made: nothing deferred could matter
        interp, asked_by = load_interp(), sys._getframe(1).f_back  # an import's _find_spec
        if not _importing(asked_by):  # importlib.util.find_spec(), pkgutil: the plain miss
            return None
        # In try: an optional dependency, at once.  (Made by an extension module's init: as
        # its importer's line, what is pending runs first, as it had eagerly.)
        importer = interp.importer_frame(asked_by)
        if importer is None or interp.state.running or interp.guards(importer)[0]:
            return None
        try:
            from lazyhook import _not_found
        except ImportError:  # imports blocked (pip's audit hook): nothing is pending then
            return None
        spec = _not_found.find_spec(self, sys._getframe(1), name, path, target)
        existing = sys.modules.pop(name, None)  # a body run there imported it: see _not_found
        return spec if existing is None else _existing_spec(name, existing)


class eager:
    """Context manager: imports started inside it (in this thread) are eager.  Like
    hgdemandimport's ``deactivated()``; thread-local, re-entrant; no contextlib (~4 ms)."""

    __slots__ = ()

    def __enter__(self) -> None:
        load_interp().state.eager_depth += 1

    def __exit__(self, *exc: object) -> None:
        load_interp().state.eager_depth -= 1


def _importing(caller: "FrameType | None") -> bool:
    interp = _interp or load_interp()
    return caller is not None and caller.f_code is interp.FIND_AND_LOAD_UNLOCKED


def _existing_spec(fullname: str, module: object) -> object:
    interp = _interp or load_interp()
    return interp._bootstrap.ModuleSpec(fullname, (_ld or load_loaders()).Existing(module))


class LazyFinder:
    """First on ``sys.meta_path``: gives lazy loaders to the imports the policy selects.

    ``find_spec`` sees only the module name, never the fromlist, and is consulted only for
    modules not yet in ``sys.modules``: a module imported before ``install()`` (or eagerly by
    anything else first) is never made lazy.  An import is lazy when the module matches
    ``include`` and not ``exclude`` (nor the built-in ignore list), the importing code is a
    module-level import statement outside ``try`` (``with`` only when declared in
    ``__lazy_modules__``), and the policy (``Settings.lazy_import``) says so.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def find_spec(
        self, fullname: str, path: "object" = None, target: "object" = None
    ) -> "object | None":
        """Return a spec with a lazy loader for a lazy import, else None (normal import)."""
        if target is not None:
            # importlib.reload(): it executes the module itself; a lazy one must not run twice.
            if _st is not None:
                _st.forget(target)
            return None
        if _lazy is not None and not _loggers_watched:
            _watch_loggers()
            if fullname == "logging.config" and not _loggers_watched:
                return self._logging_config(path, sys._getframe(1).f_back)
        if _st is not None and "." in fullname and _st.has_pending_parent(fullname):
            return self._under_lazy_parent(fullname, path, sys._getframe(1).f_back)
        existing = sys.modules.get(fullname)
        if existing is not None and _importing(sys._getframe(1).f_back):
            # An import past its sys.modules check: reading a lazy parent's __path__ ran it
            # (_module._path_for_child).  importlib.util.find_spec() gets a file's spec, as
            # eagerly, even for a module the parent's body imported.
            return _existing_spec(fullname, existing)
        # The cheapest test first: most imports a program makes do not match (measured: the
        # whole non-matching path is ~1 us).
        if not self.settings.selects(fullname):
            return None
        return self._judge(fullname, path, sys._getframe(1).f_back)

    def _logging_config(self, path: "object", caller: "FrameType | None") -> "object | None":
        """``logging.config``, imported while lazy modules exist: its body's end must be seen
        (see ``_loggers``).  Lazy by the policy, the body hook sees it; imported eagerly (in a
        function, under ``eager()``, not selected), its loader calls ``_watch_loggers`` after
        it has run."""
        name = "logging.config"
        if not _importing(caller):  # importlib.util.find_spec(), pkgutil: the real loader
            return None
        if _st is not None and _st.has_pending_parent(name):
            spec = self._under_lazy_parent(name, path, caller)
        else:
            spec = self._judge(name, path, caller) if self.settings.selects(name) else None
        ld = _ld or load_loaders()
        if spec is not None and type(spec.loader) is ld.Loader:  # type: ignore[attr-defined]
            return spec
        spec = spec or self._delegate(name, path)
        if spec is not None and spec.loader is not None:  # type: ignore[attr-defined]
            spec.loader = ld.AfterExec(spec.loader, _watch_loggers)  # type: ignore[attr-defined]
        return spec

    def _judge(self, fullname: str, path: "object", caller: "FrameType | None") -> "object | None":
        """A selected import: a spec with a lazy loader if it is to be lazy, else None (or a
        plain spec, stamped for the name cache while a body to be learned runs)."""
        interp = _interp or load_interp()
        if not interp.SUPPORTED:
            self._decline()
            return None
        if caller is None or caller.f_code is not interp.FIND_AND_LOAD_UNLOCKED:
            return None  # importlib.util.find_spec(), pkgutil, runpy: not an import
        if interp.state.eager_depth:
            return None
        frame = interp.importer_frame(caller.f_back, made=True)
        importer = frame.f_globals.get("__name__") if frame is not None else None
        if importer == "unittest.loader":  # a test module (see _loaders.EagerBody)
            spec = self._delegate(fullname, path)
            if spec is not None and interp.standard_loader(spec.loader):  # type: ignore[attr-defined]
                spec.loader = (_ld or load_loaders()).EagerBody(spec.loader)  # type: ignore[attr-defined]
            return spec
        if importer in _EAGER_IMPORTERS or (
            importer is not None and importer.startswith(_EAGER_IMPORTER_PREFIXES)
        ):
            return None
        lazy = frame is not None and self._lazy_statement(interp, frame, importer, fullname)
        if not lazy and (self.settings.names is False or not interp.state.learning):
            # An eager import outside any body being learned: not worth a stat (~3 us each; a
            # cold sympy makes ~600).  If it turns out to feed a name-cache entry, the cache stamps
            # it then, trusting only a file unchanged since the process began (see _deciders).
            return None
        return self._lazy_spec(interp, fullname, path, frame if lazy else False)

    def _lazy_spec(
        self, interp: "ModuleType", fullname: str, path: "object", frame: "FrameType | bool"
    ) -> "object | None":
        """The real spec, stamped, its loader wrapped unless *frame* is False (an eager import
        stamped for the name cache); *frame* is the importing code."""
        spec = self._delegate(fullname, path)
        if spec is None:
            return None
        origin = spec.origin  # type: ignore[attr-defined]
        if spec.has_location and isinstance(origin, str):  # type: ignore[attr-defined]
            # Stamp before the import system reads the file (as importlib does for a pyc): an
            # edit landing while the module runs makes a name-cache entry that depends on it
            # stale, never a stale one valid.  ~3 us, and only for imports that matched.
            _stamp(fullname, origin)
        loader = spec.loader  # type: ignore[attr-defined]
        if frame is False or not interp.standard_loader(loader):
            return spec
        site = (frame.f_code.co_filename, frame.f_lineno)  # type: ignore[union-attr]
        importer = frame.f_globals  # type: ignore[union-attr]
        ld = _ld or load_loaders()
        spec.loader = ld.Loader(loader, site, importer, self.settings)  # type: ignore[attr-defined]
        return spec

    def _lazy_statement(
        self, interp: "ModuleType", frame: "FrameType", importer: "str | None", fullname: str
    ) -> bool:
        """Is the import statement running in *frame* one the policy makes lazy?"""
        settings = self.settings
        # Without a filter or a declaration the policy does not depend on the statement's
        # shape: ask it once, before reading the exception table or the importer's code (a
        # package's own imports in boundary mode, ~600 while sympy runs, stop here).
        plain = settings.filter is None and "__lazy_modules__" not in frame.f_globals
        if plain and not settings.lazy_import(importer, fullname, False):
            return False
        kind = interp.import_kind(frame)
        if kind != interp.STATEMENT and kind != interp.IN_WITH:
            return False  # functions, try blocks, __import__() calls: eager, as PEP 810 has it
        declared = not plain and (_reads or _load_reads()).declared_lazy(frame)
        if kind == interp.IN_WITH and not declared:
            # with contextlib.suppress(ImportError) / warnings.catch_warnings(): the block is
            # there for what the import does at the statement.
            return False
        if not plain and not settings.lazy_import(importer, fullname, declared):
            return False
        if interp.prompt_input(frame.f_code):
            return True  # later inputs read it (see _reads), without loading that
        reads = _reads or _load_reads()
        module = reads.from_import_module(frame)
        if (
            module is not None
            and (module == fullname or module.startswith(fullname + "."))
            and not settings.binds_names(importer, module, declared)
        ):
            # ``from json import dumps`` where no lazy name is bound: reading ``dumps`` runs
            # json at the statement anyway, so lazy would only add its bookkeeping (measured:
            # 77 vs 42 us for a small module).  The from-list's submodules are judged alone.
            return False
        # Declared lazy (PEP 810) is the program's own word; otherwise eager: an import whose
        # names its module never reads, one inside an import a handler may catch (see _reads).
        lazy = declared or (reads.bindings_read(frame, fullname) and not reads.caught_above(frame))
        return lazy and not reads.called(frame)  # (a module called: see _reads.called)

    def _decline(self) -> None:
        from lazyhook._warn import warn_once

        sys.meta_path[:] = [f for f in sys.meta_path if f is not self]  # type: ignore[comparison-overlap]
        version = sys.version.split()[0]
        message = f"lazyhook does not support Python {version}'s import system; it has"
        warn_once("unsupported", message + " removed itself and every import stays eager",
                  origin="lazyhook")  # fmt: skip

    def _under_lazy_parent(
        self, fullname: str, path: "object", caller: "FrameType | None"
    ) -> "object | None":
        """An import under a still-lazy parent: an eager one runs the parents first."""
        interp = _interp or load_interp()
        if caller is None or caller.f_code is not interp.FIND_AND_LOAD_UNLOCKED:
            return None
        cache = sys.path_importer_cache
        fresh = [p for p in path or () if p not in cache]  # type: ignore[attr-defined]
        spec = self._judge(fullname, path, caller) if self.settings.selects(fullname) else None
        # Found before the parents ran: asked again once they have (see _refind.Refind).
        ld, rf = _ld or load_loaders(), _rf or _load_refind()
        lazy = spec is not None and type(spec.loader) is ld.Loader  # type: ignore[attr-defined]
        if spec is None:
            spec = self._delegate(fullname, path)
        if fresh:  # the path finder's cache entries this made, before the parents' hooks
            rf.note_lookup(fullname, fresh)
        if lazy:
            spec.loader.refind = rf.Refind(fullname, (LazyFinder, NotFoundFinder))  # type: ignore[attr-defined]
            return spec
        if spec is None:
            return self._after_parents(fullname, path, caller)
        if spec.loader is not None:  # type: ignore[attr-defined]
            refind = rf.Refind(fullname, (LazyFinder, NotFoundFinder))
            spec.loader = ld.ParentsFirstLoader(spec.loader, refind)  # type: ignore[attr-defined]
        return spec

    def _after_parents(self, fullname: str, path: "object", caller: "FrameType") -> object:
        """Not found under a still-lazy parent: run the parents, then look again (a
        pkgutil-style namespace package extends its ``__path__`` in its body, which eagerly
        has run by then).  Inside importlib's global lock: only for a child not found."""
        load_lazy()
        _st.execute_parents(fullname, caller)  # type: ignore[union-attr]
        # A parent's body put it there (``sys.modules["p.virt"] = m``): out again, or importlib,
        # seeing it there only now, would load a second copy from that module's own spec.
        existing = sys.modules.pop(fullname, None)
        if existing is not None:
            return _existing_spec(fullname, existing)
        parent = sys.modules.get(fullname.rpartition(".")[0])
        new_path = getattr(parent, "__path__", None)
        if new_path is None or list(new_path) == list(path or ()):  # type: ignore[call-overload]
            return None
        return self._delegate(fullname, new_path)

    def _delegate(self, fullname: str, path: "object") -> "object | None":
        """The spec the finders after this one would give, or None."""
        meta_path = sys.meta_path
        try:
            start = meta_path.index(self)  # type: ignore[arg-type]
        except ValueError:
            return None
        for finder in meta_path[start + 1 :]:
            find_spec = getattr(finder, "find_spec", None)
            if find_spec is None:
                return None  # a legacy finder: let the import system handle it eagerly
            spec = find_spec(fullname, path, None)
            if spec is not None:
                return spec  # type: ignore[no-any-return]
        return None

    def invalidate_caches(self) -> None:
        """Nothing to invalidate: this finder delegates finding to the others."""
