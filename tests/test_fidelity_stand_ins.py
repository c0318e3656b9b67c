"""Regressions from the round-2 script hunt: ordinary scripts whose outcome changed warm.

Each test runs one script eagerly, with a cold cache and warm (``Sandbox.eager_cold_warm``)
on tiny packages it writes, and asserts the eager outcome in all three.  Each failed on the
code before its fix.
"""

from __future__ import annotations

import subprocess
import sys

from conftest import RUN, Sandbox, same_outcome


def test_a_deferred_module_that_imports_warn_keeps_the_real_one(sandbox: Sandbox) -> None:
    # While a lazy body runs, warnings.warn is lazyhook's attribution wrapper; a module that
    # ran `from warnings import warn` meanwhile kept the wrapper for good, and under -W error
    # each of its warnings' tracebacks showed a frame of lazyhook's _attribution.
    sandbox.write(
        {
            "compat.py": RUN + "from warnings import warn\n\n"
            "def old_api():\n"
            "    warn('old_api is deprecated', DeprecationWarning, stacklevel=2)\n"
            "    return 42\n"
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        import compat
        print(compat.old_api())
        """
    eager, cold, warm = sandbox.eager_cold_warm(code, env={"PYTHONWARNINGS": "error"})
    assert eager.returncode == 1 and "DeprecationWarning: old_api is deprecated" in eager.err
    assert "lazyhook" not in eager.err
    same_outcome(eager, cold, warm)


def test_a_builtin_called_through_a_stand_in_adds_no_frame(sandbox: Sandbox) -> None:
    # A built-in function's stand-in was called through a Python wrapper (to resolve
    # stand-in arguments): its errors showed a frame of lazyhook's, and a warning it raised
    # from C was attributed to that frame (hidden by the default filters on 3.13).
    code = """
        import lazyhook
        lazyhook.install()
        from struct import unpack
        unpack("<I", b"abc")  # the first use: the stand-in calls it
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.returncode == 1
    assert eager.err.rstrip().endswith("struct.error: unpack requires a buffer of 4 bytes")
    same_outcome(eager, cold, warm)


def test_string_forward_references_and_doctests_see_real_names(sandbox: Sandbox) -> None:
    # Without `from __future__ import annotations`, a string annotation ("Day") is evaluated
    # by get_type_hints alike; doctest.testmod() runs a docstring's examples in a copy of the
    # module's namespace.  Both found the stand-in (issubclass(t, Day) False; `type(x) is
    # Day` False in the doctest).
    sandbox.write({"days.py": RUN + "class Day:\n    pass\ndef parse(s):\n    return Day()\n"})
    code = '''
        """
        >>> type(parse("x")) is Day
        True
        """
        import lazyhook
        lazyhook.install()
        import doctest
        import typing
        from days import Day, parse

        def f(d: "Day", e: "list[Day] | None" = None) -> None:
            pass

        hint = typing.get_type_hints(f)["d"]
        print(type(hint).__name__, issubclass(hint, Day) if isinstance(hint, type) else hint)
        print(doctest.testmod())
        '''
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["type True", "TestResults(failed=0, attempted=1)"]
    same_outcome(eager, cold, warm)


def test_exception_stand_ins_answer_as_the_real_classes(sandbox: Sandbox) -> None:
    # An exception class is bound as a class standing in for it while its module has not
    # run.  Read before that, __doc__ and __mro__ were the stand-in's (None; its builtin
    # base); used as a value (inspect.signature(E)) it was not bound real, so the signature
    # was the stand-in's call and the exit status differed.
    errs = 'class AppError(Exception):\n    """Base of the errors."""\n'
    errs += 'class NotFound(AppError):\n    """No such item."""\n'
    sandbox.write({"errs.py": RUN + errs, "errs2.py": RUN + errs})
    code = """
        import lazyhook
        lazyhook.install()
        import inspect
        from errs import AppError, NotFound
        from errs2 import NotFound as Missing

        print(NotFound.__doc__, NotFound.__mro__[1].__name__, lazyhook.is_lazy(AppError))
        try:
            raise NotFound("x")
        except AppError as e:
            print("caught", type(e).__name__)
        inspect.signature(Missing)
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["No such item. AppError False", "caught NotFound"]
    assert eager.returncode == 1 and "ValueError" in eager.err
    same_outcome(eager, cold, warm)
    assert warm.runs.index("errs") > warm.runs.index("errs2"), (cold.out, warm.out)


def test_a_literal_is_the_modules_own_object_once_the_module_has_run(sandbox: Sandbox) -> None:
    # A literal is bound from the name cache (a copy of the value): `lookup({}, k) is MISSING`
    # compared the module's own string with the copy.  Once the module runs, a namespace that
    # still holds the copy gets the module's object.
    sandbox.write(
        {
            "opts.py": RUN
            + 'MISSING = "<missing>"\ndef lookup(d, key):\n    return d.get(key, MISSING)\n'
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        from opts import MISSING, lookup
        print(lookup({}, "key") is MISSING, MISSING)
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["True <missing>"]
    same_outcome(eager, cold, warm)


def test_a_literal_another_module_changes_is_relearned(sandbox: Sandbox) -> None:
    # app.DEBUG is a literal in app's code, but app/_env.py sets it while app is imported when
    # an environment variable says so.  Learned without it, the entry kept the literal for good
    # (no check compared values): now the run that finds the difference warns once and
    # relearns, and the next run is right (a wrong entry costs at most one failing run).
    sandbox.write(
        {
            "app/__init__.py": RUN + "DEBUG = False\nfrom . import _env\n"
            "def configure():\n    return {'debug': DEBUG}\n",
            "app/_env.py": "import os\nimport app\nif os.environ.get('APP_DEBUG'):\n"
            "    app.DEBUG = True\n",
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        from app import DEBUG, configure
        print(configure(), DEBUG)
        """
    sandbox.eager_cold_warm(code)  # learned without APP_DEBUG
    eager, first, second = sandbox.eager_cold_warm(code, env={"APP_DEBUG": "1"})
    assert eager.lines == ["{'debug': True} True"]
    assert first.lines == eager.lines and first.err.count("LazyhookWarning") == 1, first.err
    same_outcome(eager, second)


def test_a_warning_at_a_dash_m_main_attributed_to_its_import(sandbox: Sandbox) -> None:
    # A deferred body warning its importer (stacklevel=2) is attributed to the import line.
    # Given the importer's globals, warn_explicit asked __main__'s loader for the source of
    # "__main__", which a `python -m m` loader (named "m") refuses: ImportError, exit 1
    # (`python -m jsonschema` with a deprecated option).
    import subprocess

    sandbox.write(
        {
            "w.py": RUN + "import warnings\n"
            "warnings.warn('w is deprecated', DeprecationWarning, stacklevel=2)\nx = 1\n",
            "m.py": "import lazyhook\nlazyhook.install()\nimport w\nprint(w.x)\n",
        }
    )
    runs = []
    for extra in ({"LAZYHOOK_DISABLE": "1"}, {}, {}):
        proc = subprocess.run(
            [sys.executable, "-m", "m"],
            capture_output=True,
            text=True,
            env=sandbox.env(**extra),
            cwd=str(sandbox.src),
            timeout=120,
        )
        runs.append((proc.returncode, proc.stdout.replace("RUN w\n", ""), proc.stderr))
    assert runs[0][:2] == (0, "1\n") and "m.py:3: DeprecationWarning: w is deprecated" in runs[0][2]
    assert runs[1] == runs[2] == runs[0], runs


def test_submodules_a_lazy_module_makes_importable_when_it_runs(sandbox: Sandbox) -> None:
    # A module that is not a package, imported lazily, whose body makes a child importable:
    # six sets __path__ = [] and registers a finder (`from six.moves import configparser`);
    # requests.packages puts its aliases into sys.modules (`from requests.packages.urllib3
    # ... import Retry`).  importlib reads the parent's __path__ to import the child, and
    # that read ran nothing: "'six' is not a package".  And a lazy package whose body puts a
    # submodule into sys.modules lost it (ModuleNotFoundError).
    sandbox.write(
        {
            "sixish.py": RUN + "import sys, types\n__path__ = []\n"
            "class Finder:\n"
            "    def find_spec(self, name, path, target=None):\n"
            "        if name == 'sixish.moves':\n"
            "            from importlib.machinery import ModuleSpec\n"
            "            return ModuleSpec(name, self)\n"
            "    def create_module(self, spec):\n"
            "        m = types.ModuleType(spec.name); m.configparser = 'cp'; return m\n"
            "    def exec_module(self, module):\n"
            "        pass\n"
            "sys.meta_path.append(Finder())\n",
            "realpkg/__init__.py": "",
            "realpkg/util.py": "RETRY = 'retry'\n",
            "aliases.py": RUN + "import sys, realpkg, realpkg.util\n"
            "sys.modules['aliases.realpkg'] = realpkg\n"
            "sys.modules['aliases.realpkg.util'] = realpkg.util\n",
            "virt/__init__.py": RUN + "import sys, types\n"
            "v = types.ModuleType('virt.v')\nv.X = 1\nsys.modules['virt.v'] = v\n",
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        import sixish, aliases, virt
        use = lambda: (sixish, aliases, virt)
        from sixish.moves import configparser
        from aliases.realpkg.util import RETRY
        import virt.v
        from virt.v import X
        print(configparser, RETRY, virt.v.X, X)
        try:
            import aliases.nothing
        except ImportError as e:
            print(type(e).__name__, e)
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == [
        "cp retry 1 1",
        "ModuleNotFoundError No module named 'aliases.nothing'; 'aliases' is not a package",
    ]
    same_outcome(eager, cold, warm)


def test_cloudpickle_of_a_main_function_using_a_from_imported_function(sandbox: Sandbox) -> None:
    # cloudpickle pickles a __main__ function by value with the globals it reads; a function
    # stand-in claiming to be a function (via __class__) was taken for one not reachable by
    # name and copied by value, its module's globals too: secrets' SystemRandom cannot be
    # pickled (joblib: "Could not pickle the task to send it to the workers").
    code = """
        import lazyhook
        lazyhook.install()
        import pickle
        import cloudpickle
        from secrets import randbelow

        def f():
            return randbelow(10) < 10

        data = cloudpickle.dumps(f)
        print(pickle.loads(data)(), len(data) < 1000)
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["True True"]
    same_outcome(eager, cold, warm)


def test_a_lazy_module_pickles_as_its_module(sandbox: Sandbox) -> None:
    # cloudpickle and dill find a module's reducer by exact type: a lazy module (a subclass)
    # was "cannot pickle 'module' object" when a __main__ function pickled by value read it
    # (cloudpickle.dumps(f), dill.dump_module()).  Plain pickle and copy refuse, as eagerly.
    # A package whose lazy submodule has not run (ParentOfPending) too.
    sandbox.write(
        {
            "jsonish.py": RUN + "def dumps(x):\n    return repr(x)\n",
            "pkg/__init__.py": RUN,
            "pkg/dom/__init__.py": RUN,
            "pkg/dom/sub.py": RUN + "def tag(x):\n    return f'<{x}>'\n",
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        import copy
        import pickle
        import cloudpickle
        import jsonish
        import pkg.dom.sub

        def f(x):
            return pkg.dom.sub.tag(jsonish.dumps(x))

        data = cloudpickle.dumps(f)
        print(pickle.loads(data)([1, 2]))
        for dump in (pickle.dumps, copy.copy):
            try:
                dump(jsonish)
            except TypeError as exc:
                print(dump.__name__, exc)
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == [
        "<[1, 2]>",
        "dumps cannot pickle 'module' object",
        "copy cannot pickle 'module' object",
    ]
    same_outcome(eager, cold, warm)


def test_raise_and_except_keep_only_exception_classes_lazy(sandbox: Sandbox) -> None:
    # `raise E` and `except (A, E)` stopped counting as value uses (an exception stand-in is
    # a class) for every name: a star-imported exception *instance* or *tuple* of classes was
    # then a stand-in there ("exceptions must derive from BaseException").  And an exception
    # stand-in's call ran in a Python frame of lazyhook's, shown in the traceback of a failing
    # __init__.
    sandbox.write(
        {
            "errs.py": RUN + "PRESET = ValueError('preset')\nRETRYABLE = (KeyError, OSError)\n"
            "class HTTPError(Exception):\n    def __init__(self, status):\n"
            "        super().__init__(status)\n",
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        from errs import *
        try:
            raise PRESET
        except ValueError as e:
            print("caught", repr(e))
        try:
            {}["k"]
        except RETRYABLE as e:
            print("caught", type(e).__name__)
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["caught ValueError('preset')", "caught KeyError"]
    same_outcome(eager, cold, warm)
    code = """
        import lazyhook
        lazyhook.install()
        from errs import HTTPError

        def fetch(ok):
            if not ok:
                raise HTTPError

        try:
            fetch(True)
        except HTTPError:
            pass
        fetch(False)
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.returncode == 1 and "missing 1 required positional argument" in eager.err
    same_outcome(eager, cold, warm)


def test_type_like_strings_outside_annotations_and_class_reads(sandbox: Sandbox) -> None:
    # typing and pydantic evaluate strings in the module's namespace beyond annotations:
    # `list["Item"]`, `TypeVar("T", bound="Item")`; they found the stand-in.  And
    # `helper.__class__` (an attribute read) answered the stand-in's own class.
    sandbox.write(
        {"shop.py": RUN + "class Item:\n    pass\ndef helper(x):\n    return x\n"},
    )
    code = """
        import lazyhook
        lazyhook.install()
        import typing
        from shop import Item, helper

        Items = list["Item"]
        T = typing.TypeVar("T", bound="Item")

        def f(x: Items, y: T) -> None:
            pass

        hints = typing.get_type_hints(f, localns={"T": T})
        print(type(typing.get_args(hints["x"])[0]).__name__)
        print(type(typing._eval_type(T.__bound__, globals(), None)).__name__)
        print(helper.__class__.__name__)
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    # (3.10's get_type_hints leaves a string inside list[...] as it is.)
    assert eager.lines == ["str" if sys.version_info < (3, 11) else "type", "type", "function"]
    same_outcome(eager, cold, warm)


def test_find_spec_of_a_submodule_its_parent_imported_is_the_files(sandbox: Sandbox) -> None:
    # The finder hands importlib a module a lazy parent's body put into sys.modules (see the
    # test above); importlib.util.find_spec() asks the finders too, after importing the
    # parent, and got that spec (no origin): pytest's --pyargs found no "networkx.classes".
    sandbox.write({"pkgx/__init__.py": "from . import sub\n", "pkgx/sub.py": "X = 1\n"})
    code = """
        import lazyhook
        lazyhook.install()
        import importlib.util
        spec = importlib.util.find_spec("pkgx.sub")
        print(spec.origin.endswith("sub.py"), spec.name, type(spec.loader).__name__)
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["True pkgx.sub SourceFileLoader"]
    same_outcome(eager, cold, warm)


def test_strings_that_name_types_and_dunder_reads(sandbox: Sandbox) -> None:
    # From a hunt aimed at typing-heavy frameworks: a quoted annotation holding a call or a
    # space ("Annotated[Item, Field(description='x')]": pydantic's SchemaError), a folded
    # tuple in NamedTuple's functional form, a class named by string to a registry
    # (SQLAlchemy's relationship("Item") failed to locate Item: its module had not run), and
    # Fraction.__reduce__(f) read off a class stand-in (its own method: TypeError).
    sandbox.write(
        {
            "shop.py": RUN + "registry = {}\n"
            "class Base:\n"
            "    def __init_subclass__(cls):\n"
            "        registry[cls.__name__] = cls\n"
            "def lookup(name):\n"
            "    return registry[name].__name__\n",
            "items.py": RUN + "from shop import Base\nclass Item(Base):\n    pass\n",
            "fracs.py": RUN + "from fractions import Fraction\n",
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        from typing import Annotated, NamedTuple, get_type_hints
        from shop import lookup
        from items import Item
        from fracs import Fraction

        class Order:
            item: "Annotated[Item, 'the item']"

        P = NamedTuple("P", [("item", "Item")])
        hint = get_type_hints(Order, include_extras=True)["item"].__origin__
        print(type(hint).__name__, type(get_type_hints(P)["item"]).__name__)
        print(lookup("Item"))
        print(Fraction.__reduce__(Fraction(1, 3)))
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines[:2] == ["type type", "Item"]  # (3.10 reduces a Fraction to a string)
    assert eager.lines[2].startswith("(<class 'fractions.Fraction'>, (")
    same_outcome(eager, cold, warm)


def test_imports_in_exec_strings_and_dash_c_that_nothing_reads_run(sandbox: Sandbox) -> None:
    # `-c` code and an exec'd string counted as reading every import: an import nothing read
    # was deferred and never ran.  ply's own tests load rule modules with exec("import " +
    # name) (55 failures), and `python -c "import pkg"` passed on a broken package.
    import subprocess

    sandbox.write({"side.py": "print('registering plugin')\nraise SyntaxError('bad rule')\n"})
    code = """
        import lazyhook
        lazyhook.install()

        def run_import(m):
            exec("import " + m)

        try:
            run_import("side")
        except SyntaxError as e:
            print("caught", e)
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["registering plugin", "caught bad rule"]
    same_outcome(eager, cold, warm)
    runs = []
    for extra in ({"LAZYHOOK_DISABLE": "1"}, {}):
        proc = subprocess.run(
            [sys.executable, "-c", "import lazyhook; lazyhook.install(); import side"],
            capture_output=True,
            text=True,
            env=sandbox.env(**extra),
            cwd=str(sandbox.src),
            timeout=120,
        )
        runs.append((proc.returncode, proc.stdout, proc.stderr.splitlines()[-1:]))
    assert runs[0] == (1, "registering plugin\n", ["SyntaxError: bad rule"]), runs
    assert runs[1] == runs[0]


def test_a_proxy_in_sys_modules_survives_giving_warn_back(sandbox: Sandbox) -> None:
    # twisted.python.deprecate puts a proxy object into sys.modules in place of its module;
    # the walk that gives modules the real warn back took it for a module (the proxy answers
    # __class__ as the module it wraps) and failed with a TypeError at the end of the body.
    sandbox.write(
        {
            "proxmod.py": "import sys\n"
            "class _ModuleProxy:\n"
            "    def __init__(self, module):\n"
            "        object.__setattr__(self, '_module', module)\n"
            "    def __getattribute__(self, name):\n"
            "        return getattr(object.__getattribute__(self, '_module'), name)\n"
            "x = 1\n"
            "sys.modules[__name__] = _ModuleProxy(sys.modules[__name__])\n",
            "wmod.py": RUN + "from warnings import warn\ndef f():\n    return 'wmod ok'\n",
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        try:
            import proxmod
        except ImportError:
            raise
        import wmod
        print(proxmod.x, wmod.f())
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["1 wmod ok"]
    same_outcome(eager, cold, warm)


def test_names_a_script_binds_are_real_at_the_prompt_of_python_i(sandbox: Sandbox) -> None:
    # `python -i script.py`: the prompt after the script reads its namespace, but sys.ps1 is
    # set only then, so the script's from-imports bound stand-ins (type(Widget) was LazyName).
    sandbox.write(
        {
            "pkg/__init__.py": "",
            "pkg/mod.py": RUN + "class Widget:\n    pass\ndef helper():\n    return 1\n",
        }
    )
    script = sandbox.path / "interactive.py"
    script.write_text(
        "import lazyhook\nlazyhook.install()\nfrom pkg.mod import Widget, helper\n"
        "def use():\n    return Widget(), helper()\n"
    )
    prompt = "print(type(Widget).__name__)\nimport pkg.mod\nprint(helper is pkg.mod.helper)\n"
    runs = _eager_cold_warm(sandbox, ["-i", str(script)], stdin=prompt)
    outs = [[x for x in p.stdout.splitlines() if not x.startswith("RUN ")] for p in runs]
    assert outs[0] == ["type", "True"], outs
    assert outs[1] == outs[0] and outs[2] == outs[0], outs


def test_copyreg_imported_first_by_a_lazy_from_import(sandbox: Sandbox) -> None:
    # The first lazy module made loads lazyhook's _module, which registers its reducer of
    # lazy modules in copyreg.  With copyreg itself that first lazy module (`python -m
    # pickle`, whose __main__ does `from copyreg import dispatch_table`, in an interpreter
    # that had not loaded copyreg: -S here), copyreg was still empty: AttributeError.
    script = sandbox.path / "first_copyreg.py"
    script.write_text(
        "import sys\nprint('copyreg' in sys.modules)\nimport lazyhook\nlazyhook.install()\n"
        "from copyreg import dispatch_table\nimport pickle\n"
        "print(type(dispatch_table).__name__, pickle.loads(pickle.dumps([1])))\n"
    )
    outs = [
        (p.returncode, p.stdout, p.stderr) for p in _eager_cold_warm(sandbox, ["-S", str(script)])
    ]
    assert outs[0] == (0, "False\ndict [1]\n", ""), outs
    assert outs[1] == outs[0] and outs[2] == outs[0], outs


def test_names_of_a_namespace_handed_on_with_globals_are_real(sandbox: Sandbox) -> None:
    # pyyaml's legacy test runner: the script star-imports its test modules and hands
    # globals() to a runner that keeps the types.FunctionType values; stand-ins answer
    # __class__ as their own, so warm no test was found (and the run passed with none).
    sandbox.write(
        {
            "funcs.py": RUN + "def test_a(): pass\ntest_a.unittest = True\n"
            "def test_b(): pass\ntest_b.unittest = True\n",
            "runner.py": "import types\n"
            "def run(collection):\n"
            "    found = [k for k, v in sorted(collection.items())\n"
            "             if isinstance(v, types.FunctionType) and hasattr(v, 'unittest')]\n"
            "    print('tests found:', found)\n",
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        from funcs import *
        if __name__ == "__main__":
            import runner
            runner.run(globals())
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["tests found: ['test_a', 'test_b']"]
    same_outcome(eager, cold, warm)


def test_names_of_a_namespace_handed_on_with_vars_are_real(sandbox: Sandbox) -> None:
    # vars() is locals(), at module level the module's namespace: handed to eval it showed
    # the stand-ins there (warm: "LazyName"); vars(obj) of an object's does not count.
    sandbox.write({"funcs.py": RUN + "def helper(): pass\nclass Thing: pass\n"})
    code = """
        import lazyhook
        lazyhook.install()
        import types
        from funcs import *
        opts = vars(types.SimpleNamespace(a=1))
        print(eval("type(helper).__name__, type(Thing).__name__", vars()), opts)
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines[-1] == "('function', 'type') {'a': 1}", eager.lines
    same_outcome(eager, cold, warm)


def test_a_body_failing_at_its_from_import_raises_there_unnoted(sandbox: Sandbox) -> None:
    # A from-import that runs its module at the statement (no cache entry yet, or names
    # used as values) surfaced the body's error as one "at first use": noted "was imported
    # lazily ... and failed when first used" (docutils' recommonmark tests, recommonmark
    # missing).  An AttributeError stays an ImportError there (README, Limit 1).
    sandbox.write(
        {
            "wrapper.py": "import no_such_dependency_here\nclass Parser:\n    pass\n",
            "attr.py": "import os\nos.no_such_function()\nclass Parser:\n    pass\n",
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        try:
            from attr import Parser as P
        except ImportError as exc:
            print("attr:", type(exc.__cause__ or exc).__name__)
        except AttributeError as exc:
            print("attr:", type(exc).__name__)
        from wrapper import Parser
        print(Parser)
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.returncode == 1 and eager.lines == ["attr: AttributeError"]
    last = "ModuleNotFoundError: No module named 'no_such_dependency_here'"
    for r in (eager, cold, warm):
        assert r.err.rstrip().endswith(last), r.err
        assert "lazyhook:" not in r.err and r.returncode == 1, r.err
        assert r.lines == eager.lines


def _eager_cold_warm(
    sandbox: Sandbox, argv: list[str], stdin: str | None = None
) -> list[subprocess.CompletedProcess[str]]:
    """``Sandbox.eager_cold_warm`` for a command line with interpreter options (``-i``,
    ``-S``): ``python *argv`` eagerly, then lazily with an empty cache, then warm."""
    return [
        subprocess.run(
            [sys.executable, *argv],
            input=stdin,
            capture_output=True,
            text=True,
            env=sandbox.env(**extra),
            cwd=str(sandbox.path),
            timeout=60,
        )
        for extra in ({"LAZYHOOK_DISABLE": "1"}, {}, {})
    ]


def test_a_name_a_later_statement_uses_as_a_base_is_real_there(sandbox: Sandbox) -> None:
    # A stand-in one from-import made was handed to every later from-import of the same name
    # before that statement's own use was looked at: exec'd code subclassing the name got the
    # stand-in (a class with __orig_bases__), and under names="all" a sympy module's
    # `class Number(AtomicExpr)` ran sympy.core.expr inside its own circular import.
    sandbox.write({"pkg/__init__.py": "", "pkg/mod.py": RUN + "class Base:\n    pass\n"})
    code = """
        import lazyhook
        lazyhook.install()
        from pkg.mod import Base

        def make():
            return Base()

        exec("from pkg.mod import Base\\nclass X(Base): pass\\n"
             "print(hasattr(X, '__orig_bases__'), X.__mro__[1].__name__)")
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["False Base"] and eager.runs == ["pkg.mod"]
    same_outcome(eager, cold, warm)


def test_exception_classes_a_module_only_re_exports_are_real(sandbox: Sandbox) -> None:
    # `from sqlalchemy.orm.exc import NoResultFound` (defined in sqlalchemy.exc) was bound
    # as an exception stand-in: sqlalchemy.exc raised the real class while sqlalchemy.orm.exc
    # never ran, and `except NoResultFound` stopped matching from the second run on.  The
    # same for such a class read in a class body (`class Api: from json import
    # JSONDecodeError as Error`, `except Api.Error`): class namespaces are never settled.
    sandbox.write(
        {
            "shop/__init__.py": "",
            "shop/errors.py": "class NotFound(LookupError):\n    pass\n",
            "shop/db.py": "from shop.errors import NotFound\ndef get(k):\n    raise NotFound(k)\n",
            "shop/orm.py": RUN + "from shop.errors import NotFound\n",
            "shop/api.py": RUN + "class ApiError(Exception):\n    pass\n"
            "def fail():\n    raise ApiError('boom')\n",
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        from shop import db, api
        from shop.orm import NotFound

        class Api:
            from shop.api import ApiError as Error

        def lookup(k):
            try:
                return db.get(k)
            except NotFound:
                return "not found"

        def call():
            try:
                api.fail()
            except Api.Error as e:
                return f"api error {e}"

        print(lookup("apple"))
        print(call())
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["not found", "api error boom"], eager.out + eager.err
    same_outcome(eager, cold, warm)
    # A class defined elsewhere whose __module__ was set to its public home (numpy's
    # set_module): that module's code defines no such class, so it only re-exports it.
    sandbox.write(
        {
            "pub/__init__.py": "from pub._core import run\n",
            "pub/_core.py": "class PubError(Exception):\n    pass\n"
            "PubError.__module__ = 'pub.errors'\n"
            "def run():\n    raise PubError('boom')\n",
            "pub/errors.py": RUN + "from pub._core import PubError\n",
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        import pub
        from pub.errors import PubError

        def main():
            try:
                pub.run()
            except PubError as e:
                return f"caught {e}"

        print(main())
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["caught boom"], eager.out + eager.err
    same_outcome(eager, cold, warm)


def test_a_stand_in_has_a_signature_attribute_only_if_the_real_object_has(
    sandbox: Sandbox,
) -> None:
    # A stand-in answered ``C.__signature__`` with inspect.signature(C) for every reader:
    # warm, a class without one had it, and numpy's fromstring raised ValueError out of an
    # ``except AttributeError``.  inspect.signature() of a stand-in still gives the real one's.
    sandbox.write(
        {"pk.py": RUN + "class C:\n    def __init__(self, a, b=1): pass\ndef f(x, *, y=2): pass\n"}
    )
    code = """
        import lazyhook
        lazyhook.install()
        import inspect
        from pk import C, f
        try:
            print(C.__signature__)
        except AttributeError:
            print("no __signature__")
        try:
            print(f.__signature__)
        except AttributeError:
            print("no __signature__")
        print(inspect.signature(globals()["C"]), inspect.signature(globals()["f"]))
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines[-3:] == ["no __signature__", "no __signature__", "(a, b=1) (x, *, y=2)"]
    same_outcome(eager, cold, warm)


def test_a_modules_own_getattr_answers_the_from_import_path_read(sandbox: Sandbox) -> None:
    # The interpreter reads ``__path__`` of the module a from-import names, and a PEP 562
    # __getattr__ (a deprecation shim) is asked for it: its warning was lost (warm), or came
    # at exit from lazyhook's learning, attributed to lazyhook's code (cold).
    sandbox.write(
        {
            "pkg/__init__.py": "",
            "pkg/mod.py": RUN + "import warnings\n"
            "def __getattr__(name):\n"
            "    warnings.warn(f'pkg.mod.{name} is deprecated', DeprecationWarning, 2)\n"
            "    return 42\n",
        }
    )
    code = """
        import warnings
        warnings.simplefilter("always")
        import lazyhook
        lazyhook.install()
        from pkg.mod import thing
        print(thing)
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert "pkg.mod.__path__ is deprecated" in eager.err and "42" in eager.lines
    same_outcome(eager, cold, warm)


def test_a_circular_from_import_of_a_running_module_reads_it_part_initialised(
    sandbox: Sandbox,
) -> None:
    # The __path__ read of a from-import runs a lazy module there; one whose body is running
    # (a circular from-import reads it part initialised) must not be run again.
    sandbox.write(
        {
            "circ_a.py": "x = 1\nfrom circ_b import y\nprint('a done', y)\n",
            "circ_b.py": "from circ_a import x\ny = x + 1\n",
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        from circ_a import x
        print(x)
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["a done 2", "1"], eager.out + eager.err
    same_outcome(eager, cold, warm)


def test_a_stand_in_of_an_object_whose_type_has_a_copyreg_reducer_pickles(
    sandbox: Sandbox,
) -> None:
    # Hunt S: cloudpickle of a __main__ function using `from numpy import sqrt` failed warm
    # ("cannot pickle 'numpy.ufunc' object"): the stand-in reduced the ufunc with its own
    # __reduce_ex__, past copyreg.dispatch_table, where numpy registers ufunc's reducer.
    sandbox.write(
        {
            "ufuncs.py": "import copyreg\n"
            "class UFunc:\n"
            "    def __init__(self, name):\n        self.__name__ = name\n"
            "    def __call__(self, x):\n        return x * 2\n"
            "    def __reduce__(self):\n"
            "        raise TypeError(\"cannot pickle 'UFunc' object\")\n"
            "copyreg.pickle(UFunc, lambda f: f.__name__)\n"
            'double = UFunc("double")\n'
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        import pickle
        from ufuncs import double

        def f(x):
            return double(x)

        g = pickle.loads(pickle.dumps(f.__globals__["double"]))
        print(g(2), f(3))
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["4 6"], eager.out + eager.err
    same_outcome(eager, cold, warm)


def test_a_stand_in_of_a_class_whose_metaclass_has_a_copyreg_reducer(sandbox: Sandbox) -> None:
    # Review 2: pickle asks copyreg.dispatch_table[type(obj)] before pickling a class by
    # name; a stand-in pickled the class by name past its metaclass's reducer.
    sandbox.write(
        {
            "metam.py": "import copyreg\nclass Meta(type):\n    pass\n"
            'copyreg.pickle(Meta, lambda c: (str, ("by-meta-reducer",)))\n'
            "class K(metaclass=Meta):\n    pass\n"
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        import pickle
        from metam import K

        def f():
            return K()

        print(pickle.loads(pickle.dumps(f.__globals__["K"])), type(f()).__name__)
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["by-meta-reducer K"], eager.out + eager.err
    same_outcome(eager, cold, warm)
