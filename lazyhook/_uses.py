"""Which names a from-import must bind as the real objects, read from the importing code.

**Where only the real object will do:** ``case C(...)`` patterns (``match`` demands a type),
the argument of a ``register`` method (``ABC.register(C)``, checked in C) and the bases of
class statements (a stand-in base leaves ``__orig_bases__`` on the new class; an exception
stand-in conflicts with an explicit ``metaclass=``): such a class or function is bound real
at the from-import statement (``real_classes``); a class statement would run it soon anyway.

**Used as values** (``value_used``): a stand-in answers calls, attribute reads and
``isinstance(x, C)`` as its object does; passed on (``help(C)``), compared (``type(x) is C``)
or stored (an annotation ``dataclasses`` reads later) it is not the object, and it stays
where it was stored.  A name the code uses as a value is bound real, at the statement.

Loaded with the first from-import answered from the name cache (``_module``).
"""

import sys

from lazyhook import _interp as _I  # (short: the opcode tables below read it many times)
from lazyhook._reads import loads as _loads
from lazyhook._reads import next_instruction as _next
from lazyhook._reads import tree as _tree

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import CodeType

_matched: "dict[object, frozenset[str]]" = {}  # code -> names its tree needs real classes of


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
            if _I.MATCH_CLASS in ops:
                from lazyhook._bytecode import match_classes

                names.update(match_classes(c))
            if "register" in c.co_names:
                from lazyhook._bytecode import registered

                names.update(registered(c))
            if _I.LOAD_BUILD_CLASS in ops:
                from lazyhook._bytecode import class_bases

                names.update(class_bases(c))
        found = _matched[code] = frozenset(names)
    return found


class _Every:
    """Contains every name (``value_used`` of code whose namespace unseen code reads)."""

    __slots__ = ()

    def __contains__(self, name: object) -> bool:
        return True


EVERY = _Every()
_CO_FUTURE_ANNOTATIONS = 0x1000000  # the same flag on 3.10-3.13 (__future__.annotations)
_V311, _V312, _V313 = (sys.version_info >= (3, v) for v in (11, 12, 13))


def value_used(
    code: "CodeType", names: "Iterable[str]", exceptions: "frozenset[str]" = frozenset()
) -> "frozenset[str] | _Every":
    """Those of *names* that *code* or any code nested in it uses as values (see
    ``_uses_ref.value_uses``), or names in strings that may be evaluated in its namespace
    later (``_string_names``).  Names in *exceptions* (bound as exception stand-ins, which are
    classes) may be raised and caught (``raise E``, ``except (A, E)``); any other name used
    there is a value (a stand-in of a star-imported instance or tuple is not an exception).
    ``EVERY`` when code the analysis cannot see reads the namespace: a prompt (``sys.ps1``;
    ``python -i``), or what *code* hands ``globals()``, ``locals()`` or ``vars()`` to.
    Common shapes are told from the instructions around each load (``bytes.find``); only
    other shapes load ``_uses_ref`` and ``opcode`` (~0.7 ms in a fresh process)."""
    if hasattr(sys, "ps1") or sys.flags.inspect:
        return EVERY
    wanted = frozenset(names)
    found: set[str] = set()
    for c in _tree(code):
        co_names = c.co_names
        if not _namespace_kept(c):
            from lazyhook._uses_ref import namespace_handed_on  # opcode: only for such code

            if namespace_handed_on(c):
                return EVERY
        for name in wanted.intersection(co_names):
            i, exc = co_names.index(name), name in exceptions
            if name not in found and _used_as_value(c, i, name, exc):
                found.add(name)
        found.update(_string_names(c, wanted))
    return frozenset(found)


def _string_names(code: "CodeType", wanted: "frozenset[str]") -> "set[str]":
    """Those of *wanted* named in *code*'s string constants that may be evaluated in its
    namespace later: under ``from __future__ import annotations`` any string's; else those
    of doctest examples (``>>>``: ``doctest.testmod()``), of annotations and of type-like
    strings (``_annotations``, read only when a string names one of *wanted*: ~0.4 ms)."""
    strings = _strings.get(code)
    if strings is None:
        if len(_strings) > 4096:
            _strings.clear()
            _places.clear()
        strings = _strings[code] = _string_words(code)
    found: set[str] = set()
    for i, always, texts in strings:
        for text, words in texts:
            hit = wanted.intersection(words)
            if hit and not always:
                places = _places.get(code)
                if places is None:
                    places = _places[code] = _annotations(code)
                if i not in places[0] and not (i in places[1] and _type_like(text)):
                    continue
            found.update(hit)
    return found


