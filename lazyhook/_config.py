"""Settings: ``install()`` arguments, ``LAZYHOOK_*`` variables, defaults, ignore list, cache dir.

One rule for every setting: an argument given to ``install()`` wins; ``None`` takes the
environment variable; failing that, the built-in default.  ``LAZYHOOK_DISABLE=1`` beats
everything and ``LAZYHOOK_EXCLUDE`` is always added.  An invalid environment value warns once
and falls back to the default: it must never stop an interpreter from starting.

This module is on the start-up path: it imports nothing beyond ``os`` and ``sys`` (no ``re``
for pattern checks, no ``platformdirs`` — ~20 ms here — for the cache directory).
"""

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    Filter = Callable[[str | None, str], bool]

# Modules whose import must stay eager, always (exclusion beats any ``include``).  Each is a
# dotted prefix, like a pattern.  Why each one:
IGNORE: frozenset[str] = frozenset(
    {
        # The import system and its helpers: a lazy ``importlib._bootstrap`` broke ``python -m
        # pytest`` in a prototype; runpy/pkgutil/zipimport drive imports on the program's behalf.
        "importlib",
        "runpy",
        "pkgutil",
        "zipimport",
        "_distutils_hack",  # installs a meta path finder for distutils when executed
        "setuptools",  # importing it swaps ``distutils`` in sys.modules (code relies on that)
        "distutils",
        "pkg_resources",  # declares namespace packages as an import side effect
        # Start-up and codec machinery: executed by the interpreter itself, or registering
        # codecs / warning filters that other code relies on without touching the module.
        "__future__",  # hgdemandimport: compiler features, must be real at the statement
        "__main__",  # hgdemandimport: setuptools expects ``from __main__ import x`` to fail early
        "site",
        "sitecustomize",
        "usercustomize",
        "encodings",
        "codecs",
        "warnings",  # applies -W/PYTHONWARNINGS filters when executed
        # Its body records the calling thread as the main thread: executed first from a worker
        # thread, ``threading.main_thread()`` would be wrong for the life of the process.
        "threading",
        # Exists only to give ``weakref`` (and ``threading``, ``_py_abc``) its ``WeakSet``, which
        # ``weakref`` registers with an ABC at import time: deferring it never saves anything,
        # and with lazy names on everywhere (names=True) the ABC rejected the lazy ``WeakSet``
        # ("Can only register classes"), so no pytest run could start (README, "Fidelity").
        "_weakrefset",
        # Imported only for their side effects; a deferred body would never run.
        "this",
        "antigravity",
        "readline",
        "rlcompleter",
        "mpl_toolkits.mplot3d",  # registers the '3d' projection with matplotlib on import
        "sqlalchemy.events",  # hgdemandimport (issue5085): import-time event registration
        "distutils.msvc9compiler",  # hgdemandimport: must fail at import off Windows
        "win32com.gen_py",  # hgdemandimport: generated-code cache probed at import time
        "gtk",  # hgdemandimport: "this trips up many extension authors"
        # lazyhook never defers itself.
        "lazyhook",
    }
)

MODES = ("boundary", "all")


class Settings:
    """The resolved configuration of one ``install()`` call."""

    __slots__ = ("include", "exclude", "mode_all", "filter", "names", "cache_dir")

    def __init__(
        self,
        include: "frozenset[str] | None",
        exclude: "frozenset[str]",
        mode_all: bool,
        filter: "Filter | None",
        names: "bool | str | frozenset[str]",
        cache_dir: str,
    ) -> None:
        self.include = include  # None means "*": every module
        self.exclude = exclude  # includes IGNORE
        self.mode_all = mode_all
        self.filter = filter
        self.names = names  # True, False, "main", or package patterns (plus "main")
        self.cache_dir = cache_dir


def check_pattern(pattern: object) -> str:
    """Return *pattern* if it is ``"*"`` or a dotted module name, else raise ``ValueError``."""
    if isinstance(pattern, str) and (
        pattern == "*" or all(part.isidentifier() for part in pattern.split("."))
    ):
        return pattern
    raise ValueError(f"invalid module pattern {pattern!r}: use a dotted module name or '*'")


def matches(name: str, patterns: "frozenset[str]") -> bool:
    """True if *name* is one of *patterns* or a submodule of one (``"*"`` is not handled here)."""
    if name in patterns:
        return True
    i = name.find(".")
    while i != -1:
        if name[:i] in patterns:
            return True
        i = name.find(".", i + 1)
    return False


