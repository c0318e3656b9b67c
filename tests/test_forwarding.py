"""A lazy name that escaped before resolution forwards every protocol (issues 4 and 12).

Each case runs twice in fresh interpreters: eagerly, and lazily with a warm cache, on a
reference ``L[name]`` captured *before* anything resolved (so it stays a lazy name for the
whole case, even after its module ran).  The printed results must be identical.  The names
come from a star import, where every kind but a literal gets a stand-in (an explicit
from-import of a container or a computed builtin value runs the module at the statement
instead, see tests/test_name_kinds.py); so the values below are computed, not literals.
"""

from __future__ import annotations

import re

import pytest
from conftest import RUN, Sandbox

TARGET = (
    RUN
    + '''
import functools

class Vec:
    def __init__(self, *xs):
        self.xs = list(xs)
    def __repr__(self):
        return f"Vec{tuple(self.xs)}"
    def __matmul__(self, other):
        return sum(a * b for a, b in zip(self.xs, other.xs))
    def __eq__(self, other):
        return isinstance(other, Vec) and self.xs == other.xs
    __hash__ = None

class Obj:
    pass

class CM:
    def __enter__(self):
        print("enter")
        return "cm-value"
    def __exit__(self, *exc):
        print("exit", exc[0])
        return True

class ACM:
    async def __aenter__(self):
        return "acm-value"
    async def __aexit__(self, *exc):
        return False

class AIter:
    def __init__(self):
        self.n = 0
    def __aiter__(self):
        return self
    async def __anext__(self):
        self.n += 1
        if self.n > 3:
            raise StopAsyncIteration
        return self.n

async def coro():
    return 5

class Base:
    kind = "base"
    def hello(self):
        return "hello from " + type(self).__name__

class Meta(type):
    pass

def func(a, b=2):
    """func's doc"""
    return a + b

@functools.wraps(func)
def wrapper(*args, **kwargs):
    return func(*args, **kwargs)

class P:
    def __fspath__(self):
        return "/some/path"

NUM = int("7")
ONE = int("1")
FLT = float("2.5")
LST = [1, 2, 3]
DCT = {"a": 1}
TXT = "".join("text")
OBJ = Obj()
VEC = Vec(1, 2)
INST = Base()
BYTES_LIKE = bytearray(b"ab")
'''
)

