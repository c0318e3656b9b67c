"""lazyhook: lazy imports from interpreter start-up, with a validated, process-safe name cache.

``lazyhook.install()`` puts a meta path finder first on ``sys.meta_path``; matching modules
get lazy loaders, so a module's body runs only when something is first used.  A persistent
name cache lets ``from m import name`` and even ``from m import *`` stay lazy.

This is the whole public API.  It is on the start-up path: importing it and calling
``install()`` loads only ``_config`` and ``_finder`` (no typing, re, importlib.util); the
rest loads when first needed (CONTRIBUTING.md, "Layout").

PYTEST_DONT_REWRITE: lazyhook is often imported at interpreter start-up, before pytest marks
its plugin's package for assertion rewriting; this marker keeps pytest from warning about it.
"""

import sys

from lazyhook import _config, _finder
from lazyhook._finder import LazyFinder, eager

TYPE_CHECKING = False
if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Iterable

    from lazyhook._cache import NameCache
    from lazyhook._warn import LazyhookWarning

__version__ = "0.1.0"
__all__ = [
    "LazyhookWarning",
    "eager",
    "install",
    "is_installed",
    "is_lazy",
    "name_cache",
    "report",
    "resolve",
    "startup_finished",
    "uninstall",
]


def install(
    include: "Iterable[str] | str | None" = None,
    *,
    exclude: "Iterable[str] | str | None" = None,
    mode: "str | None" = None,
    filter: "Callable[[str | None, str], bool] | None" = None,
    names: "bool | str | Iterable[str] | None" = None,
    names_exclude: "Iterable[str] | str | None" = None,
    cache_dir: "str | os.PathLike[str] | None" = None,
) -> None:
    """Make matching imports lazy from now on.

    *include*/*exclude*: module patterns — a dotted name (that module and its submodules) or
    ``"*"``; *exclude* always wins, and a built-in ignore list is always excluded.  *mode*:
    ``"boundary"`` (default: only imports crossing a top-level package boundary, or made from
    ``__main__``/``exec`` code, are lazy) or ``"all"``.  *filter(importer, name) -> bool*
    replaces the mode's decision for matching modules; it sees only modules not yet in
    ``sys.modules`` and never the fromlist.  *names*: where ``from x import y`` may bind lazy
    names — ``"main"`` (default: ``__main__``, the prompt, ``exec`` code), package patterns
    (those packages too), ``True`` (everywhere; risky) or ``False`` (never).  *names_exclude*:
    module patterns whose from-imports always bind the real objects (the module itself may
    still be lazy).  *cache_dir*: the name cache's directory.

    ``None`` takes ``LAZYHOOK_INCLUDE``/``EXCLUDE``/``MODE``/``NAMES``/``NAMES_EXCLUDE``/
    ``CACHE_DIR``, else the default; ``LAZYHOOK_EXCLUDE`` is always added, and
    ``LAZYHOOK_DISABLE=1`` (or PEP 810's ``PYTHON_LAZY_IMPORTS=none``) makes this a no-op.
    Idempotent: a second call reconfigures the one finder.  Raises ``ValueError`` for an
    invalid argument.  On a Python whose import system lazyhook does not know, the finder
    declines at the first import it would judge: one ``LazyhookWarning``, it removes itself,
    and every import stays eager.
    """
    if _config.disabled():
        return
    settings = _config.settings_from(
        include, exclude, mode, filter, names, cache_dir, names_exclude
    )
    for finder in sys.meta_path:
        if isinstance(finder, LazyFinder):
            finder.settings = settings
            return
    import atexit  # built in (~15 us); before the finder, which would judge this import

    atexit.register(_finder.at_exit)  # before the program's handlers: after them at exit
    sys.meta_path.insert(0, LazyFinder(settings))  # type: ignore[arg-type]
    sys.meta_path.append(_finder.NotFoundFinder())  # type: ignore[arg-type]


def _activate(include: "Iterable[str]" = (), exclude: "Iterable[str]" = ()) -> None:
    """What the ``.pth`` line of ``python -m lazyhook enable`` calls at every start-up.

    Not public: it must never stop an interpreter from starting, so any failure becomes one
    ``LazyhookWarning`` on stderr.  ``LAZYHOOK_*`` variables apply as for ``install()``.
    """
    try:
        install(include=list(include) or None, exclude=list(exclude) or None)
    except Exception as exc:  # noqa: BLE001 - start-up must go on whatever happens
        try:
            message = f"lazyhook: activation failed, imports stay eager: {exc!r}"
            _config.warn_setting("lazyhook .pth activation", message)
        except Exception:  # noqa: BLE001
            pass