def _string_words(code: "CodeType") -> "list[tuple[int, bool, list[tuple[str, list[str]]]]]":
    """(constant index, counts wherever it is, [(text, its identifiers)]) of *code*'s string
    constants and tuples of them, import fromlists left out."""
    every = bool(code.co_flags & _CO_FUTURE_ANNOTATIONS)
    fromlists = _fromlists(code)
    out = []
    for i, k in enumerate(code.co_consts):
        # (3.12+: a function's annotations are one tuple of strings; a tuple may hold anything)
        texts = [
            t for t in ((k,) if type(k) is str else k if type(k) is tuple else ()) if type(t) is str
        ]
        if texts and i not in fromlists:
            always = every or any(">>>" in t for t in texts)
            out.append((i, always, [(t, t.translate(_NOT_WORD).split()) for t in texts]))
    return out


def _annotations(code: "CodeType") -> "tuple[set[int], set[int]]":
    """(constants *code* loads in annotations, constants that may name types): a variable's
    (stored into ``__annotations__``) or function's annotation (the tuple ``MAKE_FUNCTION``
    takes), whatever it holds (``"Annotated[Item, Field(description='x')]"``); strings passed
    to a call or subscripting a generic or capitalised name, resolved by name by typing,
    pydantic and ORMs (``list["Day"]``, ``TypeVar("T", bound="Day")``, ``NamedTuple("P",
    [("d", "Day")])``, ``relationship("Day")``; counted if type-like).  Not a key,
    ``d["Day"]``, nor an operand, ``n == "Day"``: those would bind ``Day`` real for nothing."""
    co, names, consts = code.co_code, code.co_names, code.co_consts
    strict: set[int] = set()
    typed: set[int] = set()
    pending: list[int] = []  # strings loaded since the last instruction no annotation has
    generic = False  # the latest name loaded is a generic or capitalised one
    key = -1  # the constant the previous instruction loaded
    pos, op, arg = _next(co, -2)
    while op >= 0:
        if op == _I.LOAD_CONST and type(consts[arg]) in (str, tuple):
            if _next(co, pos)[1] not in _OPERATORS:
                pending.append(arg)
        elif op == _I.BUILD_TUPLE:
            after = _next(co, pos)
            if after[1] == _I.LOAD_CONST and hasattr(consts[after[2]], "co_code"):
                strict.update(pending)
        elif op == _I.LOAD_NAME and names[arg] == "__annotations__":
            strict.update(pending)
        elif op in _CALLS or op == _I.BINARY_SUBSCR and generic:
            typed.update(pending)
        elif op == _I.BINARY_SUBSCR and pending and pending[-1] == key:
            pending.pop()  # a key (``g["Day"]``), not passed on to an enclosing call
        elif op in _NAMED:  # the latest name decides: ``g["Day"]`` after ``f(Item)`` is not
            name = _name(code, co, pos) or ""
            if name[:1].isupper() or name in _GENERICS:
                generic = True
            elif name not in _NEUTRAL:
                generic = False
        if op not in _ANNOTATION_OPS:
            pending.clear()
            generic = False
        key = arg if op == _I.LOAD_CONST else -1
        pos, op, arg = _next(co, pos)
    return strict, typed


def _type_like(text: str) -> bool:
    return (text[:1].isupper() or "[" in text) and _annotation_like(text)


def _fromlists(code: "CodeType") -> "set[int]":
    """The constants *code* loads as an import's names (``LOAD_CONST fromlist; IMPORT_NAME``):
    strings, but never evaluated (counted, they made every from-imported name under ``from
    __future__ import annotations`` a value)."""
    co, found = code.co_code, set()
    pos = co.find(_I.IMPORT_NAME)
    while pos >= 0:
        if pos % 2 == 0 and pos >= 2 and co[pos - 2] == _I.LOAD_CONST:
            found.add(_I.oparg(co, pos - 2)[0])
        pos = co.find(_I.IMPORT_NAME, pos + 1)
    return found


def _annotation_like(text: str) -> bool:
    t = text.replace(", ", ",").replace(" | ", "|")
    return 0 < len(t) <= 200 and not t[0].isdigit() and not set(t) - _ANNOTATION_CHARS


_strings: "dict[object, list[tuple[int, bool, list[tuple[str, list[str]]]]]]" = {}
_places: "dict[object, tuple[set[int], set[int]]]" = {}
_NOT_WORD = {c: " " for c in range(128) if not (chr(c).isalnum() or chr(c) == "_")}
_ANNOTATION_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.[],|'\""
)


def _used_as_value(code: "CodeType", index: int, name: str, exc: bool) -> bool:
    """Does *code* load the name at *index* of its ``co_names`` as a value anywhere?"""
    co = code.co_code
    found = _loads(co, index)
    uses = [_value_at(code, co, pos, exc) for pos in found] if found is not None else [None]
    if True in uses:
        return True
    if None not in uses:
        return False
    from lazyhook._uses_ref import used_as_value  # a shape only the full read tells

    return used_as_value(code, name, exc)


