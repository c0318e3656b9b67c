"""What a from-import binds for each name of a lazy module, by the kind the cache learned.

A literal is bound as its value, a module as a module stand-in (``_module_names``), an
exception class defined in the module or a submodule as an exception stand-in (at module
level), a class, callable or other object as a stand-in (``_names``); a mutable container or
non-literal builtin value named explicitly makes the module run at the statement (``_NO``),
and so does a module used as a value, an exception class it only re-exports or a class body
binds, and a statement whose names are all literals or modules from elsewhere (nothing it
binds would ever run the module, whose body eagerly ran there).  A star import binds every
name at once (``_bind_star``).

``_module`` asks here once a from-import is known to get lazy names (its module has a valid
entry); loaded with the first such answer.
"""

import sys

from lazyhook import _interp, _reads
from lazyhook._state import ABSENT, LazyState, _pending, execute, names_support, reports

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Container
    from types import CodeType, FrameType, ModuleType

    from lazyhook._cache import Entry

_NO = ABSENT
_PROBE, _STAR = _interp.PROBE, _interp.STAR


def answer(st: LazyState, name: str, how: int) -> object:
    """The from-import answer for *name*, once the statement is known to get lazy names."""
    entry: Entry = st.entry  # type: ignore[assignment]
    if name == "__all__":
        # Answered even for a module that defines none: hasattr(x, '__all__') may then differ
        # before and after execution (documented).
        if how == _PROBE:
            # _handle_fromlist reads __all__ only to import the star names that are not
            # attributes yet (submodules): hand it just those, not ~900 names to probe.
            return [n for n in entry.star if n not in entry.names and n not in st.submodules]
        if how == _STAR:
            return _bind_star(st, entry, st.statement[0])  # type: ignore[index]
        return entry.star_list
    sub = st.submodule(name)
    if sub is not None and name not in entry.names:
        return sub  # a submodule the import system bound on this lazy parent: the same eagerly
    if name in entry.names:
        return _bind(st, entry, name, star=False)
    if how == _PROBE and not entry.has_getattr:
        # Not a name of the module: _handle_fromlist then imports it as a submodule, exactly
        # as it would after executing the module.
        raise AttributeError(name)
    return _NO


def _bind(st: LazyState, entry: "Entry", name: str, star: bool) -> object:
    """What a from-import binds for *name* (``_NO``: run the module at the statement)."""
    made = st.stand_ins.get(name)
    if made is not None and name not in st.real_classes and name not in st.value_uses:
        return made  # (one an earlier statement made: this one may use the name as a value)
    kind = entry.kinds[name]
    detail = entry.details.get(name)
    rep = reports.get(st.name)
    how = "stand-in"
    if kind == "v":  # a literal: the value itself
        value: object = detail
        how = "value"
    elif kind == "m" and (name in st.value_uses or _in_class(st)):
        value = _NO  # a module stand-in used as a value, or never settled (a class body)
    elif kind == "m":  # a module: a stand-in whose use runs m first (_module_names)
        value = _module_stand_ins(st, [name])[0]
        how = "module stand-in"
    elif kind == "x":  # an exception class from elsewhere: the real class if loaded
        value = _loaded_object(detail)
        how = "real object"
    elif kind == "e" and not _defined_within(st.name, detail):
        value = _NO  # a sibling's (sqlalchemy.orm.exc's NoResultFound): see _defined_within
    elif kind == "e" and (name in st.real_classes or name in st.value_uses or _in_class(st)):
        value = _NO  # used as a value; or bound in a class body, never settled (`except A.E`)
    elif kind == "e":
        value = names_support().exception_stand_in(st, name, detail) or _NO
        how = "exception class"
    elif _plain(kind, name, star, st.real_classes, st.value_uses):
        value = names_support().stand_ins(st, [name], kind, detail)[0]
    else:
        value = _NO  # see _plain: the module runs at the statement, the real object is bound
    if value is _NO:
        how = "at the statement"
    elif how in _LAZY:
        st.stand_ins[name] = value
    if rep is not None:
        rep.bound[how] = rep.bound.get(how, 0) + 1
        rep.lazy_names += how in _LAZY
    return value


_LAZY = ("stand-in", "exception class", "module stand-in")  # how lazy names are bound


def _module_stand_ins(st: LazyState, names: "list[str]") -> "list[object]":
    from lazyhook import _module_names  # (with the first module name a from-import binds)

    return _module_names.stand_ins(st, names)