def uninstall() -> None:
    """Remove the finder.  Lazy modules and names created so far keep working."""
    mine = (LazyFinder, _finder.NotFoundFinder)
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, mine)]


def is_installed() -> bool:
    """True while lazyhook's finder is on ``sys.meta_path``."""
    return any(isinstance(f, LazyFinder) for f in sys.meta_path)


# What other tools bind for a lazy import, by the type's module and name: lazy-importer's
# proxy, lazyload-py's deferred module and CPython 3.15's types.LazyImportType (a builtin
# named "lazy_import").  Recognised by type only, as anything read from lazy-importer's proxy
# (even isinstance()) imports its module, and without importing either package.
_FOREIGN = {
    ("lazy_importer._imports", "_Proxy"): 1,
    ("lazyload._compat", "_DeferredProxy"): 2,
    ("builtins", "lazy_import"): 3,
}


def _foreign(obj: object) -> int:
    """Which of ``_FOREIGN`` *obj* is, 0 for none."""
    cls = type(obj)
    return _FOREIGN.get((cls.__module__, cls.__qualname__), 0)


def is_lazy(obj: object) -> bool:
    """True for a lazy module whose body has not run yet, or an unresolved lazy name (also
    those of lazy-importer, lazyload-py and CPython 3.15's lazy imports)."""
    kind = _foreign(obj)
    if kind == 1:
        # Read past the proxy's __getattribute__: it holds () until resolved.
        return not object.__getattribute__(obj, "_resolved")
    if kind == 2:
        return vars(obj).get("__lazyload_loaded__") is False
    if kind == 3:
        return True  # it stays a lazy_import object wherever it is still bound
    # The finder's hook: None while no lazy module exists, so that asking about ordinary
    # objects never loads the lazy-module code (~0.4 ms).
    lazy = _finder.lazy_support()
    return lazy is not None and lazy.is_lazy(obj)


def resolve(obj: object) -> object:
    """Force a lazy module or lazy name and return the real object (others: *obj* itself).

    A module's failure propagates here, unchanged in type, with the import site noted.  Also
    resolves what lazy-importer (its ``resolve()``), lazyload-py (``_reify()``) and CPython
    3.15 (``types.LazyImportType.resolve()``) bind for a lazy import.
    """
    kind = _foreign(obj)
    if kind == 1:
        obj = sys.modules[type(obj).__module__].resolve(obj)  # lazy_importer.resolve
    elif kind == 2:
        obj = obj._reify()  # type: ignore[attr-defined]
    elif kind == 3:
        obj = obj.resolve()  # type: ignore[attr-defined]
    lazy = _finder.lazy_support()
    return obj if lazy is None else lazy.force(obj)


def startup_finished() -> None:
    """Mark the end of the program's start-up.

    With ``LAZYHOOK_STRICT_STARTUP=1``, a lazy module resolved before this call emits a
    ``LazyhookWarning`` naming it and the line that resolved it.
    """
    _config.startup["finished"] = True


def name_cache(cache_dir: "str | os.PathLike[str] | None" = None) -> "NameCache":
    """The name cache object for *cache_dir* (default: as ``install()`` would choose).

    It offers ``get(module)`` (the entry if valid, else None), ``raw(module)`` (as stored,
    not validated), ``put(module, stored)``, ``learn(module, obj, names, code)``,
    ``invalidate(module)``, ``path``, ``entries()``, ``flush()`` and ``clear()``.
    """
    import os

    from lazyhook import _cache

    if cache_dir is None:
        cache_dir = _config.env_cache_dir() or _config.default_cache_dir()
    return _cache.for_dir(os.fspath(cache_dir))


def __getattr__(name: str) -> object:
    # PEP 562: the warning class lives in _warn, which start-up does not load (~0.1 ms) until
    # something actually warns or asks for the class.
    if name == "LazyhookWarning":
        from lazyhook._warn import LazyhookWarning

        return LazyhookWarning
    raise AttributeError(f"module 'lazyhook' has no attribute {name!r}")


def report() -> "dict[str, object]":
    """What lazyhook did in this process so far (see ``python -m lazyhook report``)."""
    from lazyhook._report import collect

    return collect()
