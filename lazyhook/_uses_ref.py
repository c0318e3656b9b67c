"""How code uses names, instruction by instruction: the reference ``_uses.value_used``'s
fast path must agree with, and the reader it leaves the shapes it does not recognise to.

A name is used *as a value* anywhere but as exactly a call's callee (``C(...)``), the object
of an attribute read (``C.x``), the class of ``isinstance(x, C)`` / ``issubclass(x, C)`` and
the argument of ``lazyhook.is_lazy(x)``: passed on (``help(C)``), compared (``type(x) is
C``), stored (an annotation, a container) or returned, a stand-in is not the object.  Shapes
this does not recognise count as values: that costs laziness, never an outcome.  Checked
against the syntax tree on thousands of generated programs (``tests/test_interp.py`` keeps a
fixed set).  Loaded only for those shapes (``used_as_value``), with ``opcode``.
"""

import sys

from lazyhook._bytecode import (
    _LOAD_ATTR,
    _LOAD_FROM_DICT_OR_GLOBALS,
    _LOAD_GLOBAL,
    _LOAD_METHOD,
    _LOAD_NAME,
    _attr_name,
    instructions,
)
from lazyhook._interp import CO_OPTIMIZED
from lazyhook._stdlib import module as _stdlib_module

_opcode = _stdlib_module("opcode")  # never a program's opcode.py: see _stdlib
HAVE_ARGUMENT, hasjabs, hasjrel, opmap, opname = (
    _opcode.HAVE_ARGUMENT, _opcode.hasjabs, _opcode.hasjrel, _opcode.opmap, _opcode.opname
)  # fmt: skip
# 3.10: only its C module has it
stack_effect = getattr(_opcode, "stack_effect", None) or _stdlib_module("_opcode").stack_effect

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import CodeType

# As ``_uses.OWN_READS`` (this file is the reference for that one, and imports nothing of it).
_OWN_READS = frozenset(
    {"__class__", "__reduce__", "__reduce_ex__", "__copy__", "__deepcopy__", "__get__"}
)
_V311, _V312 = sys.version_info >= (3, 11), sys.version_info >= (3, 12)
_V313 = sys.version_info >= (3, 13)
_PUSH_NULL = opmap.get("PUSH_NULL", -1)
# The instruction right after a callee's arguments: PRECALL on 3.11, else the call itself.
_CALL_NEXT = frozenset(
    opmap[n]
    for n in ("PRECALL", "CALL", "CALL_FUNCTION", "CALL_FUNCTION_KW", "CALL_KW")
    if n in opmap
) - ({opmap["CALL"]} if "PRECALL" in opmap else set())
_CHECKS = ("isinstance", "issubclass")
_ONE_ARG = frozenset((c, 1) for c in _CALL_NEXT | {opmap.get("CALL_METHOD", -1)})
_TWO_ARGS = frozenset((c, 2) for c in _CALL_NEXT)
_JUMPS = frozenset(hasjrel + hasjabs)


def value_uses(code: "CodeType", exceptions: "frozenset[str]" = frozenset()) -> "list[str]":
    """Names *code* loads as values: every load except ``C(...)`` (the callee of a call),
    ``C.attr`` (but ``C.__class__``), the class of ``isinstance(x, C)`` / ``issubclass(x,
    C)``, which a stand-in answers as the real object does, the argument of ``is_lazy(x)``,
    and a raised or caught class among *exceptions* (exception stand-ins are classes).
    Passed on (``help(C)``, ``f(C)``), compared (``type(x) is C``), stored (an annotation, a
    container) or returned, a stand-in is not the object: C code rejects it, identity
    differs, and it stays behind where it was stored.  Shapes this does not recognise count
    as values: that costs laziness, never an outcome."""
    values, raised = value_and_raised_uses(code)
    return values + [n for n in raised if n not in exceptions]


def used_as_value(code: "CodeType", name: str, exc: bool) -> bool:
    """Does *code* load *name* as a value (or, unless *exc*, raise or catch it), read whole?"""
    found = _full.get(code)
    if found is None:
        if len(_full) > 1024:
            _full.clear()
        values, raised = value_and_raised_uses(code)
        found = _full[code] = (frozenset(values), frozenset(raised))
    return name in found[0] or not exc and name in found[1]


