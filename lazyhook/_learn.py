"""Learning an entry: what a module that just ran promises to every later run.

``NameCache.learn`` queues a module with the names its body bound and their values as they
were at the end of its body; ``analyse`` turns that into a ``Stored`` entry at the next flush
(never inside an import: it reads files):

* the star list (``__all__``, if the body defined one and it is a list of identifiers);
* the files that decide the names and where the module's wholesale imports resolved
  (``_deciders.contributors``, from the module's compiled code);
* each name's kind (``classify``) and what decides the kinds (``_deciders.kind_sources``).

Loaded at the first write of the cache, or before a fork or an import blocker (``prepare``).
"""

import sys

from lazyhook import _bytecode, _deciders, _sources

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import CodeType
    from typing import Any

    Learned = tuple[object, tuple[str, ...], dict[str, object], CodeType | None]

# The kinds, one letter each (``_cache`` stores them, ``_bind`` binds by them).
LITERAL = "v"  # bound once, at module level, to a constant: bound as that value
MODULE = "m"  # a module (detail: its __name__): bound as that (lazy) module
EXCEPTION = "e"  # an exception class of the module's own package (detail: builtin base...)
REEXPORT = "x"  # an exception class from elsewhere (detail: module, qualname)
CLASS = "c"  # any other class (detail: the protocol methods of its metaclass)
CALLABLE = "f"  # a function or other callable (detail: its type's protocol methods)
CONTAINER = "d"  # a dict, list, set or bytearray (detail: its protocols)
SCALAR = "s"  # another instance of an exact-type builtin, not a literal (detail: protocols)
OBJECT = "o"  # anything else (detail: the protocol methods its type defines)
FLAG_GETATTR = 1  # the module defines a PEP 562 __getattr__
_TABLED = "cfdso"  # kinds whose detail is a protocol list (stored once per entry, see encode)

_ModuleType = type(sys)
# Exact-type builtins that C code accepts only as themselves (str.strip, open, json.dumps...).
_SCALARS = frozenset({int, float, complex, str, bytes, bool, type(None), tuple, frozenset, range})
_CONTAINERS = frozenset({dict, list, set, bytearray})


def encode(stored: "Any") -> "tuple[Any, ...]":
    """The on-disk form of a ``_cache.Stored`` (typed ``Any``: naming the class, even for the
    type checker only, would make ``_cache`` and this module import each other): names and
    star list as single newline-joined strings (marshal
    then decodes a handful of objects instead of one per name, and splitting is in C),
    and the details as ``(table, refs, special)``: the protocol lists of classes,
    callables and objects repeat (sympy: 940 names, ~40 distinct lists), so each distinct
    one is stored once in *table* and *refs* holds one character per name, its index + 1
    (``"\\0"``: none); the other kinds' details are in *special*, by name.  (A dict of
    940 protocol strings made sympy's entry 121 kB and its check + decode ~1.7 ms.)"""
    star = None if stored.star is None else "\n".join(stored.star)
    table: dict[str, int] = {}
    refs: list[str] = []
    special: dict[str, object] = {}
    for name, kind in zip(stored.names, stored.kinds, strict=True):
        detail = stored.details.get(name)
        if kind in _TABLED and type(detail) is str:
            refs.append(chr(table.setdefault(detail, len(table) + 1)))
            continue
        refs.append("\0")
        if detail is not None:
            special[name] = detail
    details = (tuple(table), "".join(refs), special)
    pack = _deciders.pack
    return ("\n".join(stored.names), star, stored.flags, pack(stored.sources),
            _deciders.pack_deps(stored.deps), stored.kinds, details,
            pack(stored.kind_sources))  # fmt: skip


def analyse(learned: "dict[str, Learned]", make: "Callable[..., Any]") -> "dict[str, Any]":
    """The entries for the modules *learned*, each ``make(names, star, flags, sources, deps,
    kinds, details, kind_sources)`` (``_cache.Stored``); a module that cannot be analysed is
    skipped (simply not cached), with one warning if the reason is not a vanished file."""
    out: dict[str, Any] = {}
    for name, (module, names, values, code) in learned.items():
        try:
            stored = _analyse_one(name, module, names, values, code, make)
        except OSError:
            continue  # its file is gone (a test's temp module): simply not cached
        except Exception as exc:  # noqa: BLE001 - unanalysable: simply don't cache it
            from lazyhook._warn import warn_once

            warn_once(f"analyse:{name}", f"lazyhook could not analyse {name!r}: {exc!r}")
            continue
        if stored is not None:
            out[name] = stored
    return out


