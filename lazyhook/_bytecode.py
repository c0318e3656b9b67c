"""Reading compiled module code, per version: what ``_interp`` and the name cache need to
know from a code object rather than from a running frame.

* which modules a module's code takes names from wholesale: ``from m import *`` and reads of
  ``m.__all__`` (``wholesale_imports``; exact, unlike a text scan, and sourceless modules too);
* which names a module binds exactly once, at module level, to a constant
  (``constant_assignments``: the values a from-import may bind as they are);
* 3.10's static block stacks (``block_stacks_310``: is an import inside ``try`` or ``with``);
* which names a code uses as ``case C(...)`` patterns or passes to ``X.register(...)``
  (``match_classes``, ``registered``: both must be real classes);
* which names a code uses in class statements' bases and keywords (``class_bases``);
* which modules it imports where a test says (``guarded_imports``: inside ``try``), and which
  names it binds by plain import statements (``plain_imports``): what decides a name's kind.

Opcode numbers come from the interpreter's own ``opcode`` module: this file is never on the
start-up path (the cache loads it when it learns a module, ``_interp`` on 3.10 only).
"""

import sys

from lazyhook._stdlib import module as _stdlib_module

opmap = _stdlib_module("opcode").opmap  # never a program's opcode.py: see _stdlib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import CodeType

_V311 = sys.version_info >= (3, 11)
_EXTENDED_ARG = opmap["EXTENDED_ARG"]
_LOAD_CONST = opmap["LOAD_CONST"]
_IMPORT_NAME = opmap["IMPORT_NAME"]
_IMPORT_FROM = opmap["IMPORT_FROM"]
_STORE_NAME = opmap["STORE_NAME"]
_STORE_GLOBAL = opmap["STORE_GLOBAL"]
_POP_TOP = opmap["POP_TOP"]
_SWAP = opmap.get("SWAP", opmap.get("ROT_TWO", -1))  # (3.10: ROT_TWO; ``import a.b.c as d``)
_DELETE_NAME = opmap["DELETE_NAME"]
_DELETE_GLOBAL = opmap["DELETE_GLOBAL"]
_LOAD_NAME = opmap["LOAD_NAME"]
_LOAD_GLOBAL = opmap["LOAD_GLOBAL"]
_LOAD_ATTR = opmap["LOAD_ATTR"]
_LOAD_METHOD = opmap.get("LOAD_METHOD", -1) if sys.version_info < (3, 12) else -1
_LOAD_BUILD_CLASS = opmap["LOAD_BUILD_CLASS"]
_MATCH_CLASS = opmap["MATCH_CLASS"]
_LOAD_FROM_DICT_OR_GLOBALS = opmap.get("LOAD_FROM_DICT_OR_GLOBALS", -1)  # 3.12+
# What stores a class statement's result (its name: module, function or closure variable).
_CLASS_STORES = frozenset(
    opmap[n] for n in ("STORE_NAME", "STORE_GLOBAL", "STORE_FAST", "STORE_DEREF")
)
# The star import: IMPORT_STAR up to 3.11, CALL_INTRINSIC_1 with INTRINSIC_IMPORT_STAR (2) since.
_IMPORT_STAR = opmap.get("IMPORT_STAR", -1)
_INTRINSIC_1 = opmap.get("CALL_INTRINSIC_1", -1)
# Names whose use lets a module rebind its globals in ways its code does not show.
_DYNAMIC = frozenset({"globals", "vars", "locals", "exec", "eval", "__dict__", "setattr"})


def instructions(code: "CodeType", offsets: "list[int] | None" = None) -> "list[tuple[int, int]]":
    """(opcode, full argument) of each instruction, EXTENDED_ARG folded in, 3.11+'s inline
    caches (opcode 0) skipped; each one's byte offset appended to *offsets* if given."""
    co = code.co_code
    out = []
    ext = 0
    for i in range(0, len(co), 2):
        op = co[i]
        if op == _EXTENDED_ARG:
            ext = (ext | co[i + 1]) << 8
            continue
        if op == 0 and _V311:
            continue  # CACHE
        out.append((op, ext | co[i + 1]))
        if offsets is not None:
            offsets.append(i)
        ext = 0
    return out


def match_classes(code: "CodeType") -> "list[str]":
    """Names *code* loads right before a ``MATCH_CLASS`` (``case C(...)``: match demands a
    real class, "called match pattern must be a type")."""
    ins = instructions(code)
    out = []
    for k in range(2, len(ins)):
        if ins[k][0] == _MATCH_CLASS and ins[k - 1][0] == _LOAD_CONST:
            op, arg = ins[k - 2]
            if op in (_LOAD_NAME, _LOAD_GLOBAL):
                out.append(_attr_name(code, op, arg))
    return out