_full: "dict[object, tuple[frozenset[str], frozenset[str]]]" = {}  # code -> its uses


def value_and_raised_uses(code: "CodeType") -> "tuple[list[str], list[str]]":
    """(names loaded as values, names loaded only to be raised or caught), per load."""
    at: list[int] = []
    ins = instructions(code, at)
    out: list[str] = []
    raised: list[str] = []
    for k, (op, arg) in enumerate(ins):
        if op == _LOAD_FROM_DICT_OR_GLOBALS:  # 3.12+'s annotation scopes in a class body
            out.append(code.co_names[arg])
            continue
        if op != _LOAD_NAME and op != _LOAD_GLOBAL:
            continue
        after, after_arg = ins[k + 1] if k + 1 < len(ins) else (-1, 0)
        if after == _LOAD_ATTR or after == _LOAD_METHOD:
            if _attr_name(code, after, after_arg) in _OWN_READS:
                out.append(_attr_name(code, op, arg))
            continue
        if _is_callee(ins, at, k):
            continue
        if _checked_class(code, ins, k) or _queried(code, ins, k):
            continue
        (raised if _raised_or_caught(ins, k) else out).append(_attr_name(code, op, arg))
    return out, raised


def called(code: "CodeType", name: str) -> bool:
    """Does *code* call what global *name* holds (``q(x)``, ``q(*args)``, ``@snoop``)?
    3.11+ marks a call's NULL on the first load of its callee expression: a marked load of
    the name is a call (or ``q[k]()``, which a lazy module cannot answer either), whatever
    its arguments; otherwise (3.10, a decorator) the stack is followed to the call.  A shape
    not followed is not taken for a call (a chained ``a is q is b``).  ``_reads.called``
    asks, for the name an ``import`` binds (the README's "A module called stays eager")."""
    at: list[int] = []
    ins = instructions(code, at)
    for k, (op, arg) in enumerate(ins):
        if (op == _LOAD_NAME or op == _LOAD_GLOBAL) and _attr_name(code, op, arg) == name:
            if _null_marked(ins, k) or _is_callee(ins, at, k, _definition_use):
                return True
    return False


def _null_marked(ins: "list[tuple[int, int]]", k: int) -> bool:
    """3.11+: does the load at *k* carry a call's NULL (LOAD_GLOBAL's flag; a PUSH_NULL
    right before a LOAD_NAME on 3.11-3.12, right after it on 3.13)?"""
    op, arg = ins[k]
    if not _V311 or k + 1 < len(ins) and ins[k + 1][0] in (_LOAD_ATTR, _LOAD_METHOD):
        return False  # (the NULL of ``q.f(...)``, a call of an attribute)
    if op == _LOAD_GLOBAL:
        return bool(arg & 1)
    if _V313:
        return k + 1 < len(ins) and ins[k + 1][0] == _PUSH_NULL
    return k > 0 and ins[k - 1][0] == _PUSH_NULL


def _definition_use(op: int, arg: int) -> "tuple[int, int, bool] | None":
    """``_stack_use``, what makes the function or class a decorator is called with, a call
    with ``*args``/``**kwargs`` and what builds them, and the stores and returns that take a
    value (``alias = q``: not a call)."""
    name = opname[op]
    if name.startswith("STORE_") or name == "RETURN_VALUE":
        return {"STORE_ATTR": 2, "STORE_SUBSCR": 3, "STORE_SLICE": 4}.get(name, 1), 0, False
    if name == "CALL_FUNCTION_EX":  # (3.11+: the NULL too) the callee, args (and kwargs)
        return 2 + _V311 + (arg & 1), 1, True
    if name in ("GET_ITER", "LIST_TO_TUPLE", "DUP_TOP"):
        return 1, 1 + (name == "DUP_TOP"), False
    if name == "MAKE_FUNCTION":  # the code (3.10: and the qualname), what the flags add
        return 1 + (not _V311) + bin(arg & 0xF).count("1"), 1, False
    if name == "SET_FUNCTION_ATTRIBUTE":  # 3.13: a default, annotations, a closure
        return 2, 1, False
    if name == "LOAD_BUILD_CLASS":
        return 0, 1, False
    return _stack_use(op, arg)


