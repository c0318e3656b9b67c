"""``_interp``: what kind of statement an import is made from, read from live frames.

The ground truth is the source's syntax tree: for every ``import`` in a program, whether it
sits in a ``try`` body, an ``except`` clause, a ``with`` block.  Each program is executed with
a stand-in ``__import__`` that asks ``_interp.import_kind`` about the real frame (its real
``f_lasti``), on fixed cases and 300 random nestings, on whichever Python runs the suite.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import random
import subprocess
import sys
import types

import pytest

from lazyhook import _interp as I
from lazyhook import _reads

KIND = {I.STATEMENT: "statement", I.IN_WITH: "with", I.GUARDED: "guarded"}


def expected_kinds(src: str) -> dict[str, set[str]]:
    """name -> the kinds its import may have (a ``finally`` body has a normal-path copy and
    an exception-path copy; only the first runs here)."""
    out: dict[str, set[str]] = {}
    tries = (ast.Try, *((ast.TryStar,) if hasattr(ast, "TryStar") else ()))

    def visit(stmts: list[ast.stmt], guarded: bool, in_with: bool) -> None:
        kind = "guarded" if guarded else "with" if in_with else "statement"
        for s in stmts:
            if isinstance(s, ast.Import):
                for alias in s.names:
                    out.setdefault(alias.name, set()).add(kind)
            elif isinstance(s, tries):
                fin = bool(s.finalbody)
                visit(s.body, True, in_with)
                for handler in s.handlers:
                    visit(handler.body, True, in_with)
                visit(s.orelse, guarded or fin, in_with)
                visit(s.finalbody, guarded, in_with)
            elif isinstance(s, ast.With):
                visit(s.body, guarded, True)
            elif isinstance(s, (ast.If, ast.For, ast.While)):
                visit(s.body, guarded, in_with)
                visit(s.orelse, guarded, in_with)

    visit(ast.parse(src).body, False, False)
    return out


def observed_kinds(src: str) -> dict[str, str]:
    """Run *src*; every import reports ``_interp.import_kind`` of its real frame."""
    seen: dict[str, str] = {}

    def fake_import(name: str, *args: object, **kwargs: object) -> types.ModuleType:
        seen[name] = KIND.get(I.import_kind(sys._getframe(1)), "other")
        if name in RAISING:
            raise ImportError(name)
        return types.ModuleType(name)

    env = dict(vars(builtins), __import__=fake_import)
    ns = {"__builtins__": env, "__name__": "prog", "cm": contextlib.nullcontext, "cond": True}
    exec(compile(src, "<prog>", "exec", dont_inherit=True), ns)
    return seen


RAISING: set[str] = set()  # imports that raise, so that except clauses run

FIXED = [
    "import m1\n",
    "with cm():\n    import m1\n",
    "try:\n    import m0\nexcept ImportError:\n    pass\n",
    "try:\n    import m1\nfinally:\n    pass\n",
    "try:\n    with cm():\n        import m0\nexcept ImportError:\n    pass\n",
    "with cm():\n    try:\n        import m0\n    except ImportError:\n        pass\n"
    "    import m2\n",
    "try:\n    import m0\nexcept ImportError:\n    import m2\n",
    "try:\n    import m0\nexcept ImportError as e:\n    import m2\n",
    "try:\n    pass\nexcept ImportError:\n    pass\nelse:\n    import m1\n",
    "with cm(), cm():\n    import m1\nimport m2\n",
]


def _random_program(rng: random.Random) -> str:
    counter = [0]

    def block(indent: int, depth: int) -> list[str]:
        pad = "    " * indent
        out: list[str] = []
        for _ in range(rng.randint(1, 3)):
            r = rng.random()
            if depth >= 4 or r < 0.35:
                counter[0] += 1
                out.append(f"{pad}import m{counter[0]}")
            elif r < 0.5:
                out += [f"{pad}with cm():", *block(indent + 1, depth + 1)]
            elif r < 0.6:
                out += [f"{pad}if cond:", *block(indent + 1, depth + 1)]
            elif r < 0.65:
                out += [f"{pad}for i in range(1):", *block(indent + 1, depth + 1)]
            else:
                out += [f"{pad}try:", *block(indent + 1, depth + 1)]
                handlers = rng.randint(0, 2)
                for _ in range(handlers):
                    tail = " as err" if rng.random() < 0.4 else ""
                    out += [f"{pad}except ImportError{tail}:", *block(indent + 1, depth + 1)]
                if handlers and rng.random() < 0.4:
                    out += [f"{pad}else:", *block(indent + 1, depth + 1)]
                if not handlers or rng.random() < 0.4:
                    out += [f"{pad}finally:", *block(indent + 1, depth + 1)]
        return out

    return "\n".join(block(0, 0)) + "\n"


def _check(src: str) -> None:
    expected = expected_kinds(src)
    for name, kind in observed_kinds(src).items():
        assert kind in expected[name], f"{name}: {kind} not in {expected[name]}\n{src}"


@pytest.mark.parametrize("src", FIXED)
def test_fixed_programs(src: str) -> None:
    RAISING.clear()
    RAISING.add("m0")  # m0 fails, so that the except clauses after it run
    try:
        _check(src)
    finally:
        RAISING.clear()


def test_random_nestings() -> None:
    rng = random.Random(810)
    for _ in range(300):
        _check(_random_program(rng))


def test_calls_and_functions_are_not_statements() -> None:
    src = "def f():\n    import m1\nf()\n__import__('m2')\n"
    assert observed_kinds(src) == {"m1": "other", "m2": "other"}


def test_more_than_255_names_extended_arg() -> None:
    # 3.10's f_lasti then points at the EXTENDED_ARG prefix of IMPORT_NAME.
    src = "".join(f"v{i} = {i}\n" for i in range(300)) + "import m1\nwith cm():\n    import m2\n"
    assert observed_kinds(src) == {"m1": "statement", "m2": "with"}


def test_import_target_reads_name_and_level() -> None:
    got: list[tuple[str, int, object]] = []

    def fake_import(name: str, *args: object, **kwargs: object) -> object:
        got.append(_reads.import_target(sys._getframe(1)))
        return types.SimpleNamespace(x=1, y=2, z=3)

    env = dict(vars(builtins), __import__=fake_import)
    src = "import a.b.c\nfrom .. import x\nfrom .m import y\nfrom p.q import z\n"
    ns = {"__builtins__": env, "__name__": "pkg.mod", "__package__": "pkg"}
    exec(compile(src, "<prog>", "exec", dont_inherit=True), ns)
    assert got == [("a.b.c", 0, None), ("", 2, ("x",)), ("m", 1, ("y",)), ("p.q", 0, ("z",))]


def test_opcode_numbers_match_the_running_interpreter() -> None:
    """``_interp`` carries opcode numbers per version (no ``opcode`` import at start-up): each
    must be what this interpreter's own ``opcode`` module says (CI runs every version)."""
    import opcode

    names = [
        "IMPORT_NAME", "IMPORT_FROM", "LOAD_CONST", "EXTENDED_ARG", "STORE_NAME",
        "STORE_GLOBAL", "LOAD_NAME", "LOAD_GLOBAL", "POP_TOP", "MATCH_CLASS", "LOAD_BUILD_CLASS",
        "STORE_ATTR", "DELETE_ATTR",
    ]  # fmt: skip
    if sys.version_info >= (3, 11):
        names.append("SWAP")
    if sys.version_info >= (3, 12):
        names.append("LOAD_FROM_DICT_OR_GLOBALS")
    names += ["LOAD_ATTR", "LOAD_FAST", "LOAD_DEREF"]
    assert {n: getattr(I, n) for n in names} == {n: opcode.opmap[n] for n in names}
    # Named by role: the load of a method, the NULL of a call, what follows a call's arguments.
    v = sys.version_info[:2]
    roles = {
        "LOAD_METHOD": "LOAD_METHOD" if v < (3, 12) else None,
        "PUSH_NULL": "PUSH_NULL" if v >= (3, 11) else None,
        "CALL": {(3, 10): "CALL_FUNCTION", (3, 11): "PRECALL"}.get(v, "CALL"),
        "CALL_KW": {(3, 10): "CALL_FUNCTION_KW", (3, 13): "CALL_KW"}.get(v),
        "CALL_METHOD": "CALL_METHOD" if v == (3, 10) else None,
    }
    got = {role: getattr(I, role) for role in roles}
    assert got == {role: opcode.opmap[op] if op else -1 for role, op in roles.items()}