def _namespace_kept(code: "CodeType") -> bool:
    """Is every ``globals``, ``locals`` or ``vars`` *code* loads called and read from
    (``globals().get(k)``, ``list(globals().values())``) or given an object (``vars(args)``,
    common in scripts), so ``_uses_ref`` need not look whether it is handed on?"""
    co, names = code.co_code, code.co_names
    for name in ("globals", "locals", "vars"):
        found = _loads(co, names.index(name)) if name in names else ()
        for pos in found if found is not None else [-1]:
            pos, op, arg = _next(co, pos) if pos >= 0 else (0, -1, 0)
            if op == _I.PUSH_NULL:  # 3.13: after a LOAD_NAME
                pos, op, arg = _next(co, pos)
            if name == "vars" and op in _ARGUMENT_LOADS:
                continue
            if op != _I.CALL or arg:
                return False
            pos, op, _ = _next(co, pos)
            if op == _I.CALL_DONE:  # 3.11: PRECALL, CALL
                pos, op, _ = _next(co, pos)
            if op != _I.LOAD_ATTR and op != _I.LOAD_METHOD:
                return False
    return True


def _value_at(code: "CodeType", co: bytes, pos: int, exc: bool) -> "bool | None":
    """Is the load at *pos* a value use: False for an attribute read (not of ``OWN_READS``),
    a raised or caught exception class (*exc*), a callee whose arguments ``_plain_call``
    follows, ``is_lazy(x)``'s argument or ``isinstance(x, C)``'s class; None for a shape left
    to ``_uses_ref`` (3.10's calls carry no marker; 3.11+'s ``C[int]()`` needs the stack)."""
    if co[pos] == _I.LOAD_FROM_DICT_OR_GLOBALS:
        return True  # 3.12+'s annotation scopes inside a class body: values
    after_pos, after, after_arg = _next(co, pos)
    if after == _I.LOAD_ATTR or after == _I.LOAD_METHOD:
        attr = _name(code, co, after_pos)  # None: an EXTENDED_ARG prefix, left to _uses_ref
        return None if attr is None else attr in OWN_READS
    if _V311 and _raised_or_caught(co, after_pos, after, after_arg):
        return not exc
    before = _prev(co, pos)
    if _V311:
        null = (
            co[pos + 1] & 1
            if co[pos] == _I.LOAD_GLOBAL
            else (after if _V313 else co[before] if before >= 0 else -1) == _I.PUSH_NULL
        )
        if null:
            return (
                False
                if _plain_call(co, after_pos if _V313 and after == _I.PUSH_NULL else pos)
                else None
            )
    if after in (_I.CALL, _I.CALL_METHOD) and after_arg == 1:
        if _V313 and before >= 0 and co[before] == _I.PUSH_NULL:
            before = _prev(co, before)
        if before >= 0 and _name(code, co, before) == "is_lazy":
            return False
    if not _V311:
        return None
    if after == _I.CALL and after_arg == 2:
        return False if _checked_class(code, co, before) else None
    return True


def _plain_call(co: bytes, pos: int) -> bool:
    """3.11+: is the callee loaded at *pos* (with its NULL) taken by its own call, every
    instruction up to it pushing that call's arguments (loads, attribute reads, nested calls,
    subscripts, operators, tuples, lists: ``C(a, key=f(b))``)?  Any other instruction, or one
    that takes the callee itself (``C[int]()``), leaves the shape to ``_uses_ref``."""
    depth = 2  # the callee and its NULL
    while True:
        pos, op, arg = _next(co, pos)
        if op in _LOADS:
            pops, pushes = 0, 1
        elif op == _I.LOAD_GLOBAL:
            pops, pushes = 0, 1 + (arg & 1)  # with a NULL for a call
        elif op == _I.LOAD_ATTR:
            pops, pushes = 1, 1 + (arg & 1 if _V312 else 0)  # 3.12+: a method and its self
        elif op == _I.CALL or op == _I.CALL_KW:
            pops, pushes = arg + 2 + (op == _I.CALL_KW), 1
            if pops == depth:
                return True
        elif op in _BINARY:
            pops, pushes = 2, 1
        elif op == _I.BUILD_TUPLE or op == _I.BUILD_LIST:
            pops, pushes = arg, 1
        elif op == _I.LOAD_METHOD:
            pops, pushes = 1, 2
        elif op == _I.LOAD_FAST_LOAD_FAST:
            pops, pushes = 0, 2
        elif op == _I.KW_NAMES or op == _I.CALL_DONE:
            continue  # 3.11-3.12's keyword names; 3.11's CALL after the PRECALL counted here
        else:
            return False
        if depth - pops < 2:
            return False
        depth += pushes - pops


