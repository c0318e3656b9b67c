"""Checking a cached entry's stamps, and where imports go: the read side of the cache's truth.

An entry records the files that decided its names and kinds (``_deciders`` takes them when a
body is learned) as stamps, and for each module whose names it took wholesale *where it
resolved*.  The entry is valid only while every stamp holds (``unchanged``) and every such
import still resolves to the same file, or to nowhere (``resolves``, ``where``).

A stamp is ``(path, size, mtime_ns, ctime_ns, inode, digest)`` from one ``stat`` plus a
content digest.  Size and mtime must match.  ctime and inode cannot be set back by a user
(``touch -d`` can set mtime back), but they change when a container image is pulled, copied
or ``chmod``-ed: where they differ and size and mtime match, the digest decides — the file is
read once and, if unchanged, the entry is refreshed (``unchanged`` reports it).

Only what a warm run needs lives here (loading a module costs ~13 us a kilobyte of code on
the warm path); what only learning needs is in ``_deciders``.
"""

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    Stamp = tuple[str, int, int, int, int, int]  # path, size, mtime, ctime, inode, digest
    Dep = tuple[str, str]  # module name, the file it resolves to ("" for nowhere)

_where: "dict[str, str]" = {}  # module name -> where it resolves now (memo, see where())
_seen_path: "list[str]" = []  # sys.path as it was when _where's answers were found


# On disk (``_learn.encode``, ``_deciders.pack``) stamps and dependencies are packed: marshal
# decodes, and the store's validator walks, 2 objects for all of an entry's stamps instead of
# 7 per stamp (networkx's entry: 201 stamps and 182 dependencies were 1,955 of its 2,430
# objects, ~0.6 ms in the validator alone).  Stamps: the paths NUL-joined, then the numbers
# little-endian, a column at a time: sizes, mtimes, ctimes and digests as signed 64-bit, then
# the inodes unsigned.  Dependencies: names and files alternating, NUL-joined.  What does not
# fit is stored unpacked, the form earlier versions wrote, which is still read.
_LITTLE_ENDIAN = sys.byteorder == "little"


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


def digest(path: str) -> int:
    """The CRC-32 of the file's content, or of a directory's sorted entry names (-1 if it
    cannot be read).  Needed when learning (a write: zlib is loaded for it anyway) and, on
    the read path, only when a file's ctime or inode moved.  (A big-integer digest cost
    ~0.35 ms per 100 kB: ~20 ms for the files of sympy's entries.)"""
    from lazyhook._stdlib import module  # (off the warm path: this is rarely needed there)

    crc32: "Callable[[bytes], int]" = module("zlib").crc32
    try:
        with open(path, "rb") as f:
            return crc32(f.read())
    except IsADirectoryError:
        try:
            listing = "\0".join(sorted(os.listdir(path))).encode("utf-8", "surrogateescape")
        except OSError:
            return -1
        return crc32(listing)
    except OSError:
        return -1


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


def deciding_dir(name: str, origin: str) -> str:
    """The directory whose entries decide where submodule *name* (found at *origin*)
    resolves; "" for a top-level module (``sys.path`` decides) or one without a file."""
    if "." not in name or origin in ("", "?"):
        return ""
    if _ONE_SEP:  # str methods: ~4x cheaper than os.path's (networkx: 182 calls a lookup)
        parent, _, base = origin.rpartition("/")
        return parent.rpartition("/")[0] if base.startswith("__init__.") else parent
    parent, base = os.path.split(origin)
    return os.path.dirname(parent) if base.startswith("__init__.") else parent


# Learning and checking both use deciding_dir: an edge case it answers differently from
# os.path ("/" at the root, "a//b") only costs the exact ``where`` check instead.
_ONE_SEP = os.sep == "/" and os.altsep is None


def origin_of(module: object) -> "str | None":
    spec = getattr(module, "__spec__", None)
    origin = getattr(spec, "origin", None)
    return origin if isinstance(origin, str) and getattr(spec, "has_location", False) else None


def resolves(deps: "tuple[Dep, ...]", sources: "tuple[Stamp, ...]" = ()) -> bool:
    """Does every dependency still resolve to the file recorded for it ("" = nowhere)?  A
    submodule whose deciding directory is among *sources* (stamps that were found to hold)
    resolves as it did."""
    stamped = {s[0] for s in sources}
    for name, origin in deps:
        if deciding_dir(name, origin) in stamped:
            continue
        if where(name) != origin:
            return False
    return True


def where(name: str) -> str:
    """The file module *name* would be loaded from now ("" if it would not be found), as the
    import system would find it, without importing anything (memoised while ``sys.path``
    stays as it is: a program inserting a directory must not get the answer from before)."""
    if sys.path != _seen_path:
        _where.clear()
        _paths.clear()
        _seen_path[:] = sys.path
    found = _where.get(name)
    if found is not None:
        return found
    module = sys.modules.get(name)
    if module is not None:
        found = origin_of(module) or "?"
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
