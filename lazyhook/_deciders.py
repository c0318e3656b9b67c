"""Which files decide a module's cached names and kinds, stamped when its body is learned.

A module's names are decided by its own file plus — transitively — the files of the modules
whose names it takes wholesale: ``from m import *`` and ``... = m.__all__`` (read from its
compiled code, so every spelling counts and sourceless modules too).  For each such module the
entry also records *where it resolved* (``dependencies``), including "nowhere" for a star
import inside ``try`` that failed: an entry is valid only while each still resolves there.
The *kinds* of the names (class, function, literal...) are decided by the files that define
their values; inside an installed distribution, its ``RECORD`` file stands for them all (pip
rewrites it on every install or upgrade), so sympy's ~400 files cost one stamp.

Stamps are taken before the import system reads a file: the finder stamps every import it
sees while a body to be learned runs, into ``_config.stamps``.  A file nobody stamped before
it was read (imported before ``install()``, outside such a body, or excluded) is stamped when
recorded, and trusted only if its ctime is older than the process: unlike mtime, nobody can
set ctime back (``tar``, ``cp -p`` and ``rsync -a`` restore an old mtime on new content).
Checking the stamps on later runs is ``_sources``'s.
"""

import os
import sys

from lazyhook import _config, _sources

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import CodeType

    from lazyhook._sources import Dep, Stamp

# module name -> (path, size, mtime, ctime, inode), taken by the finder before the import
# system read it (the table lives in _config: the finder fills it without loading this file).
stamps = _config.stamps

_MTIME_MARGIN_NS = 1_000_000_000  # file-system timestamp granularity and clock skew
_loaded_ns = _config.LOADED_NS
_start_ns: "list[int]" = []
_stat = _config.stat_stamp  # the stamp the finder takes, without the digest


def pack(stamps: "tuple[Stamp, ...]") -> object:
    """The on-disk form of *stamps*."""
    try:
        columns = [
            b"".join(s[i].to_bytes(8, "little", signed=True) for s in stamps)  # type: ignore[union-attr]
            for i in (1, 2, 3, 5)
        ]
        columns.append(b"".join(s[4].to_bytes(8, "little") for s in stamps))
    except OverflowError:
        return stamps
    if any("\0" in s[0] for s in stamps) or (len(stamps) == 1 and not stamps[0][0]):
        return stamps  # not joinable, or not told apart from no stamp at all
    return ("\0".join(s[0] for s in stamps), b"".join(columns))


def pack_deps(deps: "tuple[Dep, ...]") -> object:
    """The on-disk form of dependencies."""
    if any("\0" in name or "\0" in origin for name, origin in deps):
        return deps
    return "\0".join([part for dep in deps for part in dep])


def stamp(path: str, before: "tuple[str, int, int, int, int] | None" = None) -> "Stamp | None":
    """The full stamp of *path* now; None if it cannot be read, or if it changed since
    *before* (a stat taken before the file was read)."""
    now = _stat(path)
    if now is None or (before is not None and now != before):
        return None
    value = _sources.digest(path)
    return None if value < 0 or _stat(path) != now else (*now, value)


def _process_start_ns() -> int:
    """When this process started (Linux: /proc/self's ctime), else when lazyhook loaded."""
    if not _start_ns:
        try:
            start = os.stat(f"/proc/{os.getpid()}").st_ctime_ns
        except OSError:
            start = _loaded_ns
        _start_ns.append(min(start, _loaded_ns))
    return _start_ns[0]


def _settled_stamp(name: str, origin: str) -> "Stamp | None":
    """*origin*'s stamp if its names can be trusted: stamped by the finder before the import
    system read it, or else unchanged (ctime) since before this process started."""
    before = stamps.get(name)
    if before is not None and before[0] == origin:
        return stamp(origin, before)
    now = stamp(origin)
    if now is None or now[3] >= _process_start_ns() - _MTIME_MARGIN_NS:  # ctime: see above
        return None  # may have changed after it was read: a later run learns it
    return now


def contributors(
    name: str, module: object, code: "CodeType | None"
) -> "tuple[list[Stamp], list[Dep]]":
    """Stamps of the files that decide *module*'s names (its own first, then the transitive
    closure of what it takes wholesale), and where each of those imports resolved.

    ``([], [])`` if the names cannot be tied to settled files (then the module is not cached).
    """
    from lazyhook import _bytecode

    out: list[Stamp] = []
    deps: dict[str, str] = {}
    seen: set[str] = set()
    todo: list[tuple[str, object, CodeType | None]] = [(name, module, code)]
    while todo:
        mod_name, mod, mod_code = todo.pop()
        if mod_name in seen:
            continue
        seen.add(mod_name)
        origin = _sources.origin_of(mod)
        if origin is None:
            if mod_name == name:
                return [], []  # no file decides its names: nothing to validate against
            continue
        src = _settled_stamp(mod_name, origin)
        if src is None:
            return [], []
        out.append(src)
        if mod_code is None and (mod_code := code_of(mod)) is None:
            if mod_name == name:
                return [], []
            continue  # an extension module (decimal's _decimal): its file's stamp decides
        for dep in _bytecode.wholesale_imports(mod_code, mod):
            dep_mod = sys.modules.get(dep)
            # Recorded as ``where`` answers when the entry is checked: the file, "?" for a
            # module without one (built-in, frozen), and for one not imported (a star import
            # in ``try`` that failed, or in a branch that did not run: decimal's _pydecimal)
            # where it would be found now, "" for nowhere.
            deps[dep] = resolved(dep)
            if dep_mod is not None:
                todo.append((dep, dep_mod, None))
        # An import in ``try`` or ``with`` decides what the module binds by whether it is
        # found (``try: from ujson import JSONDecodeError`` / ``except ImportError: ...``):
        # installing ujson must make the entry relearn, or it would bind json's for good.
        package = getattr(mod, "__package__", None) or ""
        guarded = _guarded(mod_code)
        for dep in _bytecode.guarded_imports(mod_code, package, guarded):
            deps.setdefault(dep, resolved(dep))
    # The directories that decide where the submodules among them resolve, stamped too: a
    # file or package added, removed or renamed beside one changes its directory's mtime.
    # While they hold, ``resolves`` need not search for those submodules again (networkx: ~180
    # searches, ~15 ms a run, become ~15 stats).  Only under a package with one directory: a
    # pkgutil-style one (``__path__ = extend_path(...)``) takes each submodule from the first
    # of its directories on sys.path, an order no directory's stamp shows.
    dirs = {d for n, o in deps.items() if (d := _sources.deciding_dir(n, o)) and _one_dir(n)}
    for directory in sorted(dirs):
        dir_stamp = stamp(directory)
        if dir_stamp is not None:
            out.append(dir_stamp)
    return out, sorted(deps.items())