def _in_class(st: LazyState) -> bool:
    """Is *st*'s current from-import statement in a class body?  Names bound there are never
    replaced by the real objects (only module namespaces are), and an exception stand-in
    read as ``Api.Error`` in an ``except`` would never match."""
    if st.statement is None:
        return False
    frame: FrameType | None = st.statement[0]
    if st.statement[2] == _PROBE:  # _handle_fromlist's probe: the statement is its caller's
        frame = _interp.probe_target(frame)  # type: ignore[arg-type]
    return frame is not None and not _interp.module_level(frame.f_code)


def _defined_within(module: str, detail: object) -> bool:
    """Is the exception class of *detail* (builtin base, ``__name__``, ``__module__``) defined
    in *module* or a submodule of it?  Only then can no instance exist before *module* runs
    (a submodule runs its parents first).  One a sibling or parent defines and *module* only
    re-exports (``from sqlalchemy.orm.exc import NoResultFound``, from ``sqlalchemy.exc``) is
    raised by code that never runs *module*: a stand-in would never match it in ``except``."""
    where = detail[2] if isinstance(detail, tuple) and len(detail) == 3 else None
    return isinstance(where, str) and (where == module or where.startswith(module + "."))


def literals_only(st: LazyState, names: "list[str]") -> bool:
    """Are *names* (of a from-import) all literals or modules outside *st*'s module?  Then the
    module runs at the statement: literals would never run it, and module stand-ins for
    modules from elsewhere would defer little (``from compat import json``)."""
    kinds, details, prefix = st.entry.kinds, st.entry.details, st.name + "."  # type: ignore[union-attr]
    return all(
        kinds.get(n) == "v" or (kinds.get(n) == "m" and not str(details.get(n)).startswith(prefix))
        for n in names
    )


def _plain(
    kind: str, name: str, star: bool, match: "frozenset[str]", values: "Container[str]"
) -> bool:
    """Is a name of *kind* bound as an ordinary stand-in?  Functions and classes not used as
    ``case C()`` patterns, passed to ``X.register()``, used as bases (see
    ``_uses.real_classes``) or used as values (``_uses.value_used``: ``help(C)``, an
    annotation such as ``ClassVar``, a callback).  Other objects only in a star import, and
    not used as values: named explicitly, C code needs their exact type (containers, computed
    scalars) or code compares them by identity (``x is UNSET``, the sentinel captured as a
    default)."""
    if name in match or name in values:
        return False
    return kind in "fc" or (star and kind in "ods")


def _loaded_object(detail: object) -> object:
    """The object at (module, qualname) if that module is loaded and has run, else ``_NO``."""
    if not (isinstance(detail, tuple) and len(detail) == 2):
        return _NO
    module = sys.modules.get(detail[0])
    if module is None or id(module) in _pending or "." in detail[1]:
        return _NO
    return getattr(module, detail[1], _NO)


def _bind_star(st: LazyState, entry: "Entry", frame: "FrameType") -> object:
    """A star import reads ``__all__`` and then each name: bind them all at once instead.

    Binds every star name into the statement's namespace and answers an empty ``__all__``, so
    the interpreter's own loop has nothing left to do (measured: ~1.4 us a name through
    getattr, for sympy's 921).  Without ``__all__``, the public submodules the import system
    bound on the module are bound too, as eagerly.  If any name cannot be bound lazily, the
    module runs here and the interpreter binds what it really defines.
    """
    names = list(entry.star)
    if not entry.explicit_star:
        names += [n for n in st.submodules if n[0] != "_" and n not in entry.names]
    if literals_only(st, names):  # also none: nothing would ever run the module
        return _NO
    bound: dict[str, object] = {}  # in the star list's order, as eagerly
    # The common kinds inline (sympy: ~900 of 921 names), grouped by stand-in class and made
    # at the end in C (_names.stand_ins), instead of ~4 us a name through _bind.
    known, kinds, details = entry.names, entry.kinds, entry.details
    made = st.stand_ins
    groups: dict[tuple[str, object], list[str]] = {}  # (kind, detail) -> names
    match, values = st.real_classes, st.value_uses
    for name in names:
        if name not in known:
            value = st.submodule(name)
        else:
            value = made.get(name)
            if value is None:
                kind, detail = kinds[name], details.get(name)
                if kind in "fcods" and name not in match and name not in values:
                    groups.setdefault((kind, detail), []).append(name)
                    bound[name] = None
                    continue
                if kind == "m" and name not in values:
                    groups.setdefault((kind, None), []).append(name)  # _module_names
                    bound[name] = None
                    continue
                value = _bind(st, entry, name, True)
        if value is None or value is _NO:
            return _run_for_star(st, frame)
        bound[name] = value
    support = names_support()
    if not _reads.star_read(frame, [n for g in groups.values() for n in g]) and not (
        _reads.star_read(frame, [n for n, v in bound.items() if _deferred(support, v)])
    ):
        # Nothing reads what would run the module (``main`` the script defines itself is no
        # such name; ``os`` it re-exports is, a module stand-in): for its side effects, it
        # runs here, as eagerly.
        return _run_for_star(st, frame)
    _make_groups(st, support, groups, bound)
    frame.f_locals.update(bound)
    return []