def registered(code: "CodeType") -> "list[str]":
    """Names *code* passes straight to a ``register`` method (``ABC.register(C)``,
    ``Hashable.register(C)``): ABCMeta's C code accepts only a real class there."""
    ins = instructions(code)
    out = []
    for k in range(len(ins) - 1):
        op, arg = ins[k]
        if op in (_LOAD_METHOD, _LOAD_ATTR) and _attr_name(code, op, arg) == "register":
            following, farg = ins[k + 1]
            if following in (_LOAD_NAME, _LOAD_GLOBAL):
                out.append(_attr_name(code, following, farg))
    return out


def class_bases(code: "CodeType") -> "list[str]":
    """Names *code* loads between a class statement's ``LOAD_BUILD_CLASS`` and the store of
    its result: the bases and keywords (``metaclass=``) of ``class X(A, B, metaclass=M)``, and
    whatever an expression among them names (more than the bases: this only costs laziness)."""
    out = []
    inside = False
    for op, arg in instructions(code):
        if op == _LOAD_BUILD_CLASS:
            inside = True
        elif not inside:
            continue
        elif op in (_LOAD_NAME, _LOAD_GLOBAL, _LOAD_FROM_DICT_OR_GLOBALS):
            out.append(_attr_name(code, op, arg))
        elif op in _CLASS_STORES:
            inside = False
    return out


def class_names(code: "CodeType") -> "set[str]":
    """Names *code* (a module's top level) binds with a class statement: the first store
    after each ``LOAD_BUILD_CLASS`` (decorators included; the body is code of its own)."""
    out = set()
    inside = False
    for op, arg in instructions(code):
        if op == _LOAD_BUILD_CLASS:
            inside = True
        elif inside and op in (_STORE_NAME, _STORE_GLOBAL):
            out.add(code.co_names[arg])
            inside = False
    return out


def _attr_name(code: "CodeType", op: int, arg: int) -> str:
    """The name a LOAD_ATTR / LOAD_GLOBAL / LOAD_NAME / LOAD_METHOD refers to."""
    if op == _LOAD_ATTR and sys.version_info >= (3, 12):
        arg >>= 1  # low bit: method load
    elif op == _LOAD_GLOBAL and _V311:
        arg >>= 1  # low bit: push NULL
    return code.co_names[arg]


def wholesale_imports(code: "CodeType", module: object) -> "list[str]":
    """Modules *code* (a module's) takes names from wholesale, fully qualified: each
    ``from m import *`` (relative forms resolved with the module's ``__package__``), and each
    module whose ``__all__`` it reads (``__all__ = pkg.sub.__all__``, ``x += m.__all__``)."""
    ins = instructions(code)
    package = getattr(module, "__package__", None) or ""
    d = getattr(module, "__dict__", {})
    out: list[str] = []
    for k, (op, arg) in enumerate(ins):
        if op == _IMPORT_NAME and k + 1 < len(ins) and _is_star(ins[k + 1]):
            out.append(_imported(code, ins, k, package))
        elif op in (_LOAD_ATTR, _LOAD_METHOD) and _attr_name(code, op, arg) == "__all__":
            dotted = _dotted_before(code, ins, k)
            if dotted:
                value: object = d.get(dotted[0])
                for part in dotted[1:]:
                    value = getattr(value, part, None)
                name = getattr(value, "__name__", None)
                if isinstance(value, type(sys)) and isinstance(name, str):
                    out.append(name)
    return out


def imported_modules(code: "CodeType", package: str) -> "list[str]":
    """Every module *code* (a module's top level) imports, fully qualified (relative forms
    resolved with *package*), and for ``from p import x`` also ``p.x`` (a submodule, if x is
    one): where a name it binds may have come from."""
    ins = instructions(code)
    out: list[str] = []
    current = None
    for k, (op, arg) in enumerate(ins):
        if op == _IMPORT_NAME:
            current = _imported(code, ins, k, package)
            out.append(current)
        elif op == _IMPORT_FROM and current is not None:
            out.append(f"{current}.{code.co_names[arg]}")
    return out


def guarded_imports(
    code: "CodeType", package: str, guarded: "Callable[[int], bool]"
) -> "list[str]":
    """Modules *code* imports where ``guarded(offset)`` holds (inside ``try``: the caller asks
    ``_interp.guards_at``), fully qualified: whether each is found decides what the module
    binds (``try: import ujson as json`` / ``except ImportError: import json``)."""
    offsets: list[int] = []
    ins = instructions(code, offsets)
    out: list[str] = []
    current = None
    for k, (op, arg) in enumerate(ins):
        if op == _IMPORT_NAME:
            current = _imported(code, ins, k, package) if guarded(offsets[k]) else None
            if current is not None:
                out.append(current)
                current = None if _from_list(code, ins, k) is None else current
        elif op == _IMPORT_FROM and current is not None:
            out.append(f"{current}.{code.co_names[arg]}")  # (a submodule, if it is one)
    return out