VALUE_USES_SRC = """
Call1('x')
Attr1.x
isinstance(v, Check1)
isinstance(f(v, 1), Check2)
issubclass(type(v), Check3)
Call2(1, k=Call3(2))
Attr2.s.t()
Val19.__class__
Val20.__reduce__(v)
help(Val1)
type(v) is Val2
x: Val3 = 1
isinstance(v, (Val4, Val5))
foo(v, Val6)
class K:
    y: Val7
def g(v):
    return isinstance(v.a.b, Check4), Call4(1, k=2), Val8
Val9[int]()
(w := Val10)()
[Val11][0]()
(Val12 + v)()
(Val13 or v)()
Call5(Call6(v.x), f(v))
def h(x):
    Val14[int]()
    (w := Val15)()
    return Call7(x, 1), Call8(Call9(x))
Call10(v or 0, k=Call11(v if v else w))
Val16(v and w.x, *v)
try:
    raise Exc1
except Exc2:
    raise Exc3("x") from Exc4
except (OSError, Exc5, v.Err):
    raise v.E from Exc6
except [Val17][0]:
    raise Val18[0]
"""  # Val16: a starred call is not followed: a value (laziness, never an outcome)


def test_value_uses_tell_calls_attributes_and_isinstance_from_values() -> None:
    """``_uses.value_used`` (its fast path reads only the instructions around each load) and
    ``_uses_ref.value_uses`` (every instruction) agree on every supported version: calls,
    attribute reads (not ``__class__``), the class of isinstance/issubclass, ``is_lazy(x)``
    and, for exception classes, ``raise E`` and ``except (A, E)`` keep a name lazy; anything
    else binds it real."""
    from lazyhook import _uses, _uses_ref
    from lazyhook._uses_ref import value_uses

    assert _uses.OWN_READS == _uses_ref._OWN_READS  # kept twice: no import between the two
    src = VALUE_USES_SRC + "import lazyhook\nlazyhook.is_lazy(Check5)\nis_lazy(Check6)\n"
    code = compile(src, "<prog>", "exec", dont_inherit=True)
    tree = _uses._tree(code)
    kinds = ("Call", "Attr", "Check", "Val", "Exc")
    ours = {n for c in tree for n in c.co_names if n.rstrip("0123456789") in kinds}
    expected = {f"Val{i}" for i in range(1, 21)}
    exceptions = frozenset(f"Exc{i}" for i in range(1, 7))  # bound as exception stand-ins
    assert _uses.value_used(code, ours, exceptions) == expected
    assert {n for c in tree for n in value_uses(c, exceptions)} & ours == expected
    # Any other kind raised or caught is a value: a stand-in of an instance is no exception.
    assert _uses.value_used(code, ours) == expected | exceptions - {"Exc3"}
    assert {n for c in tree for n in value_uses(c)} & ours == expected | exceptions - {"Exc3"}


