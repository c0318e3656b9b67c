"""Minimal regressions for the mechanisms the fidelity tier (test_fidelity.py) found.

Plain tests (not marked ``fidelity``): each reproduces, on tiny synthetic packages, one way in
which a real package's suite behaved differently with lazyhook active, and asserts the eager
behaviour.  The README's "Fidelity" section tells which suite showed each one.
"""

from __future__ import annotations

import os
import re

import pytest
from conftest import ROOT, RUN, Sandbox, same_outcome


def test_pkgutil_extend_path_namespace_package(sandbox: Sandbox) -> None:
    # A pkgutil-style namespace package split over two directories: its body extends
    # __path__.  Importing ns.sub reads the lazy parent's __path__ before any finder runs, so
    # the search must use the __path__ the body computes, not the one the spec gave.
    init = '__path__ = __import__("pkgutil").extend_path(__path__, __name__)\n'
    sandbox.write({"a/ns/__init__.py": init, "b/ns/__init__.py": init, "b/ns/sub.py": "X = 1\n"})
    env = sandbox.env()
    env["PYTHONPATH"] = f"{sandbox.src / 'a'}:{sandbox.src / 'b'}:{env['PYTHONPATH']}"
    code = """
        import lazyhook
        lazyhook.install()
        import ns.sub
        print("X", ns.sub.X)
        """
    r = sandbox.run(code, env=env)
    assert r.lines == ["X 1"]


# toolz's tlz: a meta path finder whose loader mirrors toolz.X as tlz.X.  Its find_spec answers
# for any tlz.* name; its exec_module imports toolz.X (ImportError if there is none) and sets
# __package__ and __file__ on the module.
MIRROR = """
    import importlib, sys, types
    from importlib.machinery import ModuleSpec

    class Finder:
        def find_spec(self, name, path, target=None):
            if name.partition(".")[0] == "mir":
                return ModuleSpec(name, self, is_package=name == "mir")
        def create_module(self, spec):
            return types.ModuleType(spec.name)
        def exec_module(self, module):
            if module.__name__.endswith("missing"):
                raise ImportError("no such mirror: " + module.__name__)
            module.__package__ = module.__name__
            module.__file__ = "/real/" + module.__name__
            module.VALUE = 42

    sys.meta_path.append(Finder())
"""


def test_loader_setting_module_attributes_in_exec_module(sandbox: Sandbox) -> None:
    # A lazy module must not answer __package__/__file__ from the values the import system set
    # before the loader's exec_module ran (tlz.curried.__package__ was 'tlz').
    sandbox.write({"mirror.py": MIRROR})
    code = """
        import mirror, lazyhook
        lazyhook.install()
        import mir.sub
        print(mir.sub.__package__, mir.sub.__file__, mir.sub.VALUE)
        """
    eager = sandbox.run(code, env=sandbox.env(LAZYHOOK_DISABLE="1"))
    assert eager.lines == ["mir.sub /real/mir.sub 42"]
    assert sandbox.run(code).lines == eager.lines


def test_custom_loader_failing_in_exec_module_raises_at_the_import_statement(
    sandbox: Sandbox,
) -> None:
    # `try: import tlz.curry / except ImportError` (toolz's test_tlz): the finder's spec does
    # not prove the module exists, its loader decides when executing.  Deferred, the
    # ImportError escaped the try and surfaced at first use.
    sandbox.write({"mirror.py": MIRROR})
    code = """
        import mirror, lazyhook
        lazyhook.install()
        try:
            import mir.missing
        except ImportError as exc:
            print("ImportError at the statement:", exc)
        else:
            print("no error at the statement")
        """
    eager = sandbox.run(code, env=sandbox.env(LAZYHOOK_DISABLE="1"))
    assert eager.lines == ["ImportError at the statement: no such mirror: mir.missing"]
    assert sandbox.run(code, check=False).lines == eager.lines


def test_unittest_discovery_of_a_module_that_skips_itself(sandbox: Sandbox) -> None:
    # CPython's test_importlib/test_windows.py raises unittest.SkipTest at import (no winreg).
    # unittest's loader imports each test module and turns that into a skipped test; with the
    # import lazy, the SkipTest escaped later from dir(module) and broke the whole discovery.
    sandbox.write(
        {
            "tpkg/__init__.py": "",
            "tpkg/test_skipper.py": "import unittest\nraise unittest.SkipTest('not here')\n",
            "tpkg/test_fine.py": """
                import unittest

                class T(unittest.TestCase):
                    def test_ok(self):
                        pass
            """,
        }
    )
    code = f"""
        import lazyhook
        lazyhook.install()
        import unittest
        suite = unittest.TestLoader().discover({str(sandbox.src / "tpkg")!r},
                                               top_level_dir={str(sandbox.src)!r})
        result = unittest.TestResult()
        suite.run(result)
        print("ran", result.testsRun, "skipped", len(result.skipped), "errors", len(result.errors))
        """
    eager = sandbox.run(code, env=sandbox.env(LAZYHOOK_DISABLE="1"))
    assert eager.lines[0].endswith("skipped 1 errors 0")  # 3.12 counts a skipped module apart
    assert sandbox.run(code).lines == eager.lines


def test_pytest_with_warnings_as_errors_when_lazyhook_is_imported_first(sandbox: Sandbox) -> None:
    # With `python -m lazyhook enable`, every interpreter imports lazyhook at start-up.  pytest
    # marks the packages of pytest11 entry points for assertion rewriting and warns
    # (PytestAssertRewriteWarning) for one already imported — an error, and pytest refuses to
    # start, in every project whose pytest config says `filterwarnings = error`.  The fake
    # dist-info below is how pytest sees an installed lazyhook.
    dist = sandbox.src / "lazyhook_dist-0.1.dist-info"  # not Python: written verbatim
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: lazyhook-dist\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[pytest11]\nlazyhook = lazyhook.pytest_plugin\n")
    (dist / "RECORD").write_text("lazyhook/__init__.py,,\nlazyhook/pytest_plugin.py,,\n")
    (sandbox.src / "proj").mkdir()
    (sandbox.src / "proj" / "pytest.ini").write_text("[pytest]\nfilterwarnings = error\n")
    (sandbox.src / "proj" / "test_one.py").write_text("def test_one():\n    assert 1 + 1 == 2\n")
    code = f"""
        import lazyhook
        lazyhook.install()
        import pytest
        rc = pytest.main(["-q", "-p", "no:cacheprovider", {str(sandbox.src / "proj")!r}])
        print(f"rc={{int(rc)}}")
        """
    r = sandbox.run(code, check=False)
    assert "PytestAssertRewriteWarning" not in r.out + r.err
    assert r.value("rc") == "0", r.out + r.err