def _is_callee(
    ins: "list[tuple[int, int]]",
    at: "list[int]",
    k: int,
    stack_use: "Callable[[int, int], tuple[int, int, bool] | None] | None" = None,
) -> "bool | None":
    """Is the load at *k* exactly a call's callee (``C(...)``, not ``C[int]()`` nor
    ``(w := C)()``)?  3.11+ marks a call's NULL on the first load of the callee *expression*,
    and 3.10 marks nothing: follow the stack from the load, by each instruction's pops and
    pushes, to the call that consumes the callee with exactly its arguments above it.  The
    arguments' own branches (``f(a or b)``, ``f(x if c else y)``) are followed on one path:
    a conditional jump falls through, a forward jump is taken (the depth is the same where
    the paths meet).  An instruction that pops the callee first, a backward jump, or one not
    in ``_stack_use`` ends it: None, not known to be one (``value_uses``: a value use, which
    costs laziness, never an outcome; ``called``: not a call, see there)."""
    op, arg = ins[k]
    # The region: what the load pushed (3.11/3.12: NULL below the callee for LOAD_GLOBAL's
    # flag; 3.13: the callee then its NULL) and everything pushed above it since.
    depth = 2 if _V311 and op == _LOAD_GLOBAL and arg & 1 else 1
    keep = 2 if depth == 2 and not _V313 else 1  # region items at or below the callee
    # 3.11/3.12 push a LOAD_NAME callee's NULL before it, outside the region.
    null_below = _V311 and not _V313 and depth == 1 and k > 0 and ins[k - 1][0] == _PUSH_NULL
    j = k + 1
    while j < len(ins):
        op_j, arg_j = ins[j]
        if opname[op_j] == "JUMP_FORWARD":
            target = at[j] + 2 + 2 * arg_j
            while j < len(ins) and at[j] < target:
                j += 1
            continue
        use = (stack_use or _stack_use)(op_j, arg_j)
        if use is None:
            return None  # a shape not followed: not known to be a callee
        pops, pushes, call = use
        if call and depth == pops - null_below:
            return True  # consumes the region whole: the callee and its arguments
        if depth - pops < keep:
            return False  # pops the callee before any call does
        depth += pushes - pops
        j += 1
    return None


def _raised_or_caught(ins: "list[tuple[int, int]]", k: int) -> bool:
    """Is the load at *k* raised (``raise E``, ``raise X from E``) or caught (``except E``,
    ``except (A, E)``)?  Only plain loads and attribute reads may follow it there."""
    items, j = 0, k + 1
    while j < len(ins) and _plain_load(*ins[j]):
        items += opname[ins[j][0]] != "LOAD_ATTR"
        j += 1
    name, arg = (opname[ins[j][0]], ins[j][1]) if j < len(ins) else ("", 0)
    if name == "RAISE_VARARGS":
        return items == 0 or items == 1 and arg == 2
    if name == "BUILD_TUPLE" and items < arg and j + 1 < len(ins):
        name = opname[ins[j + 1][0]]
    elif items:
        return False
    return name in ("CHECK_EXC_MATCH", "JUMP_IF_NOT_EXC_MATCH")


def _plain_load(op: int, arg: int) -> bool:
    """A load pushing one value, or an attribute read replacing one (not a callee's)."""
    name = opname[op]
    if name == "LOAD_GLOBAL" or name == "LOAD_ATTR" and _V312:
        return not (_V311 and arg & 1)
    return name == "LOAD_ATTR" or name in _PUSH_ONE


