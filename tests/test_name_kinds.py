"""Lazy names behave like the objects they stand for: no outcome of ordinary code changes
(issue 12).

Every case runs one script three times in fresh interpreters — eagerly, lazily with an empty
cache (cold: it learns), lazily again (warm: from-imports bind lazy names) — and the exit
status, stdout and stderr must be identical.  Each case also shows, through
``lazyhook.report()``, how the warm run bound its names, so a case cannot pass by binding
nothing lazily.
"""

from __future__ import annotations

import json
import textwrap
import typing

import pytest
from conftest import Sandbox, same_outcome

INSTALL = "import lazyhook\nlazyhook.install()\n"
# Printed last by every case: how the warm run bound names (empty when eager).
BOUND = (
    "\nimport json as _json\nprint('BOUND', _json.dumps(lazyhook.report()['totals']['bound'],"
    " sort_keys=True))\n"
)


def bound(result_lines: list[str]) -> dict[str, int]:
    line = next(x for x in result_lines if x.startswith("BOUND "))
    return json.loads(line[6:])  # type: ignore[no-any-return]


def check(sandbox: Sandbox, files: dict[str, str], code: str) -> dict[str, int]:
    """Eager, cold, warm: same outcome; the warm run's binding counts."""
    sandbox.write(files)
    eager, cold, warm = sandbox.eager_cold_warm(INSTALL + textwrap.dedent(code) + BOUND)
    assert eager.returncode == 0, eager.out + eager.err
    strip = [x for x in eager.lines if not x.startswith("BOUND ")]
    for r in (cold, warm):
        assert (r.returncode, r.err) == (eager.returncode, eager.err), r.out + r.err
        assert [x for x in r.lines if not x.startswith("BOUND ")] == strip, r.out + r.err
    return bound(warm.lines)


def test_class_statements_with_lazy_bases(sandbox: Sandbox) -> None:
    """A from-imported class or function used as a base is bound real at the statement: a
    stand-in base leaves ``__orig_bases__`` on the class (eagerly absent, or holding the real
    object), and an exception stand-in, a class itself, conflicts with ``metaclass=``."""
    files = {
        "shapes.py": "import abc\nclass Base:\n    kind = 'base'\n"
        "class Meta(type):\n    pass\nclass ABCBase(abc.ABC):\n    pass\n"
        "class ShapeError(ValueError):\n    pass\n",
        "other.py": "class Plain:\n    pass\n",
    }
    code = """
    from typing import NamedTuple, TypedDict
    from shapes import Base, Meta, ABCBase, ShapeError
    from other import Plain
    class Point(NamedTuple):
        x: int
        y: int = 0
    class Movie(TypedDict):
        title: str
    class Mixed(Base, ABCBase):
        pass
    class WithMeta(Base, metaclass=Meta):
        pass
    class BadShape(ShapeError, metaclass=Meta):
        pass
    def later():
        class Late(Plain):
            pass
        return Late
    print(Point(1), Point._fields, Movie(title="x"), Mixed().kind, type(WithMeta).__name__)
    print(issubclass(Mixed, ABCBase), isinstance(Mixed(), Base), type(BadShape).__name__)
    print([c.__dict__.get("__orig_bases__") for c in (Mixed, WithMeta, BadShape, later())])
    print(Point.__orig_bases__[0] is NamedTuple)
    try:
        raise BadShape("x")
    except ShapeError as e:
        print("caught", type(e).__name__)
    """
    got = check(sandbox, files, code)
    assert "stand-in" not in got and "exception class" not in got, got
    # shapes' and other's statements; typing's too where it has no module __getattr__
    # (3.12+'s runs it at its from-import's __path__ read, before any name is bound).
    assert got.get("at the statement", 0) >= (2 if hasattr(typing, "__getattr__") else 3), got