def _from_list(code: "CodeType", ins: "list[tuple[int, int]]", k: int) -> object:
    """The from-list of the ``IMPORT_NAME`` at *k* (None: ``import a.b [as c]``, whose
    ``IMPORT_FROM`` reads the attributes of ``as``)."""
    return code.co_consts[ins[k - 1][1]] if k >= 1 and ins[k - 1][0] == _LOAD_CONST else None


def plain_imports(code: "CodeType") -> "set[str]":
    """Names *code* binds by plain import statements (``import a.b [as c]``): the module so
    bound is the one that name resolves to, whoever else binds it (``from m import x`` binds
    what *m* decides; ``_learn`` stamps such binders)."""
    ins = instructions(code)
    out: set[str] = set()
    skip = {_IMPORT_FROM, _POP_TOP, _SWAP}
    for k, (op, _) in enumerate(ins):
        if op != _IMPORT_NAME or k < 1 or ins[k - 1][0] != _LOAD_CONST:
            continue
        if _from_list(code, ins, k) is not None:
            continue  # a from-import
        j = k + 1
        while j < len(ins) and ins[j][0] in skip:
            j += 1
        if j < len(ins) and ins[j][0] in (_STORE_NAME, _STORE_GLOBAL):
            out.add(code.co_names[ins[j][1]])
    return out


def _imported(code: "CodeType", ins: "list[tuple[int, int]]", k: int, package: str) -> str:
    """The module the ``IMPORT_NAME`` at *k* imports, fully qualified.  It follows LOAD_CONST
    level; LOAD_CONST fromlist (the level's constant may be co_consts[0]: a package
    ``__init__`` whose first statement is ``from .x import *``)."""
    has_level = k >= 2 and ins[k - 2][0] == _LOAD_CONST
    level_value = code.co_consts[ins[k - 2][1]] if has_level else 0
    return _absolute(code.co_names[ins[k][1]], level_value, package)


def _is_star(ins: "tuple[int, int]") -> bool:
    return ins[0] == _IMPORT_STAR or (ins[0] == _INTRINSIC_1 and ins[1] == 2)


def _absolute(name: str, level: object, package: str) -> str:
    if not isinstance(level, int) or level <= 0:
        return name
    base = package.rsplit(".", level - 1)[0] if level > 1 else package
    return f"{base}.{name}" if name else base


def _dotted_before(code: "CodeType", ins: "list[tuple[int, int]]", k: int) -> "list[str]":
    """``a.b.c`` for the chain LOAD_NAME a, LOAD_ATTR b, LOAD_ATTR c ending before *k*."""
    parts: list[str] = []
    j = k - 1
    while j >= 0 and ins[j][0] == _LOAD_ATTR:
        parts.append(_attr_name(code, *ins[j]))
        j -= 1
    if j < 0 or ins[j][0] not in (_LOAD_NAME, _LOAD_GLOBAL):
        return []
    parts.append(_attr_name(code, *ins[j]))
    return parts[::-1]


def constant_assignments(code: "CodeType") -> "dict[str, object]":
    """Names a module's code binds exactly once, at module level, straight from a constant
    (``X = 3``, ``X: str = "a"``), and binds nowhere else: not again, not deleted, not through
    ``global`` in a function, not after a star import; none at all if the module uses
    ``globals()``, ``exec``, ``setattr``... to bind names its code does not show."""
    ins = instructions(code)
    stores: dict[str, int] = {}
    consts: dict[str, object] = {}
    for k, (op, arg) in enumerate(ins):
        if op == _STORE_NAME or op == _DELETE_NAME or op == _STORE_GLOBAL:
            name = code.co_names[arg]
            stores[name] = stores.get(name, 0) + (1 if op != _DELETE_NAME else 2)
            if op == _STORE_NAME and k and ins[k - 1][0] == _LOAD_CONST:
                consts[name] = code.co_consts[ins[k - 1][1]]
        elif _is_star((op, arg)):
            return {}  # a star import may rebind any name
    if _DYNAMIC.intersection(_all_names(code)):
        return {}  # writes through globals(), exec, setattr... are invisible in the code
    rebound = _globals_written(code, set(consts))
    return {
        n: v for n, v in consts.items() if stores[n] == 1 and n not in rebound and _immutable(v)
    }


