"""Settings and the policy: which imports are lazy, and where from-imports bind lazy names.

One rule for every setting: an argument given to ``install()`` wins; ``None`` takes the
environment variable; failing that, the built-in default.  ``LAZYHOOK_DISABLE`` (or
``PYTHON_LAZY_IMPORTS=none`` / ``-X lazy_imports=none``) beats everything, and
``LAZYHOOK_EXCLUDE`` is always added.  An invalid environment value warns once, naming the
variable, and is ignored: it must never stop an interpreter from starting.

The policy lives here, next to the settings it reads (``Settings.selects``,
``Settings.lazy_import``, ``Settings.binds_names``): the finder asks it for every import it
sees, lazy modules ask it for every from-import.  It decides from names only; what kind of
statement is importing is read from the frame by ``_interp`` and passed in.

This module is on the start-up path: it imports nothing beyond ``os`` and ``sys`` (no ``re``
for pattern checks, no ``platformdirs`` — ~20 ms here — for the cache directory).
"""

import os
import sys
import time

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
        # lazyhook's own ``_module`` registers its reducer of lazy modules in ``copyreg``
        # when the first lazy module is made: ``copyreg`` itself made lazy first (``python -m
        # pickle`` in a bare venv) was still empty then ("partially initialized module").
        # Tiny, importing nothing, and loaded at start-up by most interpreters anyway.
        "copyreg",
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
        # Deprecated standard modules whose body warns for its importer: deferred and never
        # used, the DeprecationWarning eager imports show (pytest's summary, ``-W error``) would
        # never come.  Every one on 3.10-3.13 (tests/test_config.py scans their sources).
        "aifc", "asynchat", "asyncore", "binhex", "cgi", "cgitb", "chunk", "crypt", "imghdr",
        "imp", "lib2to3", "mailcap", "nntplib", "pipes", "smtpd", "sndhdr", "sre_compile",
        "sre_constants", "sre_parse", "sunau", "telnetlib", "tkinter.tix", "uu", "xdrlib",
        # lazyhook never defers itself.
        "lazyhook",
    }
)  # fmt: skip

# Generated modules whose import is a registration that other code reads without touching the
# module: protoc's ``*_pb2`` (and gRPC's ``*_pb2_grpc``, which imports one) add their messages
# to protobuf's default descriptor pool, where ``Any``, JSON conversion and reflection look
# them up by name (lazily: "Couldn't find message").  Matched by the module's last name.
IGNORE_SUFFIXES = ("_pb2", "_pb2_grpc")
MODES = ("boundary", "all")
TRUE = ("1", "true", "yes", "on")  # the spellings of a switch (the .pth line uses them too)
FALSE = ("0", "false", "no", "off", "")

# LAZYHOOK_STRICT_STARTUP: lazy modules resolved before ``startup_finished()`` are reported.
startup = {"finished": False, "strict": False}

# Process-wide tables the start-up path writes and the name cache reads (here: a module of
# their own would cost ~75 us at every start).  When lazyhook was loaded, and the stamp
# ``(path, size, mtime_ns, ctime_ns, inode)`` the finder took of each source it found, before
# the import system read it (``_deciders`` trusts those).
LOADED_NS = time.time_ns()
# The clocks lazyhook reads (perf_counter, monotonic, time, sleep), in a tuple where no patcher
# looks: tests replace time's functions (mock.patch("time.perf_counter", side_effect=[...]);
# freezegun swaps every module attribute bound to one too), and a body run meanwhile must not
# take the program's fake ticks or wait on a frozen clock (freezegun's needs inspect: a lazy
# inspect then ran inside its own first use).  Tests replace this tuple instead.
CLOCKS = (time.perf_counter, time.monotonic, time.time, time.sleep)
stamps: "dict[str, tuple[str, int, int, int, int]]" = {}