def test_except_and_raise_with_lazy_exception_classes(sandbox: Sandbox) -> None:
    files = {
        "errs.py": "class AppError(ValueError):\n    pass\nclass DeepError(AppError):\n    pass\n",
    }
    code = """
    from json import JSONDecodeError, loads
    from decimal import InvalidOperation
    from errs import AppError, DeepError
    try:
        int("not a number")  # raised before decimal or errs has run
    except (OSError, InvalidOperation, AppError):
        print("wrong handler")
    except ValueError as e:
        print("ValueError", e)
    try:
        loads("{bad")
    except (OSError, JSONDecodeError) as e:
        print("JSONDecodeError", type(e).__name__, e.pos)
    try:
        raise DeepError
    except AppError as e:
        print("caught", type(e).__name__, type(e).__module__, isinstance(e, ValueError))
    try:
        raise AppError("with a message")
    except AppError as e:
        print("caught", e)
    print(issubclass(ValueError, AppError), AppError.__name__, AppError.__doc__)
    """
    got = check(sandbox, files, code)
    # decimal's InvalidOperation is _decimal's (its __module__ says "decimal", whose code
    # defines no such class): bound at the statement, where _decimal's raising it can't miss.
    assert got.get("exception class", 0) >= 2 and got.get("at the statement", 0) >= 1, got


def test_protocol_checks_see_the_real_type(sandbox: Sandbox) -> None:
    files = {
        "conf.py": "import os\nDEFAULT_WORKERS = 4\nCOMPUTED = len(os.sep) * 3\n",
        # An instance named explicitly is bound at the statement (identity); through a star
        # import it is a stand-in, which must not claim __call__ or __iter__ (click's Sentinel
        # is an Enum member: hasattr(type, "__call__") found the metaclass's).
        "objs.py": "import enum\nclass Cfg:\n    pass\nINSTANCE = Cfg()\n"
        "class Sentinel(enum.Enum):\n    UNSET = object()\nUNSET = Sentinel.UNSET\n",
    }
    # The uses run through exec: in this code they would be value uses (callable(X), a list
    # of them), bound real at the statement (_uses.value_used); exec'd code reads the
    # stand-ins a star import bound, as code of another module would.
    code = """
    import collections.abc
    from objs import *
    later = lambda: (UNSET.name, INSTANCE.x)  # read (else objs runs at the star import)
    from conf import DEFAULT_WORKERS, COMPUTED  # COMPUTED: the module runs here
    use = lambda: (DEFAULT_WORKERS, COMPUTED)  # read here: an unread import stays eager
    exec('''if True:
        print(callable(UNSET), isinstance(UNSET, collections.abc.Iterable))
        print(callable(DEFAULT_WORKERS), callable(COMPUTED), callable(INSTANCE))
        print(isinstance(DEFAULT_WORKERS, collections.abc.Iterable),
              isinstance(INSTANCE, collections.abc.Iterable), isinstance(COMPUTED, int))
        def flatten(x):
            iterable = isinstance(x, collections.abc.Iterable)
            return [y for i in x for y in flatten(i)] if iterable else [x]
        print(flatten([DEFAULT_WORKERS, [COMPUTED]]), type(INSTANCE).__name__ != "x")
    ''')
    """
    got = check(sandbox, files, code)
    assert got.get("value") == 1 and got.get("at the statement") == 1
    assert got.get("stand-in", 0) >= 3  # objs' names (star): Cfg, INSTANCE, UNSET...


def test_constants_passed_to_apis_that_need_the_exact_type(sandbox: Sandbox) -> None:
    files = {
        "consts.py": "SEP = ' | '\nMODE = 'w'\nPAT = r'\\d+'\nCODE = 3\nPUNCT = '!?.'\n"
        "CONFIG = {'a': 1}\nSCALE = 2.5\n"
    }
    code = """
    import json, re, sys
    from string import punctuation
    from consts import SEP, MODE, PAT, CODE, PUNCT, CONFIG, SCALE
    print("Hello!".strip(punctuation), "!" in punctuation, str.maketrans("", "", PUNCT) != {})
    print(json.dumps(CONFIG), re.findall(PAT, "a1b22"), "x", "y", sep=SEP)
    with open("out.txt", MODE) as f:
        f.write("ok")
    print(SCALE * 2, [0] * CODE)
    sys.exit(CODE)
    """
    sandbox.write(files)
    eager, cold, warm = sandbox.eager_cold_warm(INSTALL + textwrap.dedent(code))
    assert eager.returncode == 3, eager.out + eager.err
    same_outcome(eager, cold, warm)