def warn_once(cause: str, message: str) -> None:
    # _warn is loaded only when something is wrong: start-up does not pay for it.
    from lazyhook import _warn

    _warn.warn_once(cause, message, stacklevel=4)


def _env_patterns(var: str) -> "frozenset[str] | None":
    value = os.environ.get(var)
    if value is None or not value.strip():
        return None
    try:
        return frozenset(check_pattern(p.strip()) for p in value.split(",") if p.strip())
    except ValueError as exc:
        warn_once(f"env:{var}", f"ignoring {var}={value!r}: {exc}")
        return None


def _patterns(value: "Iterable[str] | str") -> "frozenset[str]":
    if isinstance(value, str):
        value = [value]
    return frozenset(check_pattern(p) for p in value)


def parse_names(value: object) -> "bool | str | frozenset[str]":
    """Normalise a ``names=`` value: True, False, "main", or a set of package patterns."""
    if value is True or value is False or value == "main":
        return value
    if value == "all":
        return True
    if value == "none":
        return False
    if isinstance(value, str):
        value = [p.strip() for p in value.split(",") if p.strip()]
    try:
        pats = _patterns(value)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(f"invalid names={value!r}: use 'main', True, False or patterns") from None
    if "*" in pats:
        return True
    return pats


def default_cache_dir() -> str:
    """The per-user cache directory, computed by hand (``platformdirs`` costs ~20 ms here)."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~\\AppData\\Local")
    elif sys.platform == "darwin":
        base = os.path.expanduser("~/Library/Caches")
    else:
        base = os.environ.get("XDG_CACHE_HOME", "")
        if not os.path.isabs(base):  # the XDG spec says relative values are to be ignored
            base = os.path.expanduser("~/.cache")
    return os.path.join(base, "lazyhook")


def cache_file(cache_dir: str) -> str:
    """The cache file for this interpreter environment inside *cache_dir*.

    Keyed by interpreter tag and ``sys.prefix`` so that two virtual environments (whose
    modules and names differ) never thrash one file.
    """
    # FNV-1a over the prefix: stable across processes, unlike hash(), without hashlib.
    h = 0xCBF29CE484222325
    for byte in os.fsencode(sys.prefix):
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    tag = sys.implementation.cache_tag or sys.implementation.name
    return os.path.join(cache_dir, f"names-{tag}-{h:016x}.lzc")


def resolve(
    include: "Iterable[str] | str | None",
    exclude: "Iterable[str] | str | None",
    mode: "str | None",
    filter: "Filter | None",
    names: object,
    cache_dir: "str | os.PathLike[str] | None",
) -> Settings:
    """Apply the configuration rule; raise ``ValueError`` for a bad *argument*."""
    inc = _patterns(include) if include is not None else _env_patterns("LAZYHOOK_INCLUDE")
    exc = _patterns(exclude) if exclude is not None else frozenset()
    exc = exc | (_env_patterns("LAZYHOOK_EXCLUDE") or frozenset()) | IGNORE
    if mode is None:
        mode = os.environ.get("LAZYHOOK_MODE") or "boundary"
        if mode not in MODES:
            warn_once("env:LAZYHOOK_MODE", f"ignoring LAZYHOOK_MODE={mode!r}: use boundary or all")
            mode = "boundary"
    elif mode not in MODES:
        raise ValueError(f"invalid mode {mode!r}: use 'boundary' or 'all'")
    if filter is not None and not callable(filter):
        raise ValueError("filter must be callable as filter(importer, name) -> bool")
    if names is None:
        env = os.environ.get("LAZYHOOK_NAMES")
        names_v: bool | str | frozenset[str] = "main"
        if env:
            try:
                names_v = parse_names(env)
            except ValueError:
                warn_once("env:LAZYHOOK_NAMES", f"ignoring LAZYHOOK_NAMES={env!r}")
    else:
        names_v = parse_names(names)
    if cache_dir is None:
        cache_dir = os.environ.get("LAZYHOOK_CACHE_DIR") or default_cache_dir()
    return Settings(
        None if inc is None or "*" in inc else inc,
        exc,
        mode == "all",
        filter,
        names_v,
        os.fspath(cache_dir),
    )


def disabled() -> bool:
    """``LAZYHOOK_DISABLE=1`` (or any value but ``0``/empty): install() does nothing."""
    return os.environ.get("LAZYHOOK_DISABLE", "") not in ("", "0")