def _analyse_one(
    name: str,
    module: object,
    names: "tuple[str, ...]",
    values: "dict[str, object]",
    code: "CodeType | None",
    make: "Callable[..., Any]",
) -> "Any":
    keys = [n for n in names if n in values]
    if any(not (type(k) is str and k.isidentifier()) and not str(k).startswith("_") for k in keys):
        return None  # a public key that is no identifier: star-import can't be reproduced
    keys = [k for k in keys if type(k) is str and k.isidentifier()]
    star = values.get("__all__")
    if star is not None:
        if not isinstance(star, (list, tuple)) or not all(
            type(n) is str and n.isidentifier() for n in star
        ):
            return None  # eager star-import would raise or bind oddly: leave it eager
        star = tuple(star)
    if code is None:
        code = _deciders.code_of(module)  # once: read by contributors and _literals
    sources, deps = _deciders.contributors(name, module, code)
    if not sources or code is None:
        return None
    if star:
        sources += _submodule_dirs(name, star, values, {s[0] for s in sources})
    literals = _literals(name, module, code)
    classes = _bytecode.class_names(code)
    plain = _bytecode.plain_imports(code)
    kinds, details, defining, elsewhere = classify(name, keys, values, literals, classes, plain)
    defining |= _binders(name, module, code, elsewhere) if elsewhere else set()
    deps = sorted(deps + _located(name, module, code, elsewhere, {d[0] for d in deps}))
    kind_sources = _deciders.kind_sources(defining - {name})
    if kind_sources is None:
        return None
    # A file that decides names and kinds alike (a package's star-imported module) is checked
    # once, among the sources.
    stamped = {s[0] for s in sources}
    kind_sources = [s for s in kind_sources if s[0] not in stamped]
    flags = FLAG_GETATTR if "__getattr__" in values else 0
    return make(tuple(keys), star, flags, tuple(sources), tuple(deps), kinds, details,
                tuple(kind_sources))  # fmt: skip


def _submodule_dirs(
    name: str, star: "tuple[str, ...]", values: "dict[str, object]", stamped: "set[str]"
) -> "list[Any]":
    """Stamps of the directories of the package's own submodules its ``__all__`` names: a
    list a package makes from its directory (plugins: ``os.listdir(__path__[0])``) changes
    with a file added or removed there, which changes the directory's mtime."""
    out = []
    for n in star:
        sub, full = values.get(n), f"{name}.{n}"
        if isinstance(sub, _ModuleType) and getattr(sub, "__name__", None) == full:
            origin = _sources.origin_of(sub)
        else:  # not imported yet (the star import's from-list does that after the body)
            origin = _sources.where(full) if n not in values else None
        where = _sources.deciding_dir(full, origin) if origin else ""
        if where and where not in stamped and (now := _deciders.stamp(where)) is not None:
            stamped.add(where)
            out.append(now)
    return out


def _literals(name: str, module: object, code: "CodeType") -> "dict[str, object]":
    """Names bound once to a constant, minus those a submodule of the same name would
    rebind when imported (the import system sets it on the package)."""
    literals = _bytecode.constant_assignments(code)
    if _sources.package_path(module) is not None:
        literals = {n: v for n, v in literals.items() if not _sources.where(f"{name}.{n}")}
    return literals