def test_identity_of_literals_and_defaults(sandbox: Sandbox) -> None:
    files = {
        "sentinels.py": "newaxis = None\nDEFAULT_TIMEOUT = None\nFLAGS = ('-q', '-x')\n"
        "def helper():\n    return 1\n"
    }
    # With a name that is not a literal: a statement of literals only runs its module (nothing
    # it binds would ever run it: test_fidelity_regressions).
    code = """
    from sentinels import newaxis, DEFAULT_TIMEOUT, FLAGS, helper
    def fetch(timeout=DEFAULT_TIMEOUT):
        return "default" if timeout is None else "given"
    print(newaxis is None, fetch(), FLAGS is FLAGS, type(FLAGS).__name__)
    def later():
        return helper()  # returned itself, helper would be a value: bound real
    """
    got = check(sandbox, files, code)
    assert got == {"value": 3, "stand-in": 1}


def test_in_place_operators_keep_the_callers_object(sandbox: Sandbox) -> None:
    files = {"flags.py": "import os\nDEFAULT_FLAGS = ['-v']\nEXTRA = {'x'}\n"}
    code = """
    from flags import DEFAULT_FLAGS, EXTRA
    def add(cmd):
        cmd += DEFAULT_FLAGS
    cmd = ["run"]
    add(cmd)
    s = {"a"}
    alias = s
    s |= EXTRA
    print(cmd, sorted(s), alias is s)
    """
    got = check(sandbox, files, code)
    assert got == {"at the statement": 1}  # a mutable container named explicitly


def test_in_place_on_a_list_from_a_star_import_extends_it(sandbox: Sandbox) -> None:
    files = {"starflags.py": "import os\nDEFAULT_FLAGS = ['-v']\n"}
    code = """
    from starflags import *
    later = lambda: DEFAULT_FLAGS.copy()  # read (else starflags runs at the star import)
    cmd = ["run"]
    alias = cmd
    exec("cmd += DEFAULT_FLAGS")  # here a value use: bound real at the statement (_uses)
    print(cmd, alias is cmd)
    """
    got = check(sandbox, files, code)
    assert got.get("stand-in") == 1


def test_weak_references_to_lazy_functions_stay_valid(sandbox: Sandbox) -> None:
    files = {"handlers.py": "def on_event(x):\n    print('handled', x)\n"}
    code = """
    import gc, weakref
    from handlers import on_event
    listeners = weakref.WeakSet()
    listeners.add(globals()["on_event"])  # add(on_event): a value use, bound real (_uses)
    for cb in list(listeners):
        cb(1)  # the module runs here; the lazy name in globals is replaced
    gc.collect()
    print(len(listeners))
    for cb in list(listeners):
        cb(2)
    """
    got = check(sandbox, files, code)
    assert got == {"stand-in": 1}


def test_imports_inside_functions_are_eager(sandbox: Sandbox) -> None:
    files = {"errmod.py": "class MyError(Exception):\n    pass\ndef boom():\n    raise MyError\n"}
    code = """
    import errmod  # lazy
    def f():
        from errmod import MyError, boom
        try:
            boom()
        except (KeyError, MyError):
            return "caught", lazyhook.is_lazy(MyError)
    print(f())
    """
    check(sandbox, files, code)


def test_report_shows_how_names_were_bound(sandbox: Sandbox) -> None:
    files = {
        "mixed.py": "import os\nLIT = 1\ndef fn():\n    pass\nclass K:\n    pass\n"
        "class E(KeyError):\n    pass\nCONT = [1]\nsub = os\n"
    }
    code = "from mixed import LIT, fn, K, E, sub, CONT\n"  # CONT: the module runs there
    code += "use = lambda: (LIT, fn(), K(), sub, CONT)\n"  # unread imports stay eager (_reads)
    code += "def handle():\n    try:\n        pass\n    except E:\n        raise E\n"
    got = check(sandbox, files, code)
    assert got == {
        "value": 1,
        "stand-in": 2,
        "exception class": 1,
        "at the statement": 1,  # sub, a module used as a value: the statement runs mixed
    }


