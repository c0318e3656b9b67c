"""Which files decide a module's cached names and kinds, their stamps, and where imports go.

A module's names are decided by its own file plus — transitively — the files of the modules
whose names it takes wholesale: ``from m import *`` and ``... = m.__all__`` (read from its
compiled code, so every spelling counts and sourceless modules too).  For each such module the
entry also records *where it resolved* (``dependencies``), including "nowhere" for a star
import inside ``try`` that failed: an entry is valid only while each still resolves there.
The *kinds* of the names (class, function, literal...) are decided by the files that define
their values; inside an installed distribution, its ``RECORD`` file stands for them all (pip
rewrites it on every install or upgrade), so sympy's ~400 files cost one stamp.

A stamp is ``(path, size, mtime_ns, ctime_ns, inode, digest)`` from one ``stat`` plus a
content digest.  Size and mtime must match.  ctime and inode cannot be set back by a user
(``touch -d`` can set mtime back), but they change when a container image is pulled, copied
or ``chmod``-ed: where they differ and size and mtime match, the digest decides — the file is
read once and, if unchanged, the entry is refreshed (``unchanged`` reports it).

Stamps are taken before the import system reads a file: the finder stamps every import it
sees while a body to be learned runs, into ``_config.stamps``.  A file nobody stamped before
it was read (imported before ``install()``, outside such a body, or excluded) is stamped when
recorded, and trusted only if its ctime is older than the process: unlike mtime, nobody can
set ctime back (``tar``, ``cp -p`` and ``rsync -a`` restore an old mtime on new content).
"""

import os
import sys

from lazyhook import _config

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import CodeType

    Stamp = tuple[str, int, int, int, int, int]  # path, size, mtime, ctime, inode, digest
    Dep = tuple[str, str]  # module name, the file it resolves to ("" for nowhere)

# module name -> (path, size, mtime, ctime, inode), taken by the finder before the import
# system read it (the table lives in _config: the finder fills it without loading this file).
stamps = _config.stamps

_MTIME_MARGIN_NS = 1_000_000_000  # file-system timestamp granularity and clock skew
_loaded_ns = _config.LOADED_NS
_start_ns: "list[int]" = []
_where: "dict[str, str]" = {}  # module name -> where it resolves now (memo, per process)


# On disk (``_learn.encode``) stamps and dependencies are packed: marshal decodes, and the
# store's validator walks, 2 objects for all of an entry's stamps instead of 7 per stamp
# (networkx's entry: 201 stamps and 182 dependencies were 1,955 of its 2,430 objects, ~0.6 ms
# in the validator alone).  Stamps: the paths NUL-joined, then the numbers little-endian, a
# column at a time: sizes, mtimes, ctimes and digests as signed 64-bit, then the inodes
# unsigned.  Dependencies: names and files alternating, NUL-joined.  What does not fit is
# stored unpacked, the form earlier versions wrote, which is still read.
_LITTLE_ENDIAN = sys.byteorder == "little"


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


def unpack(value: object) -> "tuple[Stamp, ...] | None":
    """Stamps from their on-disk form (either), or None if *value* is not one."""
    if not (type(value) is tuple and len(value) == 2 and type(value[0]) is str):
        return value if _well_formed(value) else None  # type: ignore[return-value]
    paths, numbers = value
    count = paths.count("\0") + 1 if paths else 0
    if type(numbers) is not bytes or len(numbers) != 40 * count:
        return None
    signed, inodes = _numbers(numbers[: 32 * count], "q"), _numbers(numbers[32 * count :], "Q")
    # zip in C: the columns are exactly *n* long each, by the length check above.
    n = count
    return tuple(zip(paths.split("\0") if n else (), signed[:n], signed[n : 2 * n],
                     signed[2 * n : 3 * n], inodes, signed[3 * n :], strict=True))  # fmt: skip


def _numbers(data: bytes, code: str) -> "list[int]":
    if _LITTLE_ENDIAN:
        return memoryview(data).cast(code).tolist()  # type: ignore[call-overload, no-any-return]
    signed = code == "q"
    return [
        int.from_bytes(data[i : i + 8], "little", signed=signed) for i in range(0, len(data), 8)
    ]