def _stack_use(op: int, arg: int) -> "tuple[int, int, bool] | None":
    """(pops, pushes, is a call) of the instructions a call's arguments are made of; None for
    any other (a branch, a store, COPY reaching below: the walk stops)."""
    name = opname[op]
    if name in _PUSH_ONE:
        return 0, 1, False
    if name == "LOAD_GLOBAL":
        return 0, 1 + (arg & 1 if _V311 else 0), False
    if name == "LOAD_FAST_LOAD_FAST" or name == "PUSH_NULL":
        return 0, 2 if name == "LOAD_FAST_LOAD_FAST" else 1, False
    if name == "LOAD_ATTR":
        return 1, 1 + (arg & 1 if sys.version_info >= (3, 12) else 0), False
    if name == "LOAD_METHOD":
        return 1, 2, False
    if name in ("KW_NAMES", "NOP"):
        return 0, 0, False
    if name == "POP_TOP" or name.startswith(
        ("POP_JUMP_IF", "POP_JUMP_FORWARD_IF", "JUMP_IF_T", "JUMP_IF_F")
    ):
        return 1, 0, False  # a conditional jump, falling through (JUMP_IF_X_OR_POP: pops)
    if name == "COPY" or name == "TO_BOOL":
        return (arg, arg + 1, False) if name == "COPY" else (1, 1, False)
    if name.startswith(("UNARY_", "FORMAT_SIMPLE", "CONVERT_VALUE", "CALL_INTRINSIC_1")):
        return 1, 1, False
    if name.startswith(("BINARY_", "INPLACE_")) or name in _TWO_TO_ONE:
        return (3 if name == "BINARY_SLICE" else 2), 1, False
    if name in ("BUILD_TUPLE", "BUILD_LIST", "BUILD_SET", "BUILD_STRING", "BUILD_SLICE"):
        return arg, 1, False
    if name == "BUILD_MAP" or name == "BUILD_CONST_KEY_MAP":
        return (2 * arg if name == "BUILD_MAP" else arg + 1), 1, False
    if name == "FORMAT_VALUE":
        return (2 if arg & 4 else 1), 1, False
    if name in ("LIST_EXTEND", "SET_UPDATE", "DICT_UPDATE", "DICT_MERGE", "LIST_APPEND"):
        return 1, 0, False
    if name == "PRECALL":  # 3.11: the call is decided here (CALL follows)
        return arg + 2, 1, True
    if name == "CALL":  # 3.11 after PRECALL (its stack already counted), 3.12+
        return (0, 0, False) if not _V312 else (arg + 2, 1, True)
    if name in ("CALL_KW", "CALL_FUNCTION_KW", "CALL_FUNCTION", "CALL_METHOD"):
        extra = {"CALL_KW": 3, "CALL_FUNCTION_KW": 2, "CALL_FUNCTION": 1, "CALL_METHOD": 2}
        return arg + extra[name], 1, True
    return None


_PUSH_ONE = frozenset(
    {"LOAD_CONST", "LOAD_NAME", "LOAD_FAST", "LOAD_DEREF", "LOAD_FAST_CHECK", "LOAD_CLASSDEREF",
     "LOAD_CLOSURE", "LOAD_ASSERTION_ERROR"}
)  # fmt: skip
_TWO_TO_ONE = frozenset(
    {"COMPARE_OP", "IS_OP", "CONTAINS_OP", "FORMAT_WITH_SPEC", "CALL_INTRINSIC_2"}
)


def _checked_class(code: "CodeType", ins: "list[tuple[int, int]]", k: int) -> bool:
    """Is the load at *k* the class of ``isinstance(x, C)`` / ``issubclass(x, C)``?  Walks
    back over the first argument by net stack effects: the shortest run of instructions
    before *k* that pushes one value is that argument (every proper suffix of a well-formed
    expression pushes none), and the callee's load sits right before it."""
    if k + 1 >= len(ins) or ins[k + 1] not in _TWO_ARGS:
        return False
    pushed, j = 0, k
    while pushed != 1:
        j -= 1
        if j < 1 or ins[j][0] in _JUMPS:
            return False  # no callee before it, or a branch: a shape not recognised
        op, arg = ins[j]
        pushed += stack_effect(op, arg if op >= HAVE_ARGUMENT else None)
    j -= 1
    if _V313 and ins[j][0] == _PUSH_NULL:
        j -= 1
    op, arg = ins[j]
    return op in (_LOAD_NAME, _LOAD_GLOBAL) and _attr_name(code, op, arg) in _CHECKS