CASES = {
    "call": "print(L['func'](1), L['func'](1, b=5), L['func'](L['NUM']))",
    "attributes": "o = L['OBJ']; o.attr = 5; print(o.attr); del o.attr; print(hasattr(o, 'attr'))",
    "repr_str_format": "print(repr(L['VEC']), str(L['TXT']), format(L['FLT'], '.3f'), f\"{L['NUM']:>4}\")",
    "bool_hash_eq": "print(bool(L['NUM']), hash(L['TXT']) == hash('text'), L['TXT'] == 'text', L['VEC'] == L['VEC'])",
    "rich_comparisons": "n = L['NUM']; print(n < 8, n <= 7, n > 6, n >= 8, n != 7, 8 > n)",
    "arithmetic": "n = L['NUM']; print(n + 1, n - 1, n * 2, n / 2, n // 2, n % 4, n ** 2, divmod(n, 3))",
    "bitwise": "n = L['NUM']; print(n << 1, n >> 1, n & 3, n ^ 1, n | 8)",
    "matmul": "print(L['VEC'] @ L['VEC'])",
    "reflected": "n = L['NUM']; print(1 + n, 10 - n, 2 * n, 14 / n, 15 // n, 15 % n, 2 ** n, 1 << n, 255 & n, divmod(15, n))",
    "inplace": "n = L['NUM']; n += 1; print(n); lst = L['LST']; lst += [4]; print(lst, L['LST'])",
    "unary": "n = L['NUM']; print(-n, +n, abs(-L['FLT']), ~n)",
    "containers": "l = L['LST']; d = L['DCT']; print(len(l), list(iter(l)), list(reversed(l)), 2 in l, l[0], d['a']); l[0] = 9; d['b'] = 2; del d['a']; print(l, d)",
    "numbers": "import math; print(int(L['FLT']), float(L['NUM']), complex(L['NUM']), [10, 20][L['ONE']], round(L['FLT']), math.trunc(L['FLT']), math.floor(L['FLT']), math.ceil(L['FLT']))",
    "index": "import operator; print(operator.index(L['NUM']), bin(L['NUM']), 'abc'[L['ONE']:])",
    "with": "with L['CM']() as v:\n    print(v)\n    raise KeyError('swallowed')\nprint('after')",
    "async": "import asyncio\nasync def main():\n    async with L['ACM']() as v:\n        print(v)\n    print(await L['coro']())\n    print([i async for i in L['AIter']()])\nasyncio.run(main())",
    "isinstance_issubclass": "print(isinstance(L['INST'], L['Base']), issubclass(bool, L['Base']), isinstance(L['INST'], object), isinstance(L['NUM'], int), L['INST'].__class__.__name__)",
    "subclass": "class Mine(L['Base']):\n    pass\nprint(Mine().hello(), Mine.kind, Mine.__mro__[1].__name__)",
    "metaclass": "class K(metaclass=L['Meta']):\n    pass\nprint(type(K).__name__)",
    "descriptor": "class K:\n    m = L['func']\n    b = L['Base']\nprint(K.m(1), K().b().kind)\ntry:\n    K().m()\nexcept TypeError as e:\n    print('TypeError')\nclass J:\n    def __add__(self, other):\n        return 100 + other\n    add = L['func']\nprint(J().add(10))",
    "pickle": "import pickle, subprocess, sys\nfor n in ('func', 'Base', 'INST', 'NUM', 'LST', 'VEC'):\n    data = pickle.dumps(L[n])\n    print(n, repr(pickle.loads(data)).split(' at 0x')[0][:22], pickle.loads(data) == L[n] or n == 'INST')\ndata = pickle.dumps([L['func'], L['Base']])\nout = subprocess.run([sys.executable, '-c', 'import pickle,sys; print(pickle.loads(sys.stdin.buffer.read()))'], input=data, capture_output=True).stdout\nprint(out.decode().strip().replace(' at 0x', '@').split('@')[0])",
    "copy": "import copy; print(copy.copy(L['LST']), copy.deepcopy(L['DCT']), copy.copy(L['func']).__name__, copy.deepcopy(L['VEC']))",
    "introspection": "import inspect; print(L['func'].__name__, L['func'].__qualname__, L['func'].__module__, L['func'].__doc__); print(str(inspect.signature(L['func'])), L['wrapper'].__wrapped__.__name__, 'hello' in dir(L['Base']))",
    "help": "import pydoc; print('func(a, b=2)' in pydoc.render_doc(L['func']), \"func's doc\" in pydoc.render_doc(L['func']))",
    "fspath_bytes": "import os; print(os.fspath(L['P']()), bytes(L['BYTES_LIKE']))",
}

IMPORTS: dict[str, str] = {}
EXTRA_NAMES = {"pickle": {"func", "Base", "INST", "NUM", "LST", "VEC"}}


def _script(case: str, lazy: bool) -> str:
    names = sorted(set(re.findall(r"L\['(\w+)'\]", CASES[case])) | EXTRA_NAMES.get(case, set()))
    imports = IMPORTS.get(case, "from target import *")
    head = "import lazyhook\nlazyhook.install()\n" if lazy else "import lazyhook\n"
    # The keys are not the names: a type-like string indexing something counts as a value use
    # of the name it spells (``list["Day"]``), which would bind it real.
    body = re.sub(r"L\['(\w+)'\]", r"L['_\1']", CASES[case]).replace("L[n]", "L['_' + n]")
    return (
        head
        + imports
        + "\n"
        + f"L = {{'_' + n: globals()[n] for n in {names!r}}}\n"
        + "print('LAZY', all(lazyhook.is_lazy(v) for v in L.values()))\n"
        + body
        + "\n"
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_escaped_lazy_name_forwards(sandbox: Sandbox, case: str) -> None:
    sandbox.write({"target.py": TARGET})
    eager = sandbox.run(_script(case, lazy=False))
    sandbox.run(_script(case, lazy=True))  # cold: learns the names
    lazy = sandbox.run(_script(case, lazy=True))
    assert eager.lines[0] == "LAZY False"
    assert lazy.lines[0] == "LAZY True", lazy.out + lazy.err
    assert lazy.lines[1:] == eager.lines[1:], lazy.err
    assert len(eager.lines) > 1