def _raised_or_caught(co: bytes, pos: int, op: int, arg: int) -> bool:
    """3.11+: does the instruction *op* at *pos*, right after a load, and the simple loads
    after it lead to ``raise E``, ``raise X from E``, ``except E`` or ``except (A, E)``?  An
    exception stand-in is a class and works there; any other stand-in fails there as its
    object does (not an exception class: the same TypeError, when it is reached)."""
    items = 0
    while op in _FIRST_ARGS or op == _I.LOAD_ATTR:
        if op == _I.LOAD_GLOBAL and arg & 1 or op == _I.LOAD_ATTR and _V312 and arg & 1:
            return False  # a call's callee, a method
        items += op != _I.LOAD_ATTR
        pos, op, arg = _next(co, pos)
    if op == _I.RAISE_VARARGS:
        return items == 0 or items == 1 and arg == 2
    if op == _I.BUILD_TUPLE and items < arg:
        op = _next(co, pos)[1]
    elif items:
        return False
    return op == _I.EXC_MATCH


def _checked_class(code: "CodeType", co: bytes, pos: int) -> bool:
    """3.11+: is the instruction at *pos* (and attribute reads before it) the first argument
    of ``isinstance``/``issubclass``, loaded right before?"""
    while pos >= 0 and co[pos] == _I.LOAD_ATTR:
        pos = _prev(co, pos)
    if pos < 0 or co[pos] not in _FIRST_ARGS or co[pos] == _I.LOAD_GLOBAL and co[pos + 1] & 1:
        return False
    pos = _prev(co, pos)
    if _V313 and pos >= 0 and co[pos] == _I.PUSH_NULL:
        pos = _prev(co, pos)
    return pos >= 0 and _name(code, co, pos) in ("isinstance", "issubclass")


_FIRST_ARGS = frozenset({_I.LOAD_FAST, _I.LOAD_NAME, _I.LOAD_GLOBAL, _I.LOAD_CONST, _I.LOAD_DEREF})
# What pushes one value and pops nothing (not LOAD_GLOBAL: 3.11+ may push a NULL with it).
_LOADS = (_FIRST_ARGS - {_I.LOAD_GLOBAL} | {_I.LOAD_FAST_CHECK, _I.PUSH_NULL}) - {-1}
_ARGUMENT_LOADS = (_FIRST_ARGS | {_I.LOAD_FAST_CHECK, _I.LOAD_FAST_LOAD_FAST}) - {-1}  # vars(x)
_BINARY = frozenset({_I.BINARY_OP, _I.BINARY_SUBSCR, _I.COMPARE_OP}) - {-1}
_OPERATORS = frozenset({_I.BINARY_OP, _I.COMPARE_OP}) - {-1}  # ``n == "Day"``
# Attributes a stand-in answers itself (its class; how it pickles and copies): read from the
# name (``C.__reduce__(obj)``, ``f.__class__``), the real object's are wanted.
OWN_READS = frozenset(
    {"__class__", "__reduce__", "__reduce_ex__", "__copy__", "__deepcopy__", "__get__"}
)
_NAMED = frozenset({_I.LOAD_NAME, _I.LOAD_GLOBAL, _I.LOAD_ATTR, _I.LOAD_METHOD})
_GENERICS = frozenset({"list", "dict", "tuple", "set", "frozenset", "type", "cast"})
# Names inside a type expression that leave it one: ``Dict[str, "Day"]``, ``typing.List``.
_NEUTRAL = frozenset({"str", "int", "float", "bool", "bytes", "complex", "object", "typing"})
_CALLS = frozenset({_I.CALL, _I.CALL_KW, _I.CALL_METHOD}) - {-1}
# What an annotation, or the arguments of a call or a generic, is made of.
_ANNOTATION_OPS = _FIRST_ARGS | _BINARY | _CALLS | {_I.LOAD_ATTR, _I.LOAD_METHOD, _I.PUSH_NULL}
_ANNOTATION_OPS = _ANNOTATION_OPS | {_I.KW_NAMES, _I.BUILD_TUPLE, _I.BUILD_LIST, _I.CALL_DONE}


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
    if pos >= 2 and co[pos - 2] == _I.EXTENDED_ARG:
        return None
    if op == _I.LOAD_GLOBAL and _V311 or op == _I.LOAD_ATTR and _V312:
        arg >>= 1
    elif op not in (_I.LOAD_NAME, _I.LOAD_ATTR, _I.LOAD_METHOD):
        return None
    return code.co_names[arg] if arg < len(code.co_names) else None