def classify(
    module_name: str,
    names: "list[str]",
    values: "dict[str, object]",
    literals: "dict[str, object]",
    classes: "set[str]",
    plain: "set[str] | frozenset[str]" = frozenset(),
) -> "tuple[str, dict[str, object], set[str], dict[str, object]]":
    """(one kind letter per name, details by name, the modules defining the values, the
    values no module names as their own: see ``_binders``).  *plain*: names the module's
    code binds by plain import statements (a module or re-export bound otherwise, by
    ``from settings import codec``, is decided by the module that binds it)."""
    from lazyhook._names import protocols_of

    top = module_name.partition(".")[0]
    kinds: list[str] = []
    details: dict[str, object] = {}
    defining: set[str] = set()
    elsewhere: dict[str, object] = {}
    for name in names:
        value = values[name]
        kind, detail, where = _kind(value, name, literals, top, protocols_of)
        if kind == EXCEPTION and where == module_name and name not in classes:
            # Its __module__ names this module, whose code does not define it: a public home
            # set on a class defined elsewhere (pkg._core's PkgError, ``__module__ =
            # "pkg.errors"``), raised by code that never runs this module.
            kind, detail = REEXPORT, (where, getattr(value, "__qualname__", name))
        kinds.append(kind)
        if detail is not None:
            details[name] = detail
        if where:
            defining.add(where)  # (an instance's: its type's module, deciding its protocols)
        if name[:2] == "__" == name[-2:]:  # __builtins__, __spec__: every module has its own
            continue
        if type(value).__module__ == "__future__":
            continue  # ``from __future__ import annotations``: bound alike by every module
        if kind in _BOUND_ELSEWHERE or (kind == CALLABLE and where == type(value).__module__):
            elsewhere[name] = value
        elif kind in _BOUND_BY_NAME and name not in plain:
            elsewhere[name] = value
    return "".join(kinds), details, defining, elsewhere


# Kinds whose value names no module that binds it (a dict, a computed number, an instance:
# its type's module is not where it is bound).  A re-export (``from other import CONFIG``)
# must stamp *other*, or an upgrade turning CONFIG into a function left a stale kind.
_BOUND_ELSEWHERE = "dso"
# Kinds whose detail names the object bound (a re-exported exception class's home): right
# only while whatever binds it binds that one (``from errors import DecodeError`` after
# errors switched from json's to pickle's bound json's for good).  Not for a plain import
# in the module's own code.  (A module is a module stand-in: whatever its binder binds.)
_BOUND_BY_NAME = "x"


def _located(
    own: str, module: object, code: "CodeType", elsewhere: "dict[str, object]", known: "set[str]"
) -> "list[Any]":
    """Where the binders of *own*'s exception classes bound by name resolve, as dependencies:
    a sys.path switch picks another ``errors.py`` (whose stamp still holds).  Not for an
    installed distribution's: its ``RECORD`` decides."""
    named: dict[str, object] = {n: v for n, v in elsewhere.items() if _by_name(v)}
    if not named or _deciders.one_distribution(own.partition(".")[0]):
        return []
    found = _chain_binders(own, module, code, named) - {own} - known
    found = {b for b in found if not _deciders.installed(sys.modules.get(b))}
    return [(b, _deciders.resolved(b)) for b in sorted(found)]


def _by_name(value: object) -> bool:  # the kind bound by its detail: an exception class
    return isinstance(value, type) and issubclass(value, BaseException)


def _binders(own: str, module: object, code: "CodeType", wanted: "dict[str, object]") -> "set[str]":
    """The modules a re-exported value of *own* comes from (``from .settings import CONFIG``,
    names copied from a data-only submodule): each binds one of *wanted*'s names to that very
    object.  Not the consumers that bind it too (a shared settings dict is in hundreds of a
    project's modules: stamping them all made every entry stale at any edit, and learning
    quadratic).  A lazy module's namespace is read without running it."""
    top = own.partition(".")[0]
    if _deciders.one_distribution(top):
        return _installed_binders(top, wanted)
    return _chain_binders(own, module, code, wanted)


def _installed_binders(top: str, wanted: "dict[str, object]") -> "set[str]":
    """*own* is in an installed distribution, whose ``RECORD`` is stamped already: the loaded
    modules of other installed distributions binding one (a project's own modules or the
    standard library cannot be what an installed package takes a value from)."""
    out: set[str] = set()
    names = frozenset(wanted)  # isdisjoint in C first: ~1,400 modules x 300 names took 27 ms
    for name, m in list(sys.modules.items()):
        if name == top or name.startswith(top + "."):
            continue
        d = _namespace(m)
        if (
            d is not None
            and not names.isdisjoint(d)
            and _binds(d, wanted)
            and _deciders.installed(m)
        ):
            out.add(name)
    return out