def _make_groups(
    st: LazyState,
    support: "ModuleType",
    groups: "dict[tuple[str, object], list[str]]",
    bound: "dict[str, object]",
) -> None:
    """Make the stand-ins of *groups* ((kind, detail) -> names) and bind them in *bound*."""
    counts = {"stand-in": 0, "module stand-in": 0}
    for (kind, detail), group in groups.items():
        if kind == "m":
            objs = _module_stand_ins(st, group)
            counts["module stand-in"] += len(group)
        else:
            objs = support.stand_ins(st, group, kind, detail)
            counts["stand-in"] += len(group)
        st.stand_ins.update(zip(group, objs, strict=True))
        bound.update(zip(group, objs, strict=True))
    rep = reports.get(st.name)
    for how, n in counts.items():
        if rep is not None and n:
            rep.bound[how] = rep.bound.get(how, 0) + n
            rep.lazy_names += n


def _deferred(support: "ModuleType", value: object) -> bool:
    """Would a use of *value*, bound by a star import, run a module (a lazy one, a stand-in)?"""
    return value is not None and (id(value) in _pending or bool(support.is_unresolved(value)))


def _run_for_star(st: LazyState, frame: "FrameType") -> object:
    """Run the module at the star import, as eagerly, and answer the interpreter's
    ``__all__`` read with what it really exports: its ``__all__``, else its public names.
    (Answering the entry's list bound a name the module, edited or deciding its names at run
    time, no longer defines: an AttributeError in the interpreter's loop.)"""
    execute(st, frame)
    d = st.module.__dict__
    exported = d.get("__all__")
    return exported if exported is not None else [k for k in d if k[:1] != "_"]


def use_checks(
    st: LazyState,
    code: "CodeType",
    pairs: "list[tuple[str, str | None]] | None",
    names: "frozenset[str]",
) -> None:
    """Which of the statement's names its module's code needs real (``_uses``), by the names
    that bind them (``from m import C as K``: ``K``; bound otherwise: a value).  Without the
    statement's names (a star import, a probe): all the entry's, bound as themselves."""
    from lazyhook import _uses

    real, kinds = _uses.real_classes(code), st.entry.kinds  # type: ignore[union-attr]
    if not pairs:
        exceptions = names.intersection(_of_kind(kinds, "e"))
        used = _uses.value_used(code, names, exceptions)
        called = _reads.calls(code, names.intersection(_of_kind(kinds, "m")))
        st.real_classes = real
        st.value_uses = used.union(called) if isinstance(used, frozenset) else used
        return
    exceptions = frozenset(b for n, b in pairs if b is not None and kinds.get(n) == "e")
    used = _uses.value_used(code, [b for _, b in pairs if b is not None], exceptions)
    # A module called (``sub()``): a module stand-in is not callable, a module made callable
    # (``sh``) is, once it ran: such a name is a value, its module runs at the statement.
    called = _reads.calls(code, [b for n, b in pairs if b is not None and kinds.get(n) == "m"])
    st.real_classes = frozenset(n for n, b in pairs if n in real or b in real)
    st.value_uses = (
        used
        if used is _uses.EVERY
        else frozenset(n for n, b in pairs if b is None or b in used or b in called)
    )


def _of_kind(kinds: "dict[str, str]", letter: str) -> "list[str]":
    """The names whose kind is *letter*, found in C (a comprehension over sympy's 940 names
    cost ~0.35 M instructions a statement; importing itertools for compress, ~0.8 M)."""
    keys, letters, out = list(kinds), "".join(kinds.values()), []
    i = letters.find(letter)
    while i >= 0:
        out.append(keys[i])
        i = letters.find(letter, i + 1)
    return out


_interp.hide_module_from_warnings()