def _well_formed(value: object) -> bool:
    """Is *value* (read from disk) a tuple of well-formed unpacked stamps?"""
    # One flat test per stamp, no inner generator: networkx's entry has ~200 stamps.
    return isinstance(value, tuple) and all(
        type(s) is tuple
        and len(s) == 6
        and type(s[0]) is str
        and type(s[1]) is type(s[2]) is type(s[3]) is type(s[4]) is type(s[5]) is int
        for s in value
    )


def pack_deps(deps: "tuple[Dep, ...]") -> object:
    """The on-disk form of dependencies."""
    if any("\0" in name or "\0" in origin for name, origin in deps):
        return deps
    return "\0".join([part for dep in deps for part in dep])


def unpack_deps(value: object) -> "tuple[Dep, ...] | None":
    """Dependencies from their on-disk form (either), or None if *value* is not one."""
    if type(value) is str:
        parts = value.split("\0") if value else []
        return None if len(parts) % 2 else tuple(zip(parts[0::2], parts[1::2], strict=True))
    if isinstance(value, tuple) and all(
        isinstance(d, tuple) and len(d) == 2 and type(d[0]) is type(d[1]) is str for d in value
    ):
        return value
    return None


_stat = _config.stat_stamp  # the stamp the finder takes, without the digest


def digest(path: str) -> int:
    """The CRC-32 of the file's content, or of a directory's sorted entry names (-1 if it
    cannot be read).  Needed when learning (a write: zlib is loaded for it anyway) and, on
    the read path, only when a file's ctime or inode moved.  (A big-integer digest cost
    ~0.35 ms per 100 kB: ~20 ms for the files of sympy's entries.)"""
    import zlib

    try:
        with open(path, "rb") as f:
            return zlib.crc32(f.read())
    except IsADirectoryError:
        try:
            listing = "\0".join(sorted(os.listdir(path))).encode("utf-8", "surrogateescape")
        except OSError:
            return -1
        return zlib.crc32(listing)
    except OSError:
        return -1


def stamp(path: str, before: "tuple[str, int, int, int, int] | None" = None) -> "Stamp | None":
    """The full stamp of *path* now; None if it cannot be read, or if it changed since
    *before* (a stat taken before the file was read)."""
    now = _stat(path)
    if now is None or (before is not None and now != before):
        return None
    value = digest(path)
    return None if value < 0 or _stat(path) != now else (*now, value)


def unchanged(sources: "tuple[Stamp, ...]") -> "tuple[bool | None, tuple[Stamp, ...]]":
    """(True if every stamp still holds, False if one changed, None if a file is gone;
    the stamps as they are now when some only moved: ctime or inode, same content)."""
    # os.stat inline and the refreshed list built only if something moved: one stat and two
    # comparisons per stamp (networkx's entry: ~200).
    stat, refreshed = os.stat, None
    for k, src in enumerate(sources):
        try:
            st = stat(src[0])
        except OSError:
            return None, ()
        if st.st_size != src[1] or st.st_mtime_ns != src[2]:
            return False, ()
        if st.st_ctime_ns != src[3] or st.st_ino != src[4]:
            if digest(src[0]) != src[5]:
                return False, ()
            if refreshed is None:
                refreshed = list(sources)
            refreshed[k] = (src[0], st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, src[5])
    return True, () if refreshed is None else tuple(refreshed)


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
        origin = _origin(mod)
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
            deps[dep] = (_origin(dep_mod) or "?") if dep_mod is not None else where(dep)
            if dep_mod is not None:
                todo.append((dep, dep_mod, None))
    # The directories that decide where the submodules among them resolve, stamped too: a
    # file or package added, removed or renamed beside one changes its directory's mtime.
    # While they hold, ``resolves`` need not search for those submodules again (networkx: ~180
    # searches, ~15 ms a run, become ~15 stats).
    for directory in sorted({d for n, o in deps.items() if (d := _deciding_dir(n, o))}):
        dir_stamp = stamp(directory)
        if dir_stamp is not None:
            out.append(dir_stamp)
    return out, sorted(deps.items())


