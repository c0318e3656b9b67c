"""What an importing module's code does with what it imports, read from its compiled code.

**Is an import made only for its side effects?  Then it stays eager.**

An import statement whose bound names no code of its module ever reads (``import plugins``
to register them, ``import app.signals``) is there for what the module's body *does*.
Deferred, that body would never run — its registrations, prints and warnings would be lost,
not just delayed — so such an import runs at the statement, as eagerly.

"Read" is judged from the importing module's compiled code, once per code object: a name is
read if the module-level code loads it, if any nested code (functions, classes,
comprehensions) names it, or if any code holds it as a string constant (``__all__``,
``getattr(m, "x")``, ``sys.modules["x"]``).  For ``import a.b`` (binding ``a``), ``b`` must
also be named somewhere.  A read only through ``globals()``, ``vars()``, ``eval`` or ``exec``
does not count: the import then runs at the statement, where such a read finds it as eagerly.
(Counting any such code as reading everything deferred, and so lost, the side-effect imports
of every module that merely mentioned ``__dict__`` or ``eval``: pandas' ``config_init``, which
registers its options, under mode "all".)  Code whose file is not a real one (``<stdin>``,
``-c``, ``exec`` of a string) cannot be seen whole: its imports count as read.  A wrong "not
read" costs laziness, never an outcome.

**Which names does a from-import statement take?**  (``statement_names``: a statement that
takes only literals, bound as their values, would never run its module.)

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

Loaded by the finder with the first import it makes lazy.
"""

import sys

from lazyhook import _interp

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import CodeType, FrameType

_BETWEEN = frozenset(
    {_interp.IMPORT_FROM, _interp.SWAP, _interp.POP_TOP, _interp.EXTENDED_ARG, 0}
)  # 0: 3.11+'s inline CACHE entries
_STORES = frozenset({_interp.STORE_NAME, _interp.STORE_GLOBAL})
# code object -> what is known of the names its module reads, filled tier by tier (_Tiers).
_read: "dict[object, _Tiers]" = {}


def bindings_read(frame: "FrameType") -> bool:
    """Does the module running *frame* read what its import statement at ``f_lasti`` binds?

    The prompt, ``-c`` and exec'd strings cannot be seen whole: their imports count as read
    (the finder checks that before loading this module), and so do a class body's (what it
    binds is read as attributes of the class, from anywhere).
    """
    code = frame.f_code
    if code.co_filename[:1] == "<" or code.co_name != "<module>":
        return True
    bound = _bound(code, _interp.import_offset(frame))
    if bound is None:
        return True  # a star import (the name cache's business), or an unexpected shape
    tiers = _read.get(code)
    if tiers is None:
        if len(_read) > 1024:
            _read.clear()
        tiers = _read[code] = _Tiers(code)
    names, dotted = bound
    attribute = None if dotted is None else dotted.rpartition(".")[2]
    # Cheapest evidence first: most imports are read by the module's own code or a function's
    # (a stdlib module's ``import re as _re``); only a miss needs every constant of every
    # nested code (the strings).
    for tier in range(3):
        read = tiers.get(tier)
        if (dotted is not None and dotted in read) or (  # sys.modules["a.b.c"]
            any(n in read for n in names) and (attribute is None or tiers.mentions(attribute))
        ):
            return True
    return False


class _Tiers:
    """The names a module's code reads, worked out lazily in three tiers: names its
    module-level code loads, names any nested code (functions, classes, comprehensions)
    names, and string constants anywhere (``__all__``, ``getattr(m, "x")``)."""

    __slots__ = ("code", "tiers", "fromlists")

    def __init__(self, code: "CodeType") -> None:
        self.code = code
        self.tiers: list[set[str]] = []
        self.fromlists: set[int] = set()

    def get(self, tier: int) -> "set[str]":
        # A new list each time, swapped in whole: two threads filling the same code's tiers
        # may both compute one, never leave it half or twice in the list.
        tiers = self.tiers
        while len(tiers) <= tier:
            tiers = [*tiers, self._compute(len(tiers))]
            self.tiers = tiers
        return tiers[tier]

    def _compute(self, tier: int) -> "set[str]":
        code = self.code
        if tier == 0:
            loads, self.fromlists = _module_scan(code)
            return loads
        code_type = type(code)
        nested = [c for c in code.co_consts if type(c) is code_type]
        found: set[str] = set()
        if tier == 1:
            while nested:
                sub = nested.pop()
                found.update(sub.co_names)
                nested.extend([c for c in sub.co_consts if type(c) is code_type])
            return found
        _strings(code.co_consts, found, skip=self.fromlists)
        while nested:  # one pass over each nested code's constants
            sub = nested.pop()
            for c in sub.co_consts:
                t = type(c)
                if t is str:
                    found.add(c)
                elif t is code_type:
                    nested.append(c)
                elif t is tuple:
                    found.update(x for x in c if type(x) is str)
        return found

    def mentions(self, name: str) -> bool:
        """Does the module's code name *name* anywhere (read, stored or as a string)?"""
        return name in self.code.co_names or any(name in self.get(k) for k in range(3))