def test_module_names_are_module_stand_ins_that_run_their_module_first(sandbox: Sandbox) -> None:
    """A name that is a module binds a module stand-in: a module object whose first use runs
    the module that binds it — whose body eagerly ran at the statement, configuring that
    module (``random.seed``), importing its submodules (``xml.dom`` is an attribute only once
    ``xml.dom.minidom`` was imported) — then answers as the real module.  Used as a value,
    the module runs at the statement."""
    files = {
        "kit/__init__.py": "print('RUN kit')\nimport random, xml.dom.minidom\n"
        "random.seed(1)\nfrom . import tools\nfrom .inner import deep\n"
        "tools.CONFIGURED = True\n__all__ = ['tools', 'deep', 'random', 'xml', 'helper']\n"
        "def helper():\n    return 'h'\n",
        "kit/tools.py": "print('RUN tools')\ndef hello():\n    return 'hi'\n",
        "kit/inner/__init__.py": "",
        "kit/inner/deep.py": "DEPTH = 2\n",
        "other.py": "import json\nJSON_OK = True\njson.CHECKED = True\ndef f():\n    pass\n",
        "probe.py": "import inspect, sys, types\nm = sys.modules['__main__']\n"
        "def kinds():\n    return isinstance(m.tools, types.ModuleType), inspect.ismodule(m.deep)\n"
        "def same():\n    return (m.tools is sys.modules['kit.tools'], repr(m.deep)[:22],\n"
        "            sorted(n for n in dir(m.tools) if n[0] != '_'))\n",
    }
    code = """
    import probe
    from kit import *
    from other import json, f
    def later():
        print(tools.hello(), tools.CONFIGURED, deep.DEPTH, deep.__name__, helper())
        print(round(random.random(), 6), xml.dom.minidom.parseString("<r/>").firstChild.tagName)
        print(json.CHECKED)
    print(probe.kinds())
    later()
    print(probe.same())
    """
    got = check(sandbox, files, code)
    assert got.get("module stand-in") == 5, got  # tools, deep, random, xml; json
    value_use = code.replace("print(probe.kinds())", "print(probe.kinds(), type(tools))")
    got = check(sandbox, files, value_use)  # the star import runs kit; json and f stay lazy
    assert got == {"at the statement": 1, "module stand-in": 1, "stand-in": 1}, got


def test_a_module_name_its_package_no_longer_binds_is_imported_as_eagerly(
    sandbox: Sandbox,
) -> None:
    # The entry learned ``sub`` while APP_SUB was set (the package's body imported it); without
    # it, eagerly ``from pkg import sub`` imports the submodule itself: so does the stand-in.
    files = {
        "pkg/__init__.py": "import os\nif os.environ.get('APP_SUB'):\n    from . import sub\n"
        "def f():\n    return 'f'\n",
        "pkg/sub.py": "NAME = 'sub'\n",
    }
    sandbox.write(files)
    code = INSTALL + (
        "from pkg import sub, f\nprint(lazyhook.is_lazy(f))\n"
        "def later():\n    return sub.NAME, f()\nprint(later())\n"
    )
    on = sandbox.env(APP_SUB="1")
    sandbox.run(code, env=on)
    assert sandbox.run(code, env=on).lines == ["True", "('sub', 'f')"]
    eager = sandbox.run(code, env=sandbox.env(LAZYHOOK_DISABLE="1"))
    lazy = sandbox.run(code, check=False)
    assert (lazy.returncode, lazy.lines[1:], lazy.err) == (0, eager.lines[1:], "")


def test_module_names_called_or_in_class_bodies_are_the_modules(sandbox: Sandbox) -> None:
    """A module a from-import binds in a class body is never replaced there (only module
    namespaces are), and one the code calls must be callable as the module is (``sh`` makes
    itself callable): both are the real module, at the statement."""
    files = {
        "lib/__init__.py": "from . import sub\ndef helper():\n    return 'h'\n",
        "lib/sub.py": "X = 1\n",
        "clib/__init__.py": "from . import tool\ndef helper2():\n    return 'h2'\n",
        "clib/tool.py": "import sys, types\nclass _M(types.ModuleType):\n"
        "    def __call__(self, x):\n        return x * 2\nsys.modules[__name__].__class__ = _M\n",
    }
    code = """
    import sys
    from clib import tool, helper2
    class A:
        from lib import sub, helper as h
    print(A.sub.X, A.sub is sys.modules["lib.sub"], type(A.sub).__name__, A.h())
    print(tool(21), helper2())
    """
    got = check(sandbox, files, code)
    assert got == {"at the statement": 2}, got


