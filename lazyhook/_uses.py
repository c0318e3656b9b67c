"""Which names a from-import must bind as the real objects, read from the importing code.

**Which names does it use where only the real object will do?**  ``case C(...)`` patterns
(``match`` demands a type: "called match pattern must be a type"), the argument of a
``register`` method (``ABC.register(C)``: "Can only register classes", checked in C), and the
bases of class statements (``class P(Base)``: a stand-in base, even one whose
``__mro_entries__`` gives the real class, leaves ``__orig_bases__`` on the new class, which
eagerly it has not; an exception stand-in, which is a class, conflicts with an explicit
``metaclass=``): such a class or function is bound, real, at the from-import statement
instead (``real_classes``).  A module-level class statement would run the module a few lines
later anyway.

**Which names does it use as values?**  (``value_used``.)  A class stand-in answers calls,
attribute reads and ``isinstance(x, C)`` as the class does; passed on (``help(C)``), compared
(``type(x) is C``) or stored (an annotation that ``dataclasses``, ``typing`` or a CLI framework
reads later) it is not the class, and it stays behind where it was stored.  A class, or an
object of a star import, that the code uses as a value is bound real, at the statement.

Loaded with the first from-import answered from the name cache (``_module``).
"""

import sys

from lazyhook import _interp

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import CodeType

# code object -> the names its code tree uses where only a real class will do.
_matched: "dict[object, frozenset[str]]" = {}


def real_classes(code: "CodeType") -> "frozenset[str]":
    """Names *code* or any code nested in it loads right before a ``MATCH_CLASS``, passes to
    a ``register`` method or uses in a class statement's bases."""
    found = _matched.get(code)
    if found is None:
        if len(_matched) > 1024:
            _matched.clear()
        names: set[str] = set()
        for c in _tree(code):
            # Each a cheap test first: _bytecode (and ``opcode``) only for code that has one.
            ops = c.co_code[::2]
            if _interp.MATCH_CLASS in ops:
                from lazyhook._bytecode import match_classes

                names.update(match_classes(c))
            if "register" in c.co_names:
                from lazyhook._bytecode import registered

                names.update(registered(c))
            if _interp.LOAD_BUILD_CLASS in ops:
                from lazyhook._bytecode import class_bases

                names.update(class_bases(c))
        found = _matched[code] = frozenset(names)
    return found


class _Every:
    """Contains every name (``value_used`` at an interactive prompt)."""

    __slots__ = ()

    def __contains__(self, name: object) -> bool:
        return True


EVERY = _Every()
_CO_FUTURE_ANNOTATIONS = 0x1000000  # the same flag on 3.10-3.13 (__future__.annotations)
_V311, _V312 = sys.version_info >= (3, 11), sys.version_info >= (3, 12)
_V313 = sys.version_info >= (3, 13)
# code object -> the code objects of its tree; code object -> _uses_ref.value_uses of it.
_trees: "dict[object, tuple[CodeType, ...]]" = {}
_full: "dict[object, frozenset[str]]" = {}


def value_used(code: "CodeType", names: "Iterable[str]") -> "frozenset[str] | _Every":
    """Those of *names* that *code* or any code nested in it uses as values (see
    ``_uses_ref.value_uses``); under ``from __future__ import annotations`` also those named in
    its strings (annotations that ``get_type_hints`` evaluates later).  ``EVERY`` at an
    interactive prompt (``sys.ps1``: the REPL, ``python -i``, IPython and Jupyter set it), whose
    later inputs cannot be seen.

    Only code that names one of *names* is read, each load found with ``bytes.find``: the
    common uses (a call, an attribute) are told here from the instructions around it, without
    loading ``_uses_ref`` and ``opcode`` (~0.7 ms) or walking every instruction (~0.15 ms for
    a small script); other shapes go to ``_uses_ref``."""
    if hasattr(sys, "ps1"):
        return EVERY
    wanted = frozenset(names)
    found: set[str] = set()
    strings = code.co_flags & _CO_FUTURE_ANNOTATIONS
    for c in _tree(code):
        co_names = c.co_names
        for name in wanted.intersection(co_names):
            if name not in found and _used_as_value(c, co_names.index(name), name):
                found.add(name)
        if strings:
            for k in c.co_consts:
                for text in (k,) if type(k) is str else k if type(k) is tuple else ():
                    if type(text) is str:  # 3.12+: a function's annotations as one tuple
                        words = "".join(ch if ch.isalnum() else " " for ch in text).split()
                        found.update(wanted.intersection(words))
    return frozenset(found)


def _tree(code: "CodeType") -> "tuple[CodeType, ...]":
    tree = _trees.get(code)
    if tree is None:
        if len(_trees) > 1024:
            _trees.clear()
        out, todo = [], [code]
        while todo:
            c = todo.pop()
            out.append(c)
            todo.extend(k for k in c.co_consts if hasattr(k, "co_code"))
        tree = _trees[code] = tuple(out)
    return tree


def _used_as_value(code: "CodeType", index: int, name: str) -> bool:
    """Does *code* load the name at *index* of its ``co_names`` as a value anywhere?"""
    co = code.co_code
    patterns = [(_interp.LOAD_NAME, index), (_interp.LOAD_FROM_DICT_OR_GLOBALS, index)]
    patterns += (
        [(_interp.LOAD_GLOBAL, index << 1), (_interp.LOAD_GLOBAL, index << 1 | 1)]
        if (_V311)
        else [(_interp.LOAD_GLOBAL, index)]
    )
    for op, arg in patterns:
        if op < 0:
            continue  # an opcode this version does not have
        if arg > 255:
            return _slow(code, name)  # EXTENDED_ARG: a big code, read instruction by instruction
        pos = co.find(bytes((op, arg)))
        while pos != -1:
            if pos % 2 == 0 and (pos == 0 or co[pos - 2] != _interp.EXTENDED_ARG):
                value = _value_at(code, co, pos)
                if value is None:
                    return _slow(code, name)
                if value:
                    return True
            pos = co.find(bytes((op, arg)), pos + 1)
    return False