CALL_SHAPES_SRC = """
from decimal import Decimal
from pkg import C, D, E, F
import os
Decimal(str(os.sep))
C(os.sep, key=len(os.sep), other=os.sep < "a")
D(os.path.join(os.sep, "a"), [1, os.sep], (1, 2), 1 + os.sep, {}[os.sep], os.sep or 1)
def f(a, b):
    return E(a, b, a.b(1), k=str(b)), F(a)[0]
"""


@pytest.mark.skipif(sys.version_info < (3, 11), reason="3.10's calls carry no NULL marker")
def test_common_call_shapes_are_read_without_the_reference_walker() -> None:
    """Nested calls, keyword arguments, operators, tuples and lists as a call's arguments are
    followed by ``_uses``' fast path: loading ``_uses_ref`` and ``opcode`` for them cost a CLI
    ~0.9 ms (``Decimal(str(x))`` sent 42 % of real modules there; 20 % now).  A conditional
    expression among the arguments still goes to the reference, which agrees."""
    code = f"import sys\nfrom lazyhook import _uses\nsrc = {CALL_SHAPES_SRC!r}\n"
    code += "code = compile(src, 'p', 'exec', dont_inherit=True)\n"
    code += "print(sorted(_uses.value_used(code, ['Decimal', 'C', 'E', 'F'])))\n"
    code += "print('lazyhook._uses_ref' in sys.modules)\n"
    code += "print(sorted(_uses.value_used(code, ['D'])), 'lazyhook._uses_ref' in sys.modules)\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:3] == ["[]", "False", "[] True"]