def _queried(code: "CodeType", ins: "list[tuple[int, int]]", k: int) -> bool:
    """Is the load at *k* the argument of lazyhook's own ``is_lazy(x)`` (or
    ``lazyhook.is_lazy(x)``)?  Asking must not change the answer."""
    if k < 1 or k + 1 >= len(ins) or ins[k + 1] not in _ONE_ARG:
        return False
    j = k - 2 if _V313 and ins[k - 1][0] == _PUSH_NULL else k - 1
    op, arg = ins[j]
    return op in (_LOAD_NAME, _LOAD_GLOBAL, _LOAD_ATTR, _LOAD_METHOD) and (
        _attr_name(code, op, arg) == "is_lazy"
    )


_CALLS = frozenset(opmap[n] for n in ("CALL", "CALL_FUNCTION") if n in opmap)
_TO_CALL = frozenset(opmap[n] for n in ("PUSH_NULL", "PRECALL") if n in opmap)
# What may take ``globals()``'s result without handing the namespace on: a read from it, or
# a variable (``g = globals()``; what is done with ``g`` later is not followed: Limit 5).
_SUBSCRIPTS = frozenset(
    opmap[n] for n in ("BINARY_SUBSCR", "STORE_SUBSCR", "DELETE_SUBSCR") if n in opmap
)
_READS_IT = _SUBSCRIPTS | frozenset(
    opmap[n]
    for n in ("LOAD_ATTR", "LOAD_METHOD", "CONTAINS_OP", "GET_ITER", "STORE_NAME",
              "STORE_FAST", "STORE_GLOBAL")
    if n in opmap
)  # fmt: skip
_KEYS = frozenset(  # a key loaded between: globals()["a"], globals()[name]
    opmap[n] for n in ("LOAD_CONST", "LOAD_NAME", "LOAD_FAST", "LOAD_GLOBAL") if n in opmap
)


def namespace_handed_on(code: "CodeType") -> bool:
    """Does *code* hand its namespace itself to other code: ``globals()`` (or ``locals()`` or
    ``vars()`` outside a function) called, its result passed to a call (``runner.run(globals())``,
    ``code.interact(local=globals())``, ``eval(s, globals())``), rather than read from
    (``globals().get(k)``, ``globals()[k]``, ``k in globals()``, iterated) or kept in a
    variable?  Code the analysis cannot see reads the names there; so ``globals`` itself
    passed on counts too."""
    ins = instructions(code)
    # ``vars()`` is ``locals()``; ``vars(obj)`` is obj's namespace, not this code's.
    local = not code.co_flags & CO_OPTIMIZED  # a function's locals() are not its globals
    wanted = ("globals", "locals", "vars") if local else ("globals",)
    for k, (op, arg) in enumerate(ins):
        if op != _LOAD_NAME and op != _LOAD_GLOBAL:
            continue
        called = _attr_name(code, op, arg)
        if called not in wanted:
            continue
        j = k + 1
        while j < len(ins) and ins[j][0] in _TO_CALL:
            j += 1
        if j >= len(ins) or ins[j][0] not in _CALLS or ins[j][1] != 0:
            if called == "vars":
                continue  # vars(obj) (or vars handed on itself: not told apart)
            return True
        after = [op for op, _ in ins[j + 1 : j + 3]] + [-1, -1]
        if after[0] not in _READS_IT and not (after[0] in _KEYS and after[1] in _SUBSCRIPTS):
            if not _keys_only(code, ins, k, j):
                return True
    return False


_KEY_CALLS = frozenset({"set", "list", "sorted", "len", "frozenset", "tuple", "iter"})


def _keys_only(code: "CodeType", ins: "list[tuple[int, int]]", k: int, j: int) -> bool:
    """Is ``globals()`` (loaded at *k*, called at *j*) the sole argument of a builtin that
    takes only its keys (``set(globals())``, ``sorted(globals())``)?"""
    b = k - 1
    while b >= 0 and ins[b][0] in _TO_CALL:
        b -= 1
    a = j + 1
    while a < len(ins) and ins[a][0] in _TO_CALL:
        a += 1
    if b < 0 or a >= len(ins) or ins[a][0] not in _CALLS or ins[a][1] != 1:
        return False
    op, arg = ins[b]
    if op != _LOAD_NAME and op != _LOAD_GLOBAL:
        return False
    return _attr_name(code, op, arg) in _KEY_CALLS