def _deciding_dir(name: str, origin: str) -> str:
    """The directory whose entries decide where submodule *name* (found at *origin*)
    resolves; "" for a top-level module (``sys.path`` decides) or one without a file."""
    if "." not in name or origin in ("", "?"):
        return ""
    if _ONE_SEP:  # str methods: ~4x cheaper than os.path's (networkx: 182 calls a lookup)
        parent, _, base = origin.rpartition("/")
        return parent.rpartition("/")[0] if base.startswith("__init__.") else parent
    parent, base = os.path.split(origin)
    return os.path.dirname(parent) if base.startswith("__init__.") else parent


# Learning and checking both use _deciding_dir: an edge case it answers differently from
# os.path ("/" at the root, "a//b") only costs the exact ``where`` check instead.
_ONE_SEP = os.sep == "/" and os.altsep is None


def _origin(module: object) -> "str | None":
    spec = getattr(module, "__spec__", None)
    origin = getattr(spec, "origin", None)
    return origin if isinstance(origin, str) and getattr(spec, "has_location", False) else None


def code_of(module: object) -> "CodeType | None":
    spec = getattr(module, "__spec__", None)
    try:
        code: CodeType | None = spec.loader.get_code(spec.name)  # type: ignore[union-attr]
        return code
    except Exception:  # noqa: BLE001 - a loader without code: not analysable, not cached
        return None


def resolves(deps: "tuple[Dep, ...]", sources: "tuple[Stamp, ...]" = ()) -> bool:
    """Does every dependency still resolve to the file recorded for it ("" = nowhere)?  A
    submodule whose deciding directory is among *sources* (stamps that were found to hold)
    resolves as it did."""
    stamped = {s[0] for s in sources}
    for name, origin in deps:
        if _deciding_dir(name, origin) in stamped:
            continue
        if where(name) != origin:
            return False
    return True


def where(name: str) -> str:
    """The file module *name* would be loaded from now ("" if it would not be found), as the
    import system would find it, without importing anything (memoised per process)."""
    found = _where.get(name)
    if found is not None:
        return found
    module = sys.modules.get(name)
    if module is not None:
        found = _origin(module) or "?"
    else:
        found = _find(name, _parent_path(name))
    _where[name] = found
    return found


def package_path(module: object) -> "Iterable[str] | None":
    """*module*'s ``__path__``, None if it has none, without asking its PEP 562 ``__getattr__``
    (its code: a deprecation shim that warns for any name warned from lazyhook at exit)."""
    try:
        return object.__getattribute__(module, "__path__")  # type: ignore[no-any-return]
    except AttributeError:
        return None


def _parent_path(name: str) -> "list[str] | None":
    """The ``__path__`` the import system would search for *name* (None: top level)."""
    parent = name.rpartition(".")[0]
    if not parent:
        return None
    module = sys.modules.get(parent)
    if module is not None:
        return list(package_path(module) or ())
    found = _paths.get(parent)
    if found is None:
        # The parent's spec says: a regular package's directory, a namespace package's
        # portions (no file of its own to look beside), nothing for a plain module.
        spec = _spec(parent, _parent_path(parent))
        locations = getattr(spec, "submodule_search_locations", None)
        found = _paths[parent] = list(locations) if locations is not None else []
    return found


_paths: "dict[str, list[str]]" = {}  # package name -> its search path (memo, per process)


def _find(name: str, path: "list[str] | None") -> str:
    spec = _spec(name, path)
    if spec is None:
        return ""
    origin = getattr(spec, "origin", None)
    return origin if isinstance(origin, str) and getattr(spec, "has_location", False) else "?"


def _spec(name: str, path: "list[str] | None") -> object:
    # lazyhook's own finder answers None here: this is no import (see LazyFinder._judge).
    for finder in sys.meta_path:
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is None:
            continue
        try:
            spec = find_spec(name, path, None)
        except Exception:  # noqa: BLE001 - a finder that fails here finds nothing
            continue
        if spec is not None:
            return spec
    return None


def kind_sources(modules: "set[str]") -> "list[Stamp] | None":
    """Stamps of the files that decide the kinds of names whose values come from *modules*:
    one ``RECORD`` per installed distribution, else each module's own file.  None if one
    cannot be stamped."""
    out: dict[str, Stamp] = {}
    for mod_name in modules:
        origin = _origin(sys.modules.get(mod_name))
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
    origin = _origin(module)
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