def test_value_uses_read_full_arguments_and_annotation_scopes() -> None:
    """An EXTENDED_ARG prefix is part of an argument (``myfn`` at index 257 is not
    ``is_lazy`` at index 1); 3.12+'s annotation scopes in a class body load globals with
    LOAD_FROM_DICT_OR_GLOBALS, which counts as a value (found by a differential hunt)."""
    from lazyhook import _uses
    from lazyhook._uses_ref import value_uses

    # co_names: lazyhook, is_lazy (1), pkg, Cls, Other, Cls2, 251 pads, myfn (257: 1 + 256)
    pads = "".join(f"pad{i} = 0\n" for i in range(251))
    src = "from lazyhook import is_lazy\nfrom pkg import Cls, Other, Cls2\n" + pads
    src += "def myfn(x):\n    return x\n"
    src += "kept = [myfn(Cls)]\nis_lazy(Other)\nCls2.attr\n"
    cases = [(src, {"Cls", "Other", "Cls2"}, {"Cls"})]
    if sys.version_info >= (3, 12):
        scopes = "class O:\n    def m[T](self, x: Ann) -> T:\n        pass\n"
        scopes += "    class I[T](Base):\n        pass\n    type A = Alias\n"
        cases.append((scopes, {"Ann", "Base", "Alias"}, {"Ann", "Base", "Alias"}))
    for text, names, expected in cases:
        code = compile(text, "<prog>", "exec", dont_inherit=True)
        tree = _uses._tree(code)
        assert _uses.value_used(code, names) == expected
        assert {n for c in tree for n in value_uses(c)} & names == expected


@pytest.mark.parametrize(
    ("src", "handed_on"),
    [
        ("runner.run(globals())", True),
        ("code.interact(local=globals())", True),
        ("eval(s, globals())", True),
        ("f(globals)", True),
        ("run(locals())", True),
        ("def f():\n    return run(globals())", True),
        ("n = sum(1 for v in globals().values())", False),
        ("x = globals()['a']", False),
        ("globals()['a'] = 1", False),
        ("x = globals()[name]", False),
        ("g = globals()", False),
        ("b = 'a' in globals()", False),
        ("for k in globals(): pass", False),
        ("before = set(globals())", False),
        ("names = sorted(globals())", False),
        ("n = len(globals())", False),
        ("d = dict(globals())", True),
        ("globals().update(a=1)", False),
        ("def f():\n    return locals()", False),
        ("eval(s, vars())", True),
        ("code.interact(local=vars())", True),
        ("opts = vars(args)", False),
        ("print(vars(parser.parse_args()))", False),
        ("def f(self):\n    return run(vars(self))", False),
        ("def f():\n    return run(vars())", False),
    ],
)
def test_namespace_handed_on(src: str, handed_on: bool) -> None:
    # Code that hands globals() to other code makes every from-imported name a value
    # (_uses.value_used: EVERY); reading from it does not.
    from lazyhook import _uses
    from lazyhook._uses_ref import namespace_handed_on

    code = compile(src, "<m>", "exec", dont_inherit=True)
    assert any(namespace_handed_on(c) for c in _uses._tree(code)) == handed_on


@pytest.mark.parametrize(
    ("src", "kept"),
    [
        ("opts = vars(args)", True),
        ("print(vars(parser.parse_args()))", True),
        ("def f(self):\n    return vars(self)", True),
        ("n = sum(1 for v in list(globals().values()))", True),
        ("x = globals().get('a')", True),
        ("globals().update(a=1)", True),
        ("def f():\n    return globals().get('a')", True),
        ("x = 1", True),
        ("eval(s, vars())", False),
        ("run(vars(a), vars())", False),
        ("runner.run(globals())", False),
        ("g = globals()", False),
        ("f(globals)", False),
    ],
)
def test_namespace_kept_needs_no_full_read(src: str, kept: bool) -> None:
    # vars(obj) and globals().get(k) are common in scripts: told from the bytes, without
    # loading _uses_ref and opcode (~0.7 ms); other shapes go to namespace_handed_on.
    from lazyhook import _uses

    code = compile(src, "<m>", "exec", dont_inherit=True)
    assert all(_uses._namespace_kept(c) for c in _uses._tree(code)) == kept