def _bound(code: "CodeType", i: int) -> "tuple[list[str], str | None] | None":
    """The names the import at offset *i* stores, and for ``import a.b.c`` (binding ``a``)
    ``"a.b.c"``, whose use names the attribute ``c``; None for a star import."""
    co = code.co_code
    target: str = code.co_names[_interp.oparg(co, i)[0]]
    names: list[str] = []
    j = i + 2
    while j < len(co):
        op = co[j]
        if op == _interp.STAR_OP and (_interp.STAR_ARG < 0 or co[j + 1] == _interp.STAR_ARG):
            return None
        if op in _STORES:
            names.append(code.co_names[_interp.oparg(co, j)[0]])
        elif op not in _BETWEEN:
            break
        j += 2
    if not names:
        return None
    dotted = "." in target and names == [target.partition(".")[0]]
    return names, target if dotted else None


def statement_names(frame: "FrameType") -> "list[str]":
    """The names a from-import statement takes, if *frame* is at its first ``IMPORT_FROM``
    (else [], and [] for any shape not recognised)."""
    code = frame.f_code
    co, i = code.co_code, _interp.import_offset(frame)
    j = i - 2
    while j >= 0 and co[j] in (_interp.EXTENDED_ARG, 0):  # its own prefix; 3.11+'s caches
        j -= 2
    if j < 0 or co[j] != _interp.IMPORT_NAME:
        return []
    names: list[str] = []
    while i < len(co):
        op = co[i]
        if op == _interp.IMPORT_FROM:
            names.append(code.co_names[_interp.oparg(co, i)[0]])
        elif op not in _BETWEEN and op not in _STORES:
            break
        i += 2
    return names


def _strings(consts: "tuple[object, ...]", into: "set[str]", skip: "object") -> None:
    """String constants, and strings in tuple constants (``__all__ = ["a"]`` compiles to one),
    except the from-lists of import statements (indices in *skip*)."""
    for k, c in enumerate(consts):
        if type(c) is str:
            into.add(c)
        elif type(c) is tuple and k not in skip:  # type: ignore[operator]
            into.update(x for x in c if type(x) is str)


def _module_scan(code: "CodeType") -> "tuple[set[str], set[int]]":
    """(names the module-level *code* loads — LOAD_NAME, LOAD_GLOBAL... — the indices of the
    constants its import statements use as from-lists).  Stores and deletes are not reads."""
    co, names = code.co_code, code.co_names
    ops = co[::2]
    load_global, shift = _interp.LOAD_GLOBAL, _interp.GLOBAL_FLAG_BIT
    wanted = {_interp.LOAD_NAME, _interp.LOAD_FROM_DICT_OR_GLOBALS, load_global}
    if len(names) > 127 and _interp.EXTENDED_ARG in ops:
        # A name index that may need EXTENDED_ARG (3.11+'s LOAD_GLOBAL holds index << 1):
        # rare enough to pay for _bytecode's full decoder (and its ``opcode`` import).
        from lazyhook._bytecode import instructions

        found = {(op, arg) for op, arg in instructions(code) if op in wanted}
    else:
        # One comprehension over (opcode, oparg) pairs: ~4x faster than decoding every
        # instruction in a loop (locale's module code has ~10,000).
        found = {(op, arg) for op, arg in zip(ops, co[1::2], strict=True) if op in wanted}
    loads = {names[arg >> 1 if shift and op == load_global else arg] for op, arg in found}
    # From-lists: the LOAD_CONST right before each IMPORT_NAME (few: found by bytes.find).
    fromlists: set[int] = set()
    import_name, load_const = bytes((_interp.IMPORT_NAME,)), _interp.LOAD_CONST
    k = ops.find(import_name)
    while k > 0:
        j = k - 1
        while j > 0 and ops[j] == _interp.EXTENDED_ARG:  # IMPORT_NAME's own prefix
            j -= 1
        if ops[j] == load_const:
            fromlists.add(_interp.oparg(co, 2 * j)[0])
        k = ops.find(import_name, k + 1)
    return loads, fromlists


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
        todo = [code]
        while todo:
            c = todo.pop()
            if _interp.MATCH_CLASS in c.co_code[::2]:
                names.update(_matched_in(c))
            if "register" in c.co_names:
                from lazyhook._bytecode import registered

                names.update(registered(c))
            if _interp.LOAD_BUILD_CLASS in c.co_code[::2]:
                from lazyhook._bytecode import class_bases

                names.update(class_bases(c))
            todo.extend(k for k in c.co_consts if hasattr(k, "co_code"))
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
# code object -> the code objects of its tree; code object -> _bytecode.value_uses of it.
_trees: "dict[object, tuple[CodeType, ...]]" = {}
_full: "dict[object, frozenset[str]]" = {}