def test_no_warning_at_exit_for_a_module_whose_file_is_gone(sandbox: Sandbox) -> None:
    # Test suites import modules from temporary directories and delete them before the
    # process exits (test_importlib: 'foo.just_created', 'A', 'B').  The name cache's flush at
    # exit must not print a LazyhookWarning for them: such a module simply is not cached.
    code = f"""
        import os, shutil, sys, tempfile
        import lazyhook
        lazyhook.install()
        d = tempfile.mkdtemp(dir={str(sandbox.path)!r})
        with open(os.path.join(d, "gone.py"), "w") as f:
            f.write("A = 1\\n")
        sys.path.insert(0, d)
        import gone
        print("A", gone.A)
        shutil.rmtree(d)
        """
    r = sandbox.run(code)
    assert r.lines == ["A 1"]
    assert r.err == ""


def test_weakref_with_lazy_names_everywhere(sandbox: Sandbox) -> None:
    # names=True (LAZYHOOK_NAMES=all) made `from _weakrefset import WeakSet` inside weakref.py
    # bind a lazy name, which weakref then registers with an ABC at import time: TypeError
    # "Can only register classes", and no pytest run could start.  _weakrefset is on the
    # ignore list.  `-S` so that weakref is not already imported at start-up.
    import subprocess
    import sys

    script = sandbox.path / "weak.py"
    script.write_text(
        "import lazyhook\nlazyhook.install(names=True)\nimport weakref\n"
        "print(weakref.WeakSet.__name__)\n"
    )
    for _ in ("cold", "warm"):  # the warm run binds names from the cache the cold one wrote
        proc = subprocess.run(
            [sys.executable, "-S", str(script)], capture_output=True, text=True,
            env=sandbox.env(), cwd=str(sandbox.path), timeout=60,
        )  # fmt: skip
        assert (proc.returncode, proc.stdout) == (0, "WeakSet\n"), proc.stderr


def test_eager_child_import_under_a_lazy_parent_that_imports_it_runs_it_once(
    sandbox: Sandbox,
) -> None:
    # networkx under LAZYHOOK_NAMES=all: pytest/__init__.py's `from _pytest.mark import Mark`
    # left _pytest.mark lazy (lazy names), then _pytest/nodes.py's eager `from
    # _pytest.mark.structures import Mark` ran the lazy parent first — whose body imports
    # .structures — and then ran .structures a second time: two Mark classes, and pytest
    # rejected every mark ("got Mark(...) instead of Mark").  Eagerly, importlib finds the
    # child in sys.modules once the parent has run and does not load it again.
    sandbox.write(
        {
            "pkg/__init__.py": "from .sub import Thing\n",
            "pkg/sub.py": "print('RUN ' + __name__)\nclass Thing:\n    pass\n",
        }
    )
    code = """
        import sys
        import lazyhook
        lazyhook.install()
        import pkg  # lazy


        def load():
            import pkg.sub  # eager (in a function), under the still-lazy parent

            return pkg.sub


        sub = load()
        print(sys.modules["pkg.sub"] is sub, sub.Thing is pkg.Thing)
        """
    eager = sandbox.run(code, env=sandbox.env(LAZYHOOK_DISABLE="1"))
    assert eager.runs == ["pkg.sub"] and eager.lines == ["True True"]
    r = sandbox.run(code)
    assert (r.runs, r.lines) == (eager.runs, eager.lines)