def test_a_module_stand_ins_frames_are_named_like_importlibs(sandbox: Sandbox) -> None:
    # The first use through a module stand-in runs the module; its error's traceback has
    # lazyhook's frames named like importlib's own (README, Limit 1), none with a source line.
    init = "from . import sub\ndef helper():\n    return 1\nimport os\nif os.environ.get('FAIL'):\n"
    sandbox.write({"lib/__init__.py": init + "    1 / 0\n", "lib/sub.py": "X = 1\n"})
    code = INSTALL + "from lib import sub, helper\ndef later():\n    helper()\nprint(sub.X)\n"
    sandbox.run(code)
    sandbox.run(code)
    r = sandbox.run(code, check=False, env=sandbox.env(FAIL="1"))
    assert "ZeroDivisionError" in r.err and '_module_names.py"' not in r.err, r.err
    assert "_module_names.py: runs lazy bodies" in r.err, r.err


def test_names_exclude_keeps_one_modules_names_eager(sandbox: Sandbox) -> None:
    sandbox.write({"keep.py": "def f():\n    return 1\n", "other.py": "def g():\n    return 2\n"})
    code = """
    import lazyhook
    lazyhook.install(names_exclude=["keep"])
    import keep
    use = lambda: keep  # read: an import nothing reads stays eager (_reads)
    from keep import f
    from other import g
    print(lazyhook.is_lazy(f), lazyhook.is_lazy(g))
    """
    sandbox.run(code)
    r = sandbox.run(code)
    assert r.lines == ["False True"]
    # keep's names were never wanted: the first run that wants them learns them (eager), the
    # next binds them lazily.
    other = sandbox.env(LAZYHOOK_NAMES_EXCLUDE="other")
    assert sandbox.run(code.replace('names_exclude=["keep"]', ""), env=other).lines == [
        "False False"
    ]
    r = sandbox.run(code.replace('names_exclude=["keep"]', ""), env=other)
    assert r.lines == ["True False"]


@pytest.mark.parametrize("kind", ["class", "function"])
def test_pickle_of_a_lazy_class_or_function_is_by_reference(sandbox: Sandbox, kind: str) -> None:
    files = {"pk.py": "class C:\n    pass\ndef fn():\n    return 5\n"}
    name = "C" if kind == "class" else "fn"
    code = f"""
    import pickle, subprocess, sys
    from pk import {name}
    data = pickle.dumps({name})
    out = subprocess.run([sys.executable, "-c", "import pickle, sys; "
                          "print(pickle.loads(sys.stdin.buffer.read()).__name__)"],
                         input=data, capture_output=True).stdout.decode().strip()
    print(out, pickle.loads(data) is {name} or lazyhook.is_lazy({name}))
    """
    check(sandbox, files, code)


def test_classes_used_as_match_patterns_are_bound_at_the_statement(sandbox: Sandbox) -> None:
    # ``case C(...)`` demands a real class ("called match pattern must be a type"); an
    # exception stand-in would be a class but match no instance.  Such names bind the real
    # class, at the statement; the other names of the statement stay lazy.
    files = {
        "shapes.py": "class Point:\n    __match_args__ = ('x', 'y')\n"
        "    def __init__(self, x, y):\n        self.x, self.y = x, y\n"
        "class Failure(Exception):\n    pass\n"
        "def origin():\n    return Point(0, 0)\n",
        "other.py": "class Circle:\n    pass\n",
    }
    code = """
    from shapes import Point, Failure, origin
    from other import Circle
    def describe(v):
        match v:
            case Point(x=0, y=0):
                return "origin"
            case Failure():
                return "failure"
            case _:
                return "other"
    print(describe(Point(0, 0)), describe(Failure()), describe(Circle()), describe(origin()))
    """
    got = check(sandbox, files, code)
    assert got == {"at the statement": 1, "stand-in": 1}


def test_learning_never_asks_a_modules_own_getattr() -> None:
    # _learn and _sources asked getattr(module, "__path__", None): a PEP 562 __getattr__
    # (a shim that warns for any name) ran at exit, its warning attributed to lazyhook.
    import types

    from lazyhook import _sources

    asked: list[str] = []
    module = types.ModuleType("shim")
    module.__getattr__ = lambda name: asked.append(name)  # type: ignore[method-assign]
    package = types.ModuleType("pkg")
    package.__path__ = ["/x"]
    assert _sources.package_path(module) is None and asked == []
    assert _sources.package_path(package) == ["/x"]