def _all_names(code: "CodeType") -> "set[str]":
    names = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _all_names(const)
    return names


def _globals_written(code: "CodeType", wanted: "set[str]") -> "set[str]":
    """Names of *wanted* that nested code (functions, classes) writes as globals.  Only code
    that names one of them and has such an instruction is decoded (sympy: ~430 code objects
    a module, decoded whole, cost ~15 ms at a cold run's exit)."""
    out: set[str] = set()
    for const in code.co_consts:
        if hasattr(const, "co_code"):
            ops = const.co_code[::2]
            if not wanted.isdisjoint(const.co_names) and (
                _STORE_GLOBAL in ops or _DELETE_GLOBAL in ops
            ):
                for op, arg in instructions(const):
                    if op == _STORE_GLOBAL or op == _DELETE_GLOBAL:
                        out.add(const.co_names[arg])
            out |= _globals_written(const, wanted)
    return out


def _immutable(value: object) -> bool:
    if type(value) in (tuple, frozenset):
        return all(_immutable(v) for v in value)  # type: ignore[attr-defined]
    return value is None or type(value) in (bool, int, float, complex, str, bytes)


def block_stacks_310(code: "CodeType") -> "list[tuple[str, ...] | None]":
    """3.10: the static block stack before each instruction (None: unreachable).

    A port of ``markblocks()`` (CPython 3.10, Objects/frameobject.c), except that a
    SETUP_FINALLY whose handler is the ``except E as e`` name cleanup pushes a transparent
    "named" block, and for loops are not tracked (they use no block at run time).  Loaded
    only on 3.10.
    """
    op = opmap

    co = code.co_code
    n = len(co) // 2
    args, ext = [], 0
    for i in range(0, len(co), 2):
        args.append(co[i + 1] | ext)
        ext = args[-1] << 8 if co[i] == op["EXTENDED_ARG"] else 0
    cond = {op[k] for k in ("JUMP_IF_FALSE_OR_POP", "JUMP_IF_TRUE_OR_POP", "POP_JUMP_IF_FALSE",
                            "POP_JUMP_IF_TRUE", "JUMP_IF_NOT_EXC_MATCH", "FOR_ITER")}  # fmt: skip
    pops = {op["POP_BLOCK"], op["POP_EXCEPT"], op["END_ASYNC_FOR"]}
    ends = {op["RETURN_VALUE"], op["RAISE_VARARGS"], op["RERAISE"]}
    withs = {op["SETUP_WITH"], op["SETUP_ASYNC_WITH"]}
    blocks: list[tuple[str, ...] | None] = [None] * (n + 1)
    blocks[0] = ()
    todo = [0]

    def reach(j: int, stack: "tuple[str, ...]") -> None:
        if blocks[j] is None:
            blocks[j] = stack
            todo.append(j)

    while todo:
        i = todo.pop()
        stack: tuple[str, ...] | None = blocks[i]
        while i < n and stack is not None:
            o, arg = co[2 * i], args[i]
            nxt: tuple[str, ...] | None = stack
            if o in cond:
                reach(i + 1 + arg if o == op["FOR_ITER"] else arg, stack)
            elif o == op["JUMP_ABSOLUTE"] or o == op["JUMP_FORWARD"]:
                reach(arg if o == op["JUMP_ABSOLUTE"] else i + 1 + arg, stack)
                nxt = None
            elif o == op["SETUP_FINALLY"] or o in withs:
                reach(i + 1 + arg, (*stack, "except"))
                kind = "with" if o in withs else _finally_kind(code, co, 2 * (i + 1 + arg), op)
                nxt = (*stack, kind)
            elif o in pops:
                nxt = stack[:-1]
            elif o in ends:
                nxt = None
            i += 1
            if nxt is None or blocks[i] is not None:
                break
            blocks[i] = stack = nxt
    return blocks


def _finally_kind(code: "CodeType", co: bytes, b: int, op: "dict[str, int]") -> str:
    """3.10: 'named' if the handler at byte *b* is ``LOAD_CONST None; STORE e; DELETE e;
    RERAISE 1`` (the cleanup of ``except E as e:``), else 'try'."""
    named = (
        b + 7 < len(co)
        and co[b] == op["LOAD_CONST"]
        and code.co_consts[co[b + 1]] is None
        and co[b + 2] in (op["STORE_NAME"], op["STORE_FAST"], op["STORE_GLOBAL"])
        and co[b + 4] in (op["DELETE_NAME"], op["DELETE_FAST"], op["DELETE_GLOBAL"])
        and co[b + 3] == co[b + 5]
        and co[b + 6] == op["RERAISE"]
        and co[b + 7] == 1
    )
    return "named" if named else "try"