def _chain_binders(
    own: str, module: object, code: "CodeType", wanted: "dict[str, object]"
) -> "set[str]":
    """The modules *own*'s code imports that bind one, and those their code imports, and so
    on: the import chain a value came along (a project's modules are small to read)."""
    out: set[str] = set()
    seen, todo, budget = {own, "__main__"}, [(module, code)], _CHAIN_BUDGET
    while todo and budget:
        mod, co = todo.pop()
        package = getattr(mod, "__package__", None) or ""
        for name in _bytecode.imported_modules(co, package):
            m = sys.modules.get(name)
            d = _namespace(m) if name not in seen else None
            if d is None:
                continue
            seen.add(name)
            if _binds(d, wanted):
                out.add(name)
                budget -= 1
                sub = _deciders.code_of(m)
                if sub is not None and budget:
                    todo.append((m, sub))
    return out


_CHAIN_BUDGET = 24  # modules read along the chains


def _namespace(module: object) -> "dict[str, object] | None":
    """A module's namespace, read without running a lazy one; None for anything else."""
    if not issubclass(type(module), _ModuleType):
        return None
    return _ModuleType.__getattribute__(module, "__dict__")  # type: ignore[no-any-return]


def _binds(d: "dict[str, object]", wanted: "dict[str, object]") -> bool:
    """Does namespace *d* bind one of *wanted*'s names to that very object?"""
    return any(d.get(n, _binds) is v for n, v in wanted.items())


def _kind(
    value: object, name: str, literals: "dict[str, object]", top: str, protocols_of: object
) -> "tuple[str, object, str | None]":
    """(kind, detail, defining module) of one value (see the letters above)."""
    if name in literals:
        const = literals[name]
        if type(value) is type(const) and (value == const or value != value):
            return LITERAL, value, None
    cls = type(value)
    if isinstance(value, _ModuleType):
        mod_name = getattr(value, "__name__", None)
        if isinstance(mod_name, str) and sys.modules.get(mod_name) is value:
            # Its file decides nothing here: a module stand-in is bound whatever it holds
            # (stamping it made every importer's entry stale at any edit of the module).
            return MODULE, mod_name, None
    elif isinstance(value, type):
        where = getattr(value, "__module__", None)
        where = where if isinstance(where, str) else None
        if issubclass(value, BaseException):
            if where is not None and where != "builtins" and where.partition(".")[0] == top:
                base = next(b for b in value.__mro__ if b.__module__ == "builtins")
                return EXCEPTION, (base.__name__, value.__name__, where), where
            return REEXPORT, (where or "", value.__qualname__), where
        return CLASS, protocols_of(type(value)), where  # type: ignore[operator]
    elif cls in _CONTAINERS:
        return CONTAINER, protocols_of(cls), None  # type: ignore[operator]
    elif cls in _SCALARS:
        return SCALAR, protocols_of(cls), None  # type: ignore[operator]
    if callable(value):
        where = getattr(value, "__module__", None)
        return CALLABLE, protocols_of(cls), where if isinstance(where, str) else None  # type: ignore[operator]
    where = getattr(cls, "__module__", None)
    return OBJECT, protocols_of(cls), where if isinstance(where, str) else None  # type: ignore[operator]


def dead_entries(cache: "Any", sample: int = 64) -> "set[str]":
    """Stored entries whose sources no longer exist, from a rotating sample.

    A write drops them so the file cannot fill up with modules that are gone; sampling bounds
    the cost of a write (~25 us an entry to decode and stat) however large the cache, and over
    successive writes the sample covers every entry.
    """
    import os

    from lazyhook._config import CLOCKS

    keys = cache.store.keys()
    if not keys:
        return set()
    start = int(CLOCKS[1]() * 1e9) % len(keys)  # monotonic (see _config.CLOCKS)
    dead = set()
    for key in (keys[start:] + keys[:start])[:sample]:
        stored = cache.raw(key)
        if stored is not None and not all(os.path.exists(src[0]) for src in stored.sources):
            dead.add(key)
    return dead