def stat_stamp(path: str) -> "tuple[str, int, int, int, int] | None":
    """``(path, size, mtime_ns, ctime_ns, inode)`` from one ``stat``, None if it fails."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (path, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def warn_setting(source: str, message: str) -> None:
    """One ``LazyhookWarning`` per *source* (e.g. ``environment variable LAZYHOOK_MODE``),
    attributed to it: no line of code is to blame.  Never raised, even under ``-W error``
    (see ``_warn``): a bad environment value must not stop an interpreter from starting."""
    # _warn is loaded only when something is wrong: start-up does not pay for it.
    from lazyhook import _warn

    _warn.warn_once(source, message, origin=f"<{source}>")


def is_main_namespace(name: "str | None") -> bool:
    """True for ``__main__``, the interactive prompt and ``exec``/``eval`` namespaces."""
    return name is None or name == "__main__" or name not in sys.modules


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


class Settings:
    """The resolved configuration of one ``install()`` call, and the policy it implies."""

    __slots__ = ("include", "exclude", "mode_all", "filter", "names", "names_exclude", "cache_dir")

    def __init__(
        self,
        include: "frozenset[str] | None",
        exclude: "frozenset[str]",
        mode_all: bool,
        filter: "Filter | None",
        names: "bool | str | frozenset[str]",
        cache_dir: str,
        names_exclude: "frozenset[str]" = frozenset(),
    ) -> None:
        self.include = include  # None means "*": every module
        self.exclude = exclude  # includes IGNORE
        self.mode_all = mode_all
        self.filter = filter
        self.names = names  # True, False, "main", or package patterns (plus "main")
        self.names_exclude = names_exclude  # modules whose names always bind eagerly
        self.cache_dir = cache_dir

    def selects(self, fullname: str) -> bool:
        """Does *fullname* match ``include`` and not ``exclude`` (nor the ignore list)?"""
        if self.include is not None and not matches(fullname, self.include):
            return False
        return not matches(fullname, self.exclude) and not fullname.endswith(IGNORE_SUFFIXES)

    def lazy_import(self, importer: "str | None", fullname: str, declared: bool) -> bool:
        """Is an import *statement* of the selected module *fullname* made in *importer* lazy?

        Called only for module-level statements outside ``try`` (the finder keeps function
        imports, ``try`` blocks and ``__import__()`` calls eager before asking).  *declared*:
        the importer lists the module in ``__lazy_modules__`` (PEP 810); that makes it lazy
        whatever the mode says.
        """
        if declared:
            return True
        if self.filter is not None:
            try:
                return bool(self.filter(importer, fullname))
            except Exception as exc:  # noqa: BLE001 - a broken filter must not break imports
                message = f"lazyhook: the filter raised {exc!r}; importing eagerly"
                warn_setting("lazyhook filter", message)
                return False
        if self.mode_all or is_main_namespace(importer):
            return True
        # Boundary mode: one package's own modules run in exactly their eager order.
        return importer.partition(".")[0] != fullname.partition(".")[0]  # type: ignore[union-attr]

    def binds_names(self, importer: "str | None", module: str, declared: bool) -> bool:
        """May a from-import of lazy *module* made in *importer* bind lazy names?"""
        policy = self.names
        if policy is False or matches(module, self.names_exclude):
            return False
        if is_main_namespace(importer):
            return True
        if declared:
            return True
        if policy is not True and (policy == "main" or not matches(importer, policy)):  # type: ignore[arg-type]
            return False
        if self.filter is not None:
            try:
                return bool(self.filter(importer, module))
            except Exception:  # noqa: BLE001 - lazy_import() already warned about this filter
                return False
        return self.mode_all or importer.partition(".")[0] != module.partition(".")[0]  # type: ignore[union-attr]


def check_pattern(pattern: object) -> str:
    """Return *pattern* if it is ``"*"`` or a dotted module name, else raise ``ValueError``."""
    if isinstance(pattern, str) and (
        pattern == "*" or all(part.isidentifier() for part in pattern.split("."))
    ):
        return pattern
    raise ValueError(f"invalid module pattern {pattern!r}: use a dotted module name or '*'")


def pattern_list(value: "Iterable[str] | str") -> "list[str]":
    """The one parser of pattern lists: a comma-separated string, or an iterable of such
    strings (the CLI's repeated options), in order, without repeats; blank pieces between
    commas are skipped.  ``ValueError`` if a pattern (or a whole item) is invalid or blank."""
    if isinstance(value, str):
        value = [value]
    elif not hasattr(value, "__iter__"):
        raise ValueError(f"invalid module patterns {value!r}: use a string or a list of strings")
    out: dict[str, None] = {}
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"invalid module pattern {item!r}: use a dotted module name or '*'")
        for p in item.split(","):
            if p.strip():
                out[check_pattern(p.strip())] = None
    return list(out)


def patterns(value: "Iterable[str] | str") -> "frozenset[str]":
    """``pattern_list`` as a set."""
    return frozenset(pattern_list(value))


_NAMES_WORDS: "dict[str, bool | str]" = {"main": "main", "all": True, "none": False}


def parse_names(value: object) -> "bool | str | frozenset[str]":
    """Normalise a ``names=`` value: True, False, "main", or a set of package patterns; the
    words in any case and spacing (one rule for ``install()``, ``LAZYHOOK_NAMES``, the CLI)."""
    if value is True or value is False:
        return value
    if isinstance(value, str) and value.strip().lower() in _NAMES_WORDS:
        return _NAMES_WORDS[value.strip().lower()]
    try:
        pats = patterns(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"invalid names={value!r}: use 'main', True, False or patterns") from None
    if "*" in pats:
        return True
    return pats


def _env(var: str) -> "str | None":
    value = os.environ.get(var)
    return value if value is not None and value.strip() else None


def _env_patterns(var: str) -> "frozenset[str] | None":
    value = _env(var)
    if value is None:
        return None
    try:
        return patterns(value)
    except ValueError as exc:
        warn_setting(f"environment variable {var}", f"lazyhook: ignoring {var}: {exc}")
        return None


def _xoption_lazy_imports() -> "tuple[str, str] | None":
    """PEP 810's switch: ``-X lazy_imports=`` (wins, as in CPython) or ``PYTHON_LAZY_IMPORTS``."""
    value = getattr(sys, "_xoptions", {}).get("lazy_imports")
    if isinstance(value, str):
        return value.strip().lower(), "-X lazy_imports"
    env = None if sys.flags.ignore_environment else _env("PYTHON_LAZY_IMPORTS")  # -E, -I
    if env is not None:
        return env.strip().lower(), "PYTHON_LAZY_IMPORTS"
    return None


def _pep810_mode() -> "str | None":
    """'none', 'all' or None (normal, or unset) from PEP 810's switch; warns if invalid."""
    switch = _xoption_lazy_imports()
    if switch is None:
        return None
    value, source = switch
    if value in ("none", "all"):
        return value
    if value != "normal":
        where = source if source.startswith("-X") else f"environment variable {source}"
        warn_setting(where, f"lazyhook: ignoring {source}={value!r}: use none, normal or all")
    return None


def flag(var: str) -> "bool | None":
    """A true/false environment variable: ``1/true/yes/on`` or ``0/false/no/off`` (any case),
    None if unset; anything else warns once and counts as unset."""
    value = os.environ.get(var)
    if value is None:
        return None
    v = value.strip().lower()
    if v in TRUE:
        return True
    if v in FALSE:
        return False
    warn_setting(
        f"environment variable {var}",
        f"lazyhook: ignoring {var}={value!r}: use 1/true/yes/on or 0/false/no/off",
    )
    return None


def disabled() -> bool:
    """``LAZYHOOK_DISABLE`` true, or PEP 810's ``none``: install() does nothing."""
    return bool(flag("LAZYHOOK_DISABLE")) or _pep810_mode() == "none"


def parse_mode(value: object) -> str:
    """``boundary`` or ``all``, any case: one rule for install(), LAZYHOOK_MODE, --mode."""
    if isinstance(value, str) and value.strip().lower() in MODES:
        return value.strip().lower()
    raise ValueError(f"invalid mode {value!r}: use 'boundary' or 'all'")


def _mode(mode: "str | None") -> bool:
    if mode is not None:
        return parse_mode(mode) == "all"
    env = _env("LAZYHOOK_MODE")
    if env is not None:
        if env.strip().lower() in MODES:
            return parse_mode(env) == "all"
        warn_setting(
            "environment variable LAZYHOOK_MODE",
            f"lazyhook: ignoring LAZYHOOK_MODE={env!r}: use boundary or all",
        )
    return _pep810_mode() == "all"


def _names(names: object) -> "bool | str | frozenset[str]":
    if names is not None:
        return parse_names(names)
    env = _env("LAZYHOOK_NAMES")
    if env is not None:
        try:
            return parse_names(env.strip())
        except ValueError:
            warn_setting(
                "environment variable LAZYHOOK_NAMES",
                f"lazyhook: ignoring LAZYHOOK_NAMES={env!r}: use main, all, none or patterns",
            )
    return "main"


def settings_from(
    include: "Iterable[str] | str | None",
    exclude: "Iterable[str] | str | None",
    mode: "str | None",
    filter: "Filter | None",
    names: object,
    cache_dir: "str | os.PathLike[str] | None",
    names_exclude: "Iterable[str] | str | None" = None,
) -> Settings:
    """Apply the configuration rule; raise ``ValueError`` for a bad *argument*."""
    inc = patterns(include) if include is not None else _env_patterns("LAZYHOOK_INCLUDE")
    exc = patterns(exclude) if exclude is not None else frozenset()
    exc = exc | (_env_patterns("LAZYHOOK_EXCLUDE") or frozenset()) | IGNORE
    if "*" in exc:
        inc = frozenset()  # excluding everything: nothing is selected
    if filter is not None and not callable(filter):
        raise ValueError("filter must be callable as filter(importer, name) -> bool")
    if names_exclude is not None:
        names_exc = patterns(names_exclude)
    else:
        names_exc = _env_patterns("LAZYHOOK_NAMES_EXCLUDE") or frozenset()
    if cache_dir is None:
        cache_dir = env_cache_dir() or default_cache_dir()
    elif not isinstance(cache_dir, (str, os.PathLike)):
        raise ValueError(f"cache_dir must be a path, not {cache_dir!r}")
    startup["strict"] = bool(flag("LAZYHOOK_STRICT_STARTUP"))
    return Settings(
        None if inc is None or "*" in inc else inc,
        exc,
        _mode(mode),
        filter,
        _names(names),
        os.fspath(cache_dir),
        names_exc,
    )


def env_cache_dir() -> "str | None":
    """``LAZYHOOK_CACHE_DIR``, ``~`` expanded (a Dockerfile's ``ENV`` does not); a relative
    one warns once and is ignored (each program would have its own in its working directory)."""
    value = _env("LAZYHOOK_CACHE_DIR")
    if value is None:
        return None
    path = os.path.expanduser(value)
    if not os.path.isabs(path):
        warn_setting(
            "environment variable LAZYHOOK_CACHE_DIR",
            f"lazyhook: ignoring LAZYHOOK_CACHE_DIR={value!r}: not an absolute path",
        )
        return None
    return path


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
    """The cache file for this interpreter environment inside *cache_dir*: keyed by tag and
    ``sys.prefix`` (two venvs never thrash one file), and by the optimisation level as pyc
    files are (``-O``: ``if __debug__:`` decides names and kinds; no stamp would see it)."""
    tag = sys.implementation.cache_tag or sys.implementation.name
    opt = f".opt-{sys.flags.optimize}" if sys.flags.optimize else ""
    return os.path.join(cache_dir, f"names-{tag}{opt}-{fnv1a(sys.prefix):016x}.lzc")


def fnv1a(path: str) -> int:
    """A 64-bit FNV-1a hash of *path*: stable across processes, unlike hash(), no hashlib."""
    h = 0xCBF29CE484222325
    for byte in os.fsencode(path):
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h