def _one_dir(name: str) -> bool:
    """Is submodule *name*'s package searched in one directory only?"""
    path = _sources.package_path(sys.modules.get(name.rpartition(".")[0]))
    return path is not None and len(list(path)) == 1


def resolved(name: str) -> str:
    """Where module *name* resolves now, as ``_sources.where`` answers when checking."""
    module = sys.modules.get(name)
    return (_sources.origin_of(module) or "?") if module is not None else _sources.where(name)


def _guarded(code: "CodeType") -> "Callable[[int], bool]":
    """Is the instruction at an offset of *code* inside ``try`` (or an ``except`` clause) or
    ``with`` (``contextlib.suppress(ImportError)``)?"""
    from lazyhook import _interp

    return lambda offset: any(_interp.guards_at(code, offset))


def code_of(module: object) -> "CodeType | None":
    spec = getattr(module, "__spec__", None)
    try:
        code: CodeType | None = spec.loader.get_code(spec.name)  # type: ignore[union-attr]
        return code
    except Exception:  # noqa: BLE001 - a loader without code: not analysable, not cached
        return None


def kind_sources(modules: "set[str]") -> "list[Stamp] | None":
    """Stamps of the files that decide the kinds of names whose values come from *modules*:
    one ``RECORD`` per installed distribution, else each module's own file.  None if one
    cannot be stamped."""
    out: dict[str, Stamp] = {}
    for mod_name in modules:
        origin = _sources.origin_of(sys.modules.get(mod_name))
        if origin is None:
            continue  # built in, frozen, namespace: its kinds do not change between runs
        path = _record_of(origin)
        if path not in out:
            src = stamp(path) if path != origin else _settled_stamp(mod_name, origin)
            if src is None:
                return None
            out[path] = src
    return sorted(out.values())


# Per site directory: the files the RECORDs read so far list (each with its RECORD), and the
# RECORDs not read yet.  Read one at a time until the file is found, those of distributions
# named like the file's top-level name first: a venv with a hundred distributions (and
# passagemath's RECORDs of thousands of lines) is read whole only for a file none lists.
_listed: "dict[str, dict[str, str]]" = {}
_unread: "dict[str, list[str]]" = {}


def installed(module: object) -> bool:
    """Is *module*'s file listed by an installed distribution's ``RECORD``?"""
    origin = _sources.origin_of(module)
    return origin is not None and _record_of(origin) != origin


def one_distribution(top: str) -> bool:
    """Is top-level package (or module) *top* a regular one of an installed distribution?
    Its ``RECORD`` then stamps every file under it: pip rewrites it on any change there."""
    return installed(sys.modules.get(top))  # not a namespace package: several RECORDs


def _record_of(origin: str) -> str:
    """The RECORD of the installed distribution that lists *origin*, else *origin* itself
    (a file no RECORD lists, which pip would not rewrite it for, is stamped on its own;
    namespace packages, ``ns/a`` and ``ns/b``, have several distributions under one name)."""
    for entry in sys.path:
        if not entry or not origin.startswith(entry + os.sep):
            continue
        rel = origin[len(entry) + 1 :].replace(os.sep, "/")
        top = rel.split("/", 1)[0]
        top = top[:-3] if top.endswith(".py") else top.split(".", 1)[0]
        record = _listing(entry, rel, top)
        if record is not None:
            return record
    return origin


def _listing(site: str, rel: str, top: str) -> "str | None":
    listed = _listed.get(site)
    if listed is None:
        listed = _listed[site] = {}
        try:
            dists = [d for d in os.listdir(site) if d.endswith(".dist-info")]
        except OSError:
            dists = []
        _unread[site] = [os.path.join(site, d, "RECORD") for d in dists]
    unread = _unread[site]
    if rel not in listed and unread:
        # Likely ones last: popped first.
        key = top.lower().replace("-", "_")
        unread.sort(key=lambda r: os.path.basename(os.path.dirname(r)).lower().startswith(key))
    while rel not in listed and unread:
        record = unread.pop()
        try:
            with open(record, encoding="utf-8") as f:
                for line in f:
                    listed.setdefault(line.split(",", 1)[0].replace("\\", "/"), record)
        except OSError:
            continue
    return listed.get(rel)