def test_a_module_that_puts_a_proxy_of_itself_in_sys_modules(sandbox: Sandbox) -> None:
    # twisted's deprecatedModuleAttribute (scrapy imports it): the body replaces its own
    # sys.modules entry with a proxy that reads from the module object.  The importer's lazy
    # module then forwards to the proxy, and the proxy to that module: eagerly it was a plain
    # module, so the proxy must find the module's own namespace there (was: RecursionError).
    sandbox.write(
        {
            "wrapped.py": "import sys\nx = 1\n"
            "class _Proxy:\n"
            "    def __init__(self, mod):\n"
            "        object.__setattr__(self, '_m', mod)\n"
            "    def __getattr__(self, name):\n"
            "        print('via proxy:', name)\n"
            "        return getattr(object.__getattribute__(self, '_m'), name)\n"
            "    def __setattr__(self, name, value):\n"
            "        setattr(object.__getattribute__(self, '_m'), name, value)\n"
            "sys.modules[__name__] = _Proxy(sys.modules[__name__])\n",
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        import sys
        import wrapped
        print(wrapped.x)
        wrapped.y = 2
        print(sys.modules["wrapped"].y, type(wrapped).__name__)
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["via proxy: x", "1", "via proxy: y", "2 _Proxy"]
    same_outcome(eager, cold, warm)


def test_a_side_effect_import_in_a_module_that_mentions_dunder_dict_or_eval(
    sandbox: Sandbox,
) -> None:
    # An attribute named __dict__ on any object, or a name or string "eval" (pandas exports a
    # function eval), made the module count as reading every name dynamically, so its
    # side-effect imports were deferred and never ran (pandas under mode="all": KeyError
    # 'compute').  A dynamic read (globals(), eval) finds an eagerly run module anyway.
    sandbox.write(
        {
            "registry.py": "REG = {}\n",
            "plugin_registers.py": RUN + "import registry\nregistry.REG['x'] = 1\n",
            "pkg/__init__.py": "import pkg._register\nfrom pkg._registry import REG\n"
            "__all__ = ['REG', 'eval']\ndef eval(s):\n    return s\n",
            "pkg/_registry.py": "REG = {}\n",
            "pkg/_register.py": RUN + "from pkg._registry import REG\nREG['y'] = 2\n",
        }
    )
    code = """
        import lazyhook
        lazyhook.install(mode="all")
        import plugin_registers  # for its side effect only
        import registry
        import pkg

        class Obj:
            def __init__(self):
                self.__dict__.update(a=1)

        print(registry.REG, globals()["pkg"].REG)
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["{'x': 1} {'y': 2}"]
    same_outcome(eager, cold, warm)


def test_a_module_first_used_after_a_fork_ran_once_before_it(sandbox: Sandbox) -> None:
    # Eagerly the body ran at the import, before the fork: parent and child share its state
    # and its output appears once.  Deferred past the fork it ran once per process.
    sandbox.write({"tok.py": RUN + "import os\nprint('tok body')\nTOKEN = os.urandom(8).hex()\n"})
    code = """
        import lazyhook
        lazyhook.install()
        import os, sys
        import tok
        r, w = os.pipe()
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            os.write(w, tok.TOKEN.encode())
            os._exit(0)
        os.waitpid(pid, 0)
        print("same token in parent and child:", os.read(r, 16).decode() == tok.TOKEN)
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.out.splitlines() == ["RUN tok", "tok body", "same token in parent and child: True"]
    same_outcome(eager, cold, warm)


def test_a_package_attribute_a_pending_submodule_binds(sandbox: Sandbox) -> None:
    # `import logging.config` binds logging.handlers on logging (its body imports it).  With
    # logging.config still lazy, `logging.handlers` was missing: a miss on a package whose
    # submodules imported lazily have not run runs them first, as eagerly they had run.
    sandbox.write(
        {
            "pk/__init__.py": RUN + "BASE = 1\n",
            "pk/config.py": RUN + "import pk.handlers\ndef configure():\n    return 'ok'\n",
            "pk/handlers.py": RUN + "class Handler:\n    pass\n",
            "pk/other.py": RUN,
            "pk/extra.py": RUN,
        }
    )
    # Both orders: the package lazy when its submodule is imported, and already run.
    for first in ("", "print(pk.BASE)\n"):
        code = (
            "import lazyhook\nlazyhook.install()\nimport sys\nimport pk\n"
            + first
            + "import pk.config, pk.other\n"
            + "from pk import extra  # the import system's probe of pk.extra: not a use\n"
            + "print(pk.handlers.Handler.__name__, pk.config.configure())\n"
            + "print(hasattr(pk, 'missing'), hasattr(pk, '_mock_name'))\n"
            + "def later():\n    return pk.other, extra\n"
        )
        eager, cold, warm = sandbox.eager_cold_warm(code)
        assert eager.lines[-2:] == ["Handler ok", "False False"], eager.out + eager.err
        assert cold.lines[-2:] == eager.lines[-2:] and cold.returncode == 0, cold.out + cold.err
        assert warm.lines == cold.lines and warm.err == "", warm.out + warm.err


def test_a_missing_package_attribute_still_raises_the_modules_own_error(
    sandbox: Sandbox,
) -> None:
    sandbox.write(
        {
            "pg/__init__.py": "def __getattr__(name):\n"
            "    raise AttributeError(f'pg has no {name}, try pg.real')\n",
            "pg/sub.py": "X = 1\n",
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        import pg
        import pg.sub
        try:
            pg.nothing
        except AttributeError as e:
            print(e)
        print(pg.sub.X)
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["pg has no nothing, try pg.real", "1"]
    same_outcome(eager, cold, warm)


def test_a_from_import_of_literals_only_runs_its_module(sandbox: Sandbox) -> None:
    # Bound as values, literals would never run the module: with a warm cache its body
    # (output, registrations, logging set-up) never ran although the program used the import.
    # Such a statement runs the module there, as eagerly; one that also binds a stand-in
    # stays lazy (the stand-in's first use runs it).
    sandbox.write(
        {
            "m.py": RUN + "PLAIN = 5\nNAME = 'x'\n",
            "dyn.py": RUN + "__all__ = ['PLAIN']\nPLAIN = 5\n",
            "mixed.py": RUN + "PLAIN = 5\ndef f():\n    return 1\n",
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        from m import PLAIN, NAME
        from dyn import *
        from mixed import PLAIN as P2, f
        print(PLAIN, NAME, P2, lazyhook.is_lazy(f))
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.runs == cold.runs == ["m", "dyn", "mixed"]  # cold: learning at the statement
    assert warm.runs == ["m", "dyn"] and warm.lines == ["5 x 5 True"], warm.out + warm.err


def test_modules_replacing_themselves_in_less_common_ways(sandbox: Sandbox) -> None:
    # Found by a review of the forwarding module: a module replaced by another (lazy) module;
    # a replacement class whose class attributes answer any getattr; the replacement read
    # straight from C (an atexit callback) with no Python caller.
    sandbox.write(
        {
            "other.py": RUN + "foo = 42\n",
            "alias.py": "import sys\nimport other\nsys.modules[__name__] = other\n",
            "confmod.py": "import sys, types\n"
            "class AttrDict(dict):\n    def __getattr__(self, k):\n        return self[k]\n"
            "class ConfModule(types.ModuleType):\n    defaults = AttrDict(debug=False)\n"
            "    def __getattr__(self, name):\n"
            "        return self.defaults.get(name, 'default-' + name)\n"
            "sys.modules[__name__] = ConfModule(__name__)\n",
            "repl.py": "import sys, types\nsys.modules[__name__] = types.SimpleNamespace(foo=7)\n",
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        import atexit
        import alias, confmod, repl
        holder = [repl]
        atexit.register(getattr, holder[0], "foo")
        atexit.register(print, "exit")
        print(alias.foo, confmod.debug, confmod.color, repl.foo)
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.out.splitlines() == ["RUN other", "42 False default-color 7", "exit"]
    same_outcome(eager, cold, warm)


def test_a_package_waiting_for_submodules_between_threads_and_afterwards(
    sandbox: Sandbox,
) -> None:
    # Found by review: the package's class went back before the pending body had run, so a
    # second thread's miss found a plain module; the class stayed until a miss although the
    # submodule had run; a package's own __getattr__ was asked twice per miss.
    sandbox.write(
        {
            "pq/__init__.py": "seen = []\ndef __getattr__(name):\n"
            "    seen.append(name)\n    raise AttributeError(name)\n",
            "pq/a.py": "import time\ntime.sleep(0.4)\nimport pq.b\n",
            "pq/b.py": "V = 1\n",
            "pq/c.py": "W = 2\n",
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        import threading, time, types
        import pq
        pq.seen
        import pq.a, pq.c
        def later():
            return pq.a, pq.c
        out = []
        def read(tag):
            try:
                out.append((tag, pq.b.V))
            except AttributeError as e:
                out.append((tag, "ERR " + str(e)))
        t1 = threading.Thread(target=read, args=("t1",))
        t2 = threading.Thread(target=read, args=("t2",))
        t1.start(); time.sleep(0.1); t2.start(); t1.join(); t2.join()
        print(sorted(out))
        getattr(pq, "__version__", None); getattr(pq, "__version__", None)
        print(pq.seen, pq.c.W, type(pq) is types.ModuleType)
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["[('t1', 1), ('t2', 1)]", "['__version__', '__version__'] 2 True"]
    same_outcome(eager, cold, warm)


def test_a_from_imported_class_registered_with_an_abc(sandbox: Sandbox) -> None:
    # ABCMeta.register checks in C that its argument is a type: a class stand-in failed it
    # ("Can only register classes") from the second run on.  A class the importing code
    # passes to a register method is bound as the real class at the statement, as for match.
    sandbox.write(
        {
            "shapes.py": RUN + "class D:\n    pass\nclass E:\n    pass\nclass F:\n    pass\n",
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        import abc, collections.abc
        from shapes import D, E, F
        class A(abc.ABC):
            pass
        A.register(D)
        def later():
            collections.abc.Hashable.register(E)
        later()
        print(issubclass(D, A), issubclass(E, collections.abc.Hashable), lazyhook.is_lazy(F))
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["True True False"]
    assert warm.lines == eager.lines and warm.returncode == 0, warm.out + warm.err


def test_subclassing_an_exception_stand_in_and_pickling_stand_ins(sandbox: Sandbox) -> None:
    # Found by a hunt for stand-ins handed to real code: `class Sub(E)` subclassed the
    # exception stand-in (instances of the real E, `except Sub` catching every E, Sub's
    # __init__ never run); pickling an lru_cache wrapper failed, a lambda pickled (and failed
    # only at load), a shadowed function pickled as the other one.
    sandbox.write(
        {
            "mm.py": RUN + "import functools\nclass E(Exception):\n    pass\n"
            "@functools.lru_cache\ndef cached(x):\n    return x\nlam = lambda: 0\n"
            "def f():\n    return 1\ng = f\ndef f():\n    return 2\n",
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        import pickle
        from mm import E, cached, lam, g
        class Sub(E):
            def __init__(self, *args):
                super().__init__(*args)
                self.tag = "sub"
        s = Sub("x")
        print(type(s).__name__, s.tag, isinstance(s, E), issubclass(Sub, E))
        try:
            raise E("plain")
        except Sub:
            print("caught as Sub")
        except E:
            print("caught as E")
        print(pickle.loads(pickle.dumps(cached))(3))
        for obj in (lam, g):
            try:
                print(pickle.loads(pickle.dumps(obj))())
            except Exception as e:
                print(type(e).__name__)
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == [
        "Sub sub True True",
        "caught as E",
        "3",
        "PicklingError",
        "PicklingError",
    ]
    assert warm.lines == eager.lines and warm.returncode == 0, warm.out + warm.err


def test_names_decided_by_debug_under_dash_o(sandbox: Sandbox) -> None:
    # ``if __debug__:`` decides what a module binds, and no file changes between a run with
    # and one without -O: the cache learned by one must not serve the other (it did: a
    # function stand-in for what is None under -O, every run).  One cache file per level.
    sandbox.write(
        {
            "checks.py": "if __debug__:\n    def check(x):\n        return 'checked %r' % (x,)\n"
            "else:\n    check = None\ndef work(x):\n    return x * 2\n",
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        from checks import check, work
        print(check(5) if check is not None else "no checks", work(2))
        """
    plain: dict[str, str] = {}
    for first, then in ((plain, {"PYTHONOPTIMIZE": "1"}), ({"PYTHONOPTIMIZE": "2"}, plain)):
        sandbox.eager_cold_warm(code, env=first)  # learns at that level
        eager, cold, warm = sandbox.eager_cold_warm(code, env=then)
        assert eager.lines == ["no checks 4" if then else "checked 5 4"]
        for r in (cold, warm):
            assert (r.lines, r.returncode) == (eager.lines, 0), r.out + r.err
    assert len(list(sandbox.cache.glob("*.lzc"))) == 3


def test_names_used_as_values_are_bound_real(sandbox: Sandbox) -> None:
    # A stand-in answers calls, attribute reads and isinstance() as the real object does, but
    # not being passed on, compared or stored: help(C) crashed in pydoc's C code, a star
    # import's ClassVar / KW_ONLY in annotations made dataclasses build a different class
    # (silently), type(x) is C was False.  Names the code uses as values are bound real, at
    # the statement; the others stay lazy.  (Found by a fifth hunt; fails on the old code.)
    sandbox.write(
        {
            "kinds.py": RUN + "class Box:\n    '''A box.'''\n    size = 3\n"
            "class Other:\n    pass\ndef make():\n    return Box()\n",
            "later.py": RUN + "class Late:\n    pass\ndef late():\n    return 1\n",
        }
    )
    code = """
        import io, contextlib, lazyhook
        lazyhook.install()
        from dataclasses import *
        from typing import *
        from kinds import Box, Other, make
        from later import Late, late

        @dataclass
        class Config:
            name: str
            _: KW_ONLY
            debug: bool = False
            instances: ClassVar = 0
            limit: Final = 10

        print([f.name for f in fields(Config)], Config("a", debug=True))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            help(Box)
        print(out.getvalue().splitlines()[0], type(make()) is Other, Box.size)
        def unused():
            return isinstance(1, Late), Late(), late(), Late.x
        print(lazyhook.is_lazy(Late), lazyhook.is_lazy(late))
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == [
        "['name', 'debug', 'limit'] Config(name='a', debug=True, limit=10)",
        "Help on class Box in module kinds: False 3",
        "False False",
    ]
    assert (warm.lines[:2], warm.err) == (eager.lines[:2], ""), warm.out + warm.err
    assert warm.lines[2] == "True True"  # only called, read, isinstance'd: still lazy
    assert "later" not in warm.runs


def test_string_annotations_count_as_values(sandbox: Sandbox) -> None:
    # Under ``from __future__ import annotations`` get_type_hints() evaluates "Box" in the
    # module's namespace: before kinds ran, that found the stand-in (typer, pydantic and
    # dataclasses read hints so).  Names in such a module's strings count as values.
    sandbox.write({"kinds.py": RUN + "class Box:\n    pass\n"})
    code = """
        from __future__ import annotations
        import lazyhook
        lazyhook.install()
        from typing import get_type_hints
        from kinds import Box

        def handler(item: Box) -> None:
            pass

        print(type(get_type_hints(handler)["item"]).__name__)
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["type"]
    assert (cold.lines, warm.lines, warm.err) == (eager.lines, eager.lines, ""), warm.err


def test_a_star_import_of_a_module_lazyhook_itself_loads(sandbox: Sandbox) -> None:
    # ``python -m dis``: dis.py as __main__ runs ``from opcode import *``.  Answering it loads
    # lazyhook's bytecode reader, which imports ``opcode`` — the very lazy module being
    # answered, which then ran mid-answer ('NoneType' object is not subscriptable, warm).
    code = """
        import lazyhook
        lazyhook.install()
        from opcode import *
        class Op:  # (a class statement: its bases are read with that same reader)
            pass
        print(opname[opmap["LOAD_CONST"]], callable(stack_effect), Op.__name__)
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["LOAD_CONST True Op"]
    for r in (cold, warm):
        assert (r.lines, r.err) == (eager.lines, ""), r.out + r.err


def test_the_interactive_prompt_binds_real_names(sandbox: Sandbox) -> None:
    # At a prompt each input is compiled alone: what a later input does with a name cannot be
    # seen, so no from-import there binds a stand-in (``type(Box)`` was LazyName from the
    # second session on; ``help(Box)`` as the first use failed in pydoc).
    import subprocess
    import sys

    sandbox.write({"boxes.py": RUN + "class Box:\n    '''A box.'''\n"})
    session = "from boxes import Box\nprint(type(Box).__name__)\n"
    out = []
    for extra in ({"LAZYHOOK_DISABLE": "1"}, {}, {}):
        proc = subprocess.run(
            [sys.executable, "-q", "-i", "-c", "import lazyhook; lazyhook.install()"],
            input=session,
            capture_output=True,
            text=True,
            env=sandbox.env(**extra),
            cwd=str(sandbox.path),
            timeout=120,
        )
        out.append((proc.returncode, proc.stdout))
    assert out[0] == (0, "RUN boxes\ntype\n"), out
    assert out[1] == out[2] == out[0], out


def test_value_uses_of_a_later_name_and_of_an_alias(sandbox: Sandbox) -> None:
    # Only a statement's first name was checked (the second IMPORT_FROM, at another offset,
    # overwrote the checks with none), and ``C as K`` was looked up as C while the code uses K:
    # type.mro(C) / type.mro(K) failed from the second run on, and class Z(K) kept an
    # __orig_bases__ (found by a re-run of the real-program hunt; fails on the old code).
    sandbox.write(
        {
            "pk/__init__.py": "",
            "pk/mod.py": RUN + "class C:\n    pass\nclass D:\n    pass\ndef fn():\n    pass\n",
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        from pk.mod import fn, C
        from pk.mod import D as K
        class Z(K):
            pass
        print(len(type.mro(C)), len(type.mro(K)), "__orig_bases__" in Z.__dict__)
        def later():
            return fn()
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["2 2 False"]
    for r in (cold, warm):
        assert (r.lines, r.err) == (eager.lines, ""), r.out + r.err


def test_a_star_import_that_runs_its_module_binds_what_the_module_defines(sandbox: Sandbox) -> None:
    # A star import whose names include one the code uses as a value runs its module at the
    # statement.  It answered the interpreter's __all__ read with the entry's list, so when
    # the module then defined other names than its entry said (here: decided by an
    # environment variable; in the stress harness: an edit landing between check and run)
    # the interpreter's loop failed on a name the module no longer has (AttributeError).
    sandbox.write(
        {"envmod.py": RUN + "import os\nglobals()['V_' + os.environ.get('VER', '1')] = 1\nN = 5\n"}
    )
    code = """
        import lazyhook
        lazyhook.install()
        from envmod import *
        print(N + 0, sorted(k for k in globals() if k.startswith("V_")))
        """
    sandbox.eager_cold_warm(code)  # learns VER=1
    eager, cold, warm = sandbox.eager_cold_warm(code, env={"VER": "2"})
    assert eager.lines == ["5 ['V_2']"]
    for r in (cold, warm):
        assert (r.lines, r.returncode) == (eager.lines, 0), r.out + r.err


def test_a_programs_file_named_like_a_module_lazyhook_needs_is_never_run(sandbox: Sandbox) -> None:
    # lazyhook imported opcode, _opcode, zlib, fcntl and array for itself, after the script's
    # directory was first on sys.path: a file of that name beside the script ran, although
    # the program never imports it (3.10: `import textwrap` failed on an opcode.py; a fcntl.py
    # left the cache unwritten, a zlib.py stopped learning, each with a warning).
    for name in ("opcode", "_opcode", "zlib", "fcntl", "array"):
        (sandbox.path / f"{name}.py").write_text(f"print('local {name}.py ran')\n")
    eager, cold, warm = sandbox.eager_cold_warm(
        """
        import lazyhook
        lazyhook.install()
        import sys, textwrap
        from fractions import Fraction
        print(textwrap.shorten("a b c", 10), Fraction(1, 3))
        print(sorted(m for m in ("opcode", "_opcode", "_opcode_metadata") if m in sys.modules))
        """
    )
    assert eager.out == "a b c 1/3\n[]\n" and eager.err == "", eager.err
    same_outcome(eager, cold, warm)
    written = [p for p in sandbox.cache.rglob("*") if p.is_file() and p.stat().st_size]
    assert written, "the cold run wrote no cache"


def test_trace_count_over_a_first_use(sandbox: Sandbox) -> None:
    # lazyhook's frames on the first-use path were named "<its file> (runs lazy bodies, like
    # importlib._bootstrap)" (so warnings skip them): `python -m trace --count` opened that
    # as a file and failed with FileNotFoundError, writing no .cover files.  Now the name is
    # in angle brackets, as importlib's own, which trace skips.
    eager, cold, warm = sandbox.eager_cold_warm(
        """
        import lazyhook
        lazyhook.install()
        import os, trace
        import json
        tracer = trace.Trace(count=True, trace=False)
        tracer.runfunc(lambda: print(json.dumps([1])))
        tracer.results().write_results(show_missing=False, summary=False, coverdir="cov")
        print("json.encoder.cover" in os.listdir("cov"))  # (lazily json's bodies are counted too)
        """
    )
    assert eager.lines == ["[1]", "True"], eager.out + eager.err
    same_outcome(eager, cold, warm)


def test_a_lazy_submodule_taken_out_of_sys_modules_stays_its_parents_attribute(
    sandbox: Sandbox,
) -> None:
    # Eagerly `import p.s` binds p.s at once; deleting sys.modules["p.s"] afterwards (a
    # forced re-import, a test's cleanup) leaves the attribute.  Lazily the binding waited for
    # p's body and was dropped because sys.modules no longer held it: AttributeError.
    sandbox.write({"p/__init__.py": "print('p body')\n", "p/s.py": "Y = 2\n"})
    eager, cold, warm = sandbox.eager_cold_warm(
        """
        import lazyhook
        lazyhook.install()
        import sys
        import p.s
        del sys.modules["p.s"]
        print(hasattr(p, "s"), p.s.Y)
        """
    )
    assert eager.lines == ["p body", "True 2"], eager.out + eager.err
    same_outcome(eager, cold, warm)


def test_an_import_made_findable_by_a_pending_body(sandbox: Sandbox) -> None:
    # A settings module puts a plugin directory on sys.path; the program reads the settings
    # later, so their import was lazy, and `import plugin_x` failed (ModuleNotFoundError)
    # where eagerly the settings had run by then.  A failing import that nothing could catch
    # now runs what is pending first, then looks again.
    (sandbox.path / "extra").mkdir()
    (sandbox.path / "extra" / "plugin_x.py").write_text("def f():\n    return 'plugin ok'\n")
    sandbox.write(
        {
            "setup_paths.py": f"""
                import sys
                EXTRA = {str(sandbox.path / "extra")!r}
                sys.path.insert(0, EXTRA)
                print("setup ran")
                """,
            "pkg/__init__.py": "import os\n__path__.append(os.path.join(__path__[0], 'more'))\n",
            "pkg/more/late.py": "VALUE = 'late ok'\n",
        }
    )
    eager, cold, warm = sandbox.eager_cold_warm(
        """
        import lazyhook
        lazyhook.install()
        import setup_paths
        import plugin_x
        import pkg
        import pkg.late
        print(setup_paths.EXTRA.endswith("extra"), plugin_x.f(), pkg.late.VALUE)
        import missing_module_zz
        """
    )
    assert eager.returncode == 1 and "No module named 'missing_module_zz'" in eager.err
    assert eager.lines == ["setup ran", "True plugin ok late ok"], eager.out + eager.err
    same_outcome(eager, cold, warm)


def test_an_import_a_handler_may_catch_leaves_pending_bodies_alone(sandbox: Sandbox) -> None:
    # The common failing import is an optional dependency's, inside try: it must not run the
    # lazy modules pending (that would cost their laziness for nothing).
    sandbox.write({"noisy.py": "print('noisy ran')\nVALUE = 1\n"})
    r = sandbox.run(
        """
        import lazyhook
        lazyhook.install()
        import contextlib
        import noisy
        try:
            import missing_module_zz
        except ImportError:
            print("caught")
        with contextlib.suppress(ImportError):
            import missing_module_yy
        def optional():
            try:
                import missing_module_xx
            except ImportError:
                return None
        optional()
        print(lazyhook.is_lazy(noisy), noisy.VALUE)
        """
    )
    assert r.lines == ["caught", "noisy ran", "True 1"], r.out + r.err  # ran at .VALUE


def test_a_spec_probe_that_finds_nothing_is_no_failing_import(sandbox: Sandbox) -> None:
    sandbox.write({"noisy.py": "print('noisy ran')\nVALUE = 1\n"})
    r = sandbox.run(
        """
        import lazyhook
        lazyhook.install()
        import importlib.util, sys
        import noisy
        print(importlib.util.find_spec("missing_module_ww"))
        try:  # an optional dependency, missing: answered at once, nothing loaded for it
            import missing_module_vv
        except ImportError:
            pass
        print(lazyhook.is_lazy(noisy), "lazyhook._not_found" in sys.modules)
        """
    )
    assert r.lines == ["None", "True False"], r.out + r.err


UNITTEST_MAIN = """
    import lazyhook
    lazyhook.install()
    import unittest
    unittest.main(module=None, argv=["prog", {target}])
    """


@pytest.mark.parametrize("target", ["'-v', 'test_y'", "'discover', '-v', '-s', TESTS, '-t', TESTS"])
def test_unittest_fails_a_test_module_whose_dependency_fails_at_import(
    sandbox: Sandbox, target: str
) -> None:
    # unittest has no plugin hook: a test module's import of a broken dependency stayed lazy,
    # and with no test using it the suite passed ("OK", exit 0) where eagerly the module
    # failed to load (exit 1).  Test modules that unittest's loader imports now run their
    # imports eagerly, as the pytest plugin does at collection.
    test_y = """
        import unittest
        import mylib
        class T(unittest.TestCase):
            def test_a(self):
                self.assertTrue(True)
            @unittest.skip("not yet")
            def test_b(self):
                mylib.f()
        """
    sandbox.write(
        {
            "mylib.py": "import helper\nimport some_missing_dependency_zz\n",
            "helper.py": "print('helper ran')\n",
            "test_y.py": test_y,
            "tests/test_y2.py": test_y,
        }
    )
    code = UNITTEST_MAIN.format(target=target.replace("TESTS", repr(str(sandbox.src / "tests"))))
    runs = sandbox.eager_cold_warm(code, env={"PYTHONPATH": os.pathsep.join(
        [str(sandbox.src), str(sandbox.src / "tests"), str(ROOT)])})  # fmt: skip
    eager = runs[0]
    assert eager.returncode == 1 and "some_missing_dependency_zz" in eager.err, eager.err
    timing = re.compile(r"Ran (\d+) tests? in [\d.]+s")
    for r in runs:
        assert (r.returncode, r.out, timing.sub(r"Ran \1", r.err)) == (
            eager.returncode, eager.out, timing.sub(r"Ran \1", eager.err)
        ), r.out + r.err  # fmt: skip


def test_pending_bodies_run_for_a_failing_import_as_eagerly(sandbox: Sandbox) -> None:
    # Found by review: the pending bodies ran inside importlib's global import lock (a body
    # waiting for a thread that imports hung for ever); a pending body that imported the very
    # module made it run twice, as two objects.
    (sandbox.path / "plugins").mkdir()
    (sandbox.path / "plugins" / "plugin_x.py").write_text("print('plugin_x ran')\nCOUNT = []\n")
    sandbox.write(
        {
            "settings.py": f"import sys\nsys.path.insert(0, {str(sandbox.path / 'plugins')!r})\n",
            "worker.py": """
                import threading
                result = []
                t = threading.Thread(target=lambda: result.append(__import__("json").dumps(1)))
                t.start()
                t.join()
                print("worker ran", result)
                """,
            "c.py": "import plugin_x\nplugin_x.COUNT.append('c')\n",
        }
    )
    eager, cold, warm = sandbox.eager_cold_warm(
        """
        import lazyhook
        lazyhook.install()
        import settings, worker, c
        import plugin_x
        print(plugin_x.COUNT, c.plugin_x is plugin_x, worker.result, settings.sys is not None)
        """
    )
    assert eager.lines == ["worker ran ['1']", "plugin_x ran", "['c'] True ['1'] True"], eager.out
    same_outcome(eager, cold, warm)


def test_a_failing_import_inside_a_lazy_body_runs_nothing_imported_after_it(
    sandbox: Sandbox,
) -> None:
    # Found by review: M's body, run at its first use, fails an import; running everything
    # pending then ran N, imported after M, which eagerly never runs (the program stopped at
    # `import M`).  And importlib's own caught miss (_handle_fromlist trying a name of a
    # from-list as a submodule) must not run what is pending either.
    sandbox.write(
        {
            "M.py": "print('M ran')\nimport missing_module_zz\n",
            "N.py": "open('N_ran.txt', 'w').close()\ny = 1\n",
            "heavy.py": "print('heavy ran')\nz = 1\n",
        }
    )
    r = sandbox.run(
        """
        import lazyhook
        lazyhook.install()
        import heavy
        __import__("email", fromlist=["_probe_"])
        print(lazyhook.is_lazy(heavy))
        import M
        import N
        print(M.x, N.y, heavy.z)
        """,
        check=False,
    )
    assert r.returncode == 1 and "missing_module_zz" in r.err, r.err
    assert r.lines == ["True", "M ran"], r.out
    assert not (sandbox.path / "N_ran.txt").exists()


def test_a_failure_in_the_imports_of_a_module_imported_in_try_reaches_its_handler(
    sandbox: Sandbox,
) -> None:
    # `try: import optlib / except ImportError` kept `import optlib` eager, but optlib's own
    # `import fastbackend` (another package) stayed lazy: fastbackend's failing body did not
    # reach the handler, the fallback was never taken, and the program crashed at first use.
    sandbox.write(
        {
            "optlib.py": "import fastbackend\ndef run():\n    return fastbackend.go()\n",
            "fastbackend.py": "from _fastbackend_c import go\n",
            "plugins_ok.py": "import json\ndef run():\n    return json.dumps('ok')\n",
        }
    )
    eager, cold, warm = sandbox.eager_cold_warm(
        """
        import lazyhook
        lazyhook.install()
        import contextlib, importlib
        try:
            import optlib
            print("optlib", optlib.run())
        except ImportError as exc:
            print("no optlib:", exc.name)
        try:
            from optlib import run
        except ImportError:
            run = None
        with contextlib.suppress(ImportError):
            import optlib as again
            print("present")
        def load(names):
            loaded = []
            for name in names:
                try:
                    loaded.append(importlib.import_module(name).run())
                except ImportError as exc:
                    print("skipping", name, exc.name)
            return loaded
        print(run, load(["optlib", "plugins_ok"]))
        """
    )
    assert eager.lines == [
        "no optlib: _fastbackend_c",
        "skipping optlib _fastbackend_c",
        "None ['\"ok\"']",
    ], eager.out + eager.err
    same_outcome(eager, cold, warm)


def test_a_catch_all_runner_above_an_import_keeps_it_lazy(sandbox: Sandbox) -> None:
    # Only the chain of imports counts for the rule above: a runner that executes code inside
    # its own catch-all (IPython's cells, code.interact, a thread's start) only reports what
    # fails, as it would at the first use, and must not make every import it runs eager.
    sandbox.write(
        {"pkg_a.py": "import pkg_b\ndef f():\n    return pkg_b.X\n", "pkg_b.py": "X = 1\n"}
    )
    r = sandbox.run(
        """
        import lazyhook
        lazyhook.install()
        import threading
        def run_cell(src, ns):
            try:
                exec(compile(src, "<cell>", "exec"), ns)
            except Exception as exc:
                print("cell failed", type(exc).__name__)
        ns = {}
        run_cell("import pkg_a\\ndef g():\\n    return pkg_a", ns)
        print(lazyhook.is_lazy(ns["pkg_a"]), ns["pkg_a"].f(), lazyhook.is_lazy(ns["pkg_a"].pkg_b))
        """
    )
    assert r.lines == ["True 1 False"], r.out + r.err


CALLABLE_MODULE = """
    import sys, types

    print("RUN cmod")

    class _Callable(types.ModuleType):
        def __call__(self, *args):
            return ("called", args)

    sys.modules[__name__].__class__ = _Callable
"""


@pytest.mark.parametrize(
    "use",
    [
        "print(callable(cmod), cmod(1))",
        "@cmod\ndef f():\n    pass\nprint(f[0])",
        "@cmod\nclass K:\n    pass\nprint(K[0])",
        "def outer():\n    @cmod\n    def f(x=1, *, y=2):\n        return x\n    return f\n"
        "print(outer()[0])",
        "def later():\n    return cmod(2)\nprint(later())",
        "import cmod as snoop\nprint(snoop(3))",
    ],
)
def test_a_module_that_made_itself_callable_is_called(sandbox: Sandbox, use: str) -> None:
    # q and snoop (hunt T): their body assigns the module a class with __call__; `q(x)` and
    # `@snoop` on a lazy module raised "'_LazyModule' object is not callable" (the
    # interpreter looks __call__ up on the type: nothing a lazy module can answer).
    sandbox.write({"cmod.py": CALLABLE_MODULE})
    code = "import lazyhook\nlazyhook.install()\nimport cmod\n" + use + "\n"
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.returncode == 0 and "called" in eager.out, eager.err
    same_outcome(eager, cold, warm)


def test_a_module_passed_on_or_read_stays_lazy(sandbox: Sandbox) -> None:
    # Only a call of the module's name keeps its import eager: reading and writing its
    # attributes and passing it on do not (they work on a lazy module).
    sandbox.write({"cmod.py": CALLABLE_MODULE, "plain.py": "X = 1\ndef f(k):\n    return k\n"})
    code = """
        import lazyhook
        lazyhook.install()
        import cmod, plain
        box = [cmod, plain]
        print(lazyhook.is_lazy(box[0]), lazyhook.is_lazy(plain), type(cmod).__name__)

        def later():
            return plain.f(k=3), cmod.__name__.upper()

        plain.Y = 2
        print(plain.X, plain.Y, plain.f(k=1), later())
        """
    assert sandbox.run(code).lines == ["True True _LazyModule", "1 2 1 (3, 'CMOD')"]


def test_a_package_aliasing_a_submodule_in_sys_modules(sandbox: Sandbox) -> None:
    # Hunt T: `sys.modules[__name__ + ".alias"] = _real` in a package's body.  `import
    # apkg.alias` ran the parent inside the finder, and importlib, seeing the alias only then,
    # loaded a second copy of `_real` from its spec (its body ran twice, two module objects).
    sandbox.write(
        {
            "apkg/__init__.py": "import sys\nfrom . import _real\n"
            'sys.modules[__name__ + ".alias"] = _real\n',
            "apkg/_real.py": 'print("RUN _real")\n',
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        import sys
        import apkg.alias
        print(sys.modules["apkg.alias"] is sys.modules["apkg._real"])
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["True"] and eager.out.count("RUN _real") == 1, eager.out
    same_outcome(eager, cold, warm)
    assert cold.out.count("RUN _real") == warm.out.count("RUN _real") == 1


def test_a_package_putting_its_own_module_under_a_pending_submodules_name(
    sandbox: Sandbox,
) -> None:
    # Hunt T: the package's body puts `_impl` in sys.modules as `qpkg.compat`, and a file
    # compat.py exists too.  Eagerly the import finds `_impl` there (the file never runs, the
    # package gets no `compat` attribute); lazily the child, found before the package ran,
    # ran compat.py.
    sandbox.write(
        {
            "qpkg/__init__.py": "import sys\nfrom . import _impl\n"
            'sys.modules[__name__ + ".compat"] = _impl\n',
            "qpkg/_impl.py": 'def which():\n    return "_impl"\n',
            "qpkg/compat.py": 'print("RUN compat.py")\ndef which():\n    return "compat.py"\n',
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        import sys
        from qpkg.compat import which
        import qpkg.compat as c
        print(which(), c.which(), hasattr(sys.modules["qpkg"], "compat"))
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["_impl _impl False"], eager.out + eager.err
    same_outcome(eager, cold, warm)


def test_a_submodule_whose_name_the_package_took_over_since_its_entry_was_learned(
    sandbox: Sandbox,
) -> None:
    # The entry for qpkg.compat was learned from compat.py; then the package's body starts
    # putting `_impl` there.  The warm run binds the entry's names: they must reach _impl,
    # with no warning about a stale entry (the file's names are not what counts any more).
    sandbox.write(
        {
            "qpkg/__init__.py": "",
            "qpkg/_impl.py": 'def which():\n    return "_impl"\n',
            "qpkg/compat.py": 'def which():\n    return "compat.py"\n',
        }
    )
    code = "import lazyhook\nlazyhook.install()\nfrom qpkg.compat import which\nprint(which())\n"
    sandbox.run(code)
    assert sandbox.run(code).lines == ["compat.py"]
    alias = 'import sys\nfrom . import _impl\nsys.modules[__name__ + ".compat"] = _impl\n'
    sandbox.write({"qpkg/__init__.py": alias})
    for _ in range(2):
        r = sandbox.run(code, check=False)
        assert (r.returncode, r.lines, r.err) == (0, ["_impl"], ""), r.out + r.err


@pytest.mark.parametrize(
    "use", ["cm(*[1])", "cm(**{})", "cm([i for i in (1, 2)])", "cm(z := 1)", "cm(1, *[2])"]
)
def test_a_module_called_in_a_shape_not_followed_stays_eager(sandbox: Sandbox, use: str) -> None:
    # The review: `called` took a walk it could not follow (CALL_FUNCTION_EX, a
    # comprehension, a walrus) for "not a call", and the call raised TypeError.
    sandbox.write({"cm.py": CALLABLE_MODULE})
    code = "import lazyhook\nlazyhook.install()\nimport cm\nprint(" + use + ")\n"
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.returncode == 0 and "called" in eager.out, eager.err
    same_outcome(eager, cold, warm)


def test_a_module_stored_under_another_name_stays_lazy(sandbox: Sandbox) -> None:
    sandbox.write({"plain.py": "X = 1\n"})
    code = """
        import lazyhook
        lazyhook.install()
        import plain
        alias = plain
        print(lazyhook.is_lazy(alias), alias.X)
        """
    assert sandbox.run(code).lines == ["True 1"]


def test_a_placed_submodule_used_by_another_thread_while_its_package_finishes(
    sandbox: Sandbox,
) -> None:
    # The review: the package left the pending table before the hook marking its child
    # `placed` ran; a second thread using the child in that window ran compat.py.  A hook
    # that sleeps, put first, widens the window.
    sandbox.write(
        {
            "pkg/__init__.py": "import sys\nfrom . import _impl\n"
            'sys.modules[__name__ + ".compat"] = _impl\n',
            "pkg/_impl.py": 'x = "impl-x"\n',
            "pkg/compat.py": 'print("RUN compat.py")\nx = "file-x"\n',
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        import sys, threading, time
        import pkg.compat
        from lazyhook import _state

        def slow(st, done):
            if done and st.name == "pkg":
                time.sleep(0.5)

        _state.body_hooks.insert(0, slow)
        kid = sys.modules["pkg.compat"]
        a = threading.Thread(target=lambda: sys.modules["pkg"].__dict__)
        a.start()
        time.sleep(0.2)
        print("sees", kid.x)
        a.join()
        """
    r = sandbox.run(code)
    assert r.lines == ["sees impl-x"], r.out + r.err


def test_a_star_repair_leaves_a_name_getattr_serves_to_it(sandbox: Sandbox) -> None:
    # The review: the repair imported pkg.g, which eagerly the star import never does when
    # the package's __getattr__ answers `g` (hasattr first, as _handle_fromlist).
    sandbox.write(
        {
            "pkg/__init__.py": "import os\n"
            '__all__ = ["a"] + os.environ.get("EXTRA", "").split()\n'
            "a = 1\n"
            "def __getattr__(name):\n"
            '    if name == "g":\n'
            '        return "g-from-getattr"\n'
            "    raise AttributeError(name)\n",
            "pkg/g.py": 'print("RUN g.py")\n',
        }
    )
    code = "import lazyhook\nlazyhook.install()\nfrom pkg import *\nprint(a)\nprint(g)\n"
    sandbox.run("import lazyhook\nlazyhook.install()\nfrom pkg import *\nprint(a)\n")
    sandbox.run("import lazyhook\nlazyhook.install()\nfrom pkg import *\nprint(a)\n")
    r = sandbox.run(code, env=sandbox.env(EXTRA="g"), check=False)
    assert r.returncode == 0 and r.lines == ["1", "g-from-getattr"], r.out + r.err