def value_used(code: "CodeType", names: "Iterable[str]") -> "frozenset[str] | _Every":
    """Those of *names* that *code* or any code nested in it uses as values (see
    ``_bytecode.value_uses``); under ``from __future__ import annotations`` also those named in
    its strings (annotations that ``get_type_hints`` evaluates later).  ``EVERY`` at an
    interactive prompt (``sys.ps1``: the REPL, ``python -i``, IPython and Jupyter set it), whose
    later inputs cannot be seen.

    Only code that names one of *names* is read, each load found with ``bytes.find``: the
    common uses (a call, an attribute) are told here from the instructions around it, without
    loading ``_bytecode`` and ``opcode`` (~0.7 ms) or walking every instruction (~0.15 ms for
    a small script); other shapes go to ``_bytecode``."""
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
    patterns = [(_interp.LOAD_NAME, index)]
    patterns += (
        [(_interp.LOAD_GLOBAL, index << 1), (_interp.LOAD_GLOBAL, index << 1 | 1)]
        if (_V311)
        else [(_interp.LOAD_GLOBAL, index)]
    )
    for op, arg in patterns:
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
    """Is the load at *pos* a value use: False for an attribute read, a call's callee (3.11+
    marks it with a NULL), ``is_lazy(x)``'s argument or ``isinstance(x, C)``'s class (x a
    variable or constant, with attribute reads); None for a shape left to ``_bytecode``
    (3.10's calls carry no marker; ``isinstance(f(x), C)``)."""
    after, after_arg = _next(co, pos)
    if after == _interp.LOAD_ATTR or after == _interp.LOAD_METHOD:
        return False
    before = _prev(co, pos)
    if _V311:
        if co[pos] == _interp.LOAD_GLOBAL:
            if co[pos + 1] & 1:
                return False
        elif (after if _V313 else co[before] if before >= 0 else -1) == _interp.PUSH_NULL:
            return False
    if after in (_interp.CALL, _interp.CALL_METHOD) and after_arg == 1:
        if _V313 and before >= 0 and co[before] == _interp.PUSH_NULL:
            before = _prev(co, before)
        if before >= 0 and _name(code, co[before], co[before + 1]) == "is_lazy":
            return False
    if not _V311:
        return None
    if after == _interp.CALL and after_arg == 2:
        return False if _checked_class(code, co, before) else None
    return True


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
    return pos >= 0 and _name(code, co[pos], co[pos + 1]) in ("isinstance", "issubclass")


_FIRST_ARGS = frozenset(
    {
        _interp.LOAD_FAST,
        _interp.LOAD_NAME,
        _interp.LOAD_GLOBAL,
        _interp.LOAD_CONST,
        _interp.LOAD_DEREF,
    }
)


def _next(co: bytes, pos: int) -> "tuple[int, int]":
    pos += 2
    while pos < len(co) and co[pos] == 0:  # 3.11+'s inline CACHE entries
        pos += 2
    return (co[pos], co[pos + 1]) if pos < len(co) else (-1, 0)


def _prev(co: bytes, pos: int) -> int:
    """The position of the instruction before *pos* (3.11+: past inline CACHE entries), -1
    at the start.  An EXTENDED_ARG prefix of it is not folded in: a name read through a
    wrong argument only fails to match (a value use: laziness, never an outcome)."""
    pos -= 2
    while pos > 0 and co[pos] == 0 and _V311:
        pos -= 2
    return pos


def _name(code: "CodeType", op: int, arg: int) -> "str | None":
    """The name a LOAD_NAME / LOAD_GLOBAL / LOAD_ATTR / LOAD_METHOD at *arg* refers to."""
    if op == _interp.LOAD_GLOBAL and _V311 or op == _interp.LOAD_ATTR and _V312:
        arg >>= 1
    elif op not in (_interp.LOAD_NAME, _interp.LOAD_ATTR, _interp.LOAD_METHOD):
        return None
    return code.co_names[arg] if arg < len(code.co_names) else None


def _slow(code: "CodeType", name: str) -> bool:
    found = _full.get(code)
    if found is None:
        from lazyhook._bytecode import value_uses

        if len(_full) > 1024:
            _full.clear()
        found = _full[code] = frozenset(value_uses(code))
    return name in found


def _matched_in(code: "CodeType") -> "list[str]":
    from lazyhook._bytecode import instructions  # only for code that has a MATCH_CLASS

    shift = _interp.GLOBAL_FLAG_BIT
    ins = instructions(code)
    out = []
    for k in range(2, len(ins)):
        if ins[k][0] == _interp.MATCH_CLASS and ins[k - 1][0] == _interp.LOAD_CONST:
            op, arg = ins[k - 2]
            if op == _interp.LOAD_NAME:
                out.append(code.co_names[arg])
            elif op == _interp.LOAD_GLOBAL:
                out.append(code.co_names[arg >> 1 if shift else arg])
    return out