def _value_at(code: "CodeType", co: bytes, pos: int) -> "bool | None":
    """Is the load at *pos* a value use: False for an attribute read, a plain call's callee
    (``C(x, y.z, 1)``), ``is_lazy(x)``'s argument or ``isinstance(x, C)``'s class (x a
    variable or constant, with attribute reads); None for a shape left to ``_uses_ref``
    (3.10's calls carry no marker; 3.11+ mark the first load of a callee *expression*, so
    ``C[int]()`` and nested calls need the stack followed)."""
    if co[pos] == _interp.LOAD_FROM_DICT_OR_GLOBALS:
        return True  # 3.12+'s annotation scopes inside a class body: values
    after_pos, after, after_arg = _next(co, pos)
    if after == _interp.LOAD_ATTR or after == _interp.LOAD_METHOD:
        return False
    before = _prev(co, pos)
    if _V311:
        null = (
            co[pos + 1] & 1
            if co[pos] == _interp.LOAD_GLOBAL
            else (after if _V313 else co[before] if before >= 0 else -1) == _interp.PUSH_NULL
        )
        if null:
            return (
                False
                if _plain_call(co, after_pos if _V313 and after == _interp.PUSH_NULL else pos)
                else None
            )
    if after in (_interp.CALL, _interp.CALL_METHOD) and after_arg == 1:
        if _V313 and before >= 0 and co[before] == _interp.PUSH_NULL:
            before = _prev(co, before)
        if before >= 0 and _name(code, co, before) == "is_lazy":
            return False
    if not _V311:
        return None
    if after == _interp.CALL and after_arg == 2:
        return False if _checked_class(code, co, before) else None
    return True


def _plain_call(co: bytes, pos: int) -> bool:
    """3.11+: do simple arguments (variables and constants, with attribute reads) follow the
    instruction at *pos*, then the call that takes exactly them?"""
    count = 0
    pos, op, arg = _next(co, pos)
    while op in _FIRST_ARGS and not (op == _interp.LOAD_GLOBAL and arg & 1):
        count += 1
        pos, op, arg = _next(co, pos)
        while op == _interp.LOAD_ATTR and not (_V312 and arg & 1):
            pos, op, arg = _next(co, pos)
    return op == _interp.CALL and arg == count


def _checked_class(code: "CodeType", co: bytes, pos: int) -> bool:
    """3.11+: is the instruction at *pos* (and attribute reads before it) the first argument
    of ``isinstance``/``issubclass``, loaded right before?"""
    while pos >= 0 and co[pos] == _interp.LOAD_ATTR:
        pos = _prev(co, pos)
    if pos < 0 or co[pos] not in _FIRST_ARGS or co[pos] == _interp.LOAD_GLOBAL and co[pos + 1] & 1:
        return False
    pos = _prev(co, pos)
    if _V313 and pos >= 0 and co[pos] == _interp.PUSH_NULL:
        pos = _prev(co, pos)
    return pos >= 0 and _name(code, co, pos) in ("isinstance", "issubclass")


_FIRST_ARGS = frozenset(
    {
        _interp.LOAD_FAST,
        _interp.LOAD_NAME,
        _interp.LOAD_GLOBAL,
        _interp.LOAD_CONST,
        _interp.LOAD_DEREF,
    }
)


def _next(co: bytes, pos: int) -> "tuple[int, int, int]":
    """(position, opcode, full argument) of the instruction after *pos*: 3.11+'s inline CACHE
    entries skipped, EXTENDED_ARG folded in; (len, -1, 0) at the end."""
    pos += 2
    ext = 0
    while pos < len(co):
        op = co[pos]
        if op == _interp.EXTENDED_ARG:
            ext = (ext | co[pos + 1]) << 8
        elif op or not _V311:
            return pos, op, ext | co[pos + 1]
        pos += 2
    return len(co), -1, 0


def _prev(co: bytes, pos: int) -> int:
    """The position of the instruction before *pos* (3.11+: past inline CACHE entries), -1
    at the start."""
    pos -= 2
    while pos > 0 and co[pos] == 0 and _V311:
        pos -= 2
    return pos


def _name(code: "CodeType", co: bytes, pos: int) -> "str | None":
    """The name a LOAD_NAME / LOAD_GLOBAL / LOAD_ATTR / LOAD_METHOD at *pos* refers to; None
    for another instruction or one with an EXTENDED_ARG prefix (its argument is not the byte
    here: ``myfn`` at index 257 read as ``is_lazy`` at 1)."""
    op, arg = co[pos], co[pos + 1]
    if pos >= 2 and co[pos - 2] == _interp.EXTENDED_ARG:
        return None
    if op == _interp.LOAD_GLOBAL and _V311 or op == _interp.LOAD_ATTR and _V312:
        arg >>= 1
    elif op not in (_interp.LOAD_NAME, _interp.LOAD_ATTR, _interp.LOAD_METHOD):
        return None
    return code.co_names[arg] if arg < len(code.co_names) else None


def _slow(code: "CodeType", name: str) -> bool:
    found = _full.get(code)
    if found is None:
        from lazyhook._uses_ref import value_uses

        if len(_full) > 1024:
            _full.clear()
        found = _full[code] = frozenset(value_uses(code))
    return name in found
