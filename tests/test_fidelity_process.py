"""Regressions from the round-2 hunt on the process around a program: a fork, the exit.

Each test runs one script eagerly, with a cold cache and warm (``Sandbox.eager_cold_warm``)
on tiny packages it writes, and asserts the eager outcome in all three.  Each failed on the
code before its fix.  stdout is a pipe here, block-buffered (``PYTHONUNBUFFERED`` unset), as
for a program whose output is redirected.
"""

from __future__ import annotations

import re
import sys

import pytest
from conftest import RUN, Result, Sandbox, same_outcome

BUFFERED = {"PYTHONUNBUFFERED": ""}
fork_only = pytest.mark.skipif(sys.platform == "win32", reason="os.fork")


@fork_only
def test_a_body_run_at_a_fork_gets_the_fork_hooks_it_registers(sandbox: Sandbox) -> None:
    # A fork runs every pending body first, inside the fork's "before" hooks.  A body that
    # imports logging registers logging's hooks then: the fork missed "before" (acquire) but
    # called "after_in_parent" (release): "RuntimeError: cannot release un-acquired lock"
    # on stderr.  multiprocessing's fork start method did the same.
    sandbox.write(
        {
            "pkg/__init__.py": "",
            "pkg/mod.py": "import logging\nlog = logging.getLogger('x')\ndef f():\n    return 1\n",
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        import os, sys
        import pkg.mod
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            print("child", pkg.mod.f(), flush=True)
            os._exit(0)
        os.waitpid(pid, 0)
        print("parent", pkg.mod.f())
        """
    eager, cold, warm = sandbox.eager_cold_warm(code, env=BUFFERED)
    assert eager.lines == ["child 1", "parent 1"] and eager.err == ""
    same_outcome(eager, cold, warm)


@fork_only
def test_output_a_program_leaves_unflushed_at_a_fork_is_as_eager(sandbox: Sandbox) -> None:
    # A fork runs the pending bodies first; flushing stdout after them (so that what they
    # printed was not printed again by the child) flushed the program's own output too: the
    # child no longer printed it again, and a preexec_fn child's output came after it.
    sandbox.write({"helper.py": "def dumps(x):\n    return repr(x)\n"})
    code = """
        import lazyhook
        lazyhook.install()
        import os, sys
        import helper
        print("before fork")
        pid = os.fork()
        if pid == 0:
            print("child", helper.dumps(1))
            sys.exit(0)
        os.waitpid(pid, 0)
        print("parent", helper.dumps(2))
        """
    eager, cold, warm = sandbox.eager_cold_warm(code, env=BUFFERED)
    assert eager.lines == ["before fork", "child 1", "before fork", "parent 2"]
    same_outcome(eager, cold, warm)


def test_main_s_objects_are_finalised_while_the_interpreter_still_works(
    sandbox: Sandbox,
) -> None:
    # A lazy module never used held __main__'s globals (the importing namespace, for its
    # settling), so __main__'s objects outlived the module teardown: their __del__ and a
    # generator's finally ran when os and print were gone, and did nothing.
    sandbox.write({"helper.py": "def dumps(x):\n    return repr(x)\n"})
    code = """
        import lazyhook
        lazyhook.install()
        import os
        import helper
        from helper import dumps

        class TempDir:
            def __init__(self):
                self.path = "scratch"
                os.mkdir(self.path)

            def __del__(self):
                os.rmdir(self.path)
                print("cleaned up", os.path.exists(self.path))

        def numbers():
            try:
                yield 1
            finally:
                print("generator closed")

        work = TempDir()
        gen = numbers()
        next(gen)
        print("main end")

        def dump(x):
            return helper.dumps(x) + dumps(x)
        """
    eager, cold, warm = sandbox.eager_cold_warm(code, env=BUFFERED)
    assert sorted(eager.lines) == ["cleaned up False", "generator closed", "main end"]
    assert eager.err == ""
    same_outcome(eager, cold, warm)


def test_an_atexit_handler_a_body_registers_inside_an_atexit_handler_runs(
    sandbox: Sandbox,
) -> None:
    # A module first used inside the program's atexit handler registered its own handler
    # while CPython ran them: CPython never calls such a handler (its store was not saved,
    # logging's shutdown did not run).  A failing one is reported as CPython reports its own.
    sandbox.write(
        {
            "store.py": "import atexit\n_cache = {}\n"
            "def put(k, v):\n    _cache[k] = v\n"
            "def _save(path):\n    print('store saved', sorted(_cache), path)\n"
            "def _fail():\n    raise ValueError('boom')\n"
            "atexit.register(_save, 'store.json')\natexit.register(_fail)\n",
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        import atexit
        import store

        def on_exit():
            store.put("last_run", "ok")
            print("on_exit")

        atexit.register(on_exit)
        print("main end")
        """
    eager, cold, warm = sandbox.eager_cold_warm(code, env=BUFFERED)
    assert eager.lines == ["main end", "on_exit", "store saved ['last_run'] store.json"]
    assert "ValueError: boom" in eager.err and "store.py" in eager.err

    def outcome(r: Result) -> tuple[int, list[str], str]:
        return r.returncode, r.lines, re.sub(r"0x[0-9a-f]+", "0x?", r.err)

    assert outcome(cold) == outcome(eager) == outcome(warm), (cold.err, warm.err)


def test_exit_handlers_a_late_handler_s_bodies_register_run_and_report_as_eager(
    sandbox: Sandbox,
) -> None:
    # The program's handler first uses `store`, whose body registers `_flush`; `_flush` first
    # uses `report`, whose body registers `_emit`, which fails.  Both were lost (the second
    # after the first fix: the list of noted handlers was cleared while being called), and a
    # failure of a handler lazyhook calls bypassed sys.unraisablehook (pytest's plugin).
    sandbox.write(
        {
            "store.py": "import atexit\nimport report\n_data = []\n"
            "def add(x):\n    _data.append(x)\n"
            "def _flush():\n    print('store: flushing', _data)\n    report.summary(len(_data))\n"
            "atexit.register(_flush)\n",
            "report.py": "import atexit\n_lines = []\n"
            "def summary(n):\n    _lines.append(f'{n} items')\n"
            "def _emit():\n    print('report:', _lines)\n    raise OSError('disk full')\n"
            "atexit.register(_emit)\n",
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        import atexit, sys
        import store

        def hook(u):
            msg = u.err_msg.split(" <")[0]  # 3.13 puts the handler's repr there
            print("unraisablehook:", msg, type(u.exc_value).__name__, u.exc_value)
        sys.unraisablehook = hook

        def on_exit():
            print("main: on_exit")
            store.add("last")
        atexit.register(on_exit)
        print("main: running")
        """
    eager, cold, warm = sandbox.eager_cold_warm(code, env=BUFFERED)
    assert eager.lines == [
        "main: running",
        "main: on_exit",
        "store: flushing ['last']",
        "report: ['1 items']",
        "unraisablehook: Exception ignored in atexit callback OSError disk full",
    ]
    same_outcome(eager, cold, warm)


def test_a_body_first_used_after_atexit_ran_early_still_warns_its_importer(
    sandbox: Sandbox,
) -> None:
    # atexit._run_exitfuncs() mid-program (CPython's test_atexit does it) ran lazyhook's exit
    # work, which let go of each pending module's importer: a deprecated module first used
    # later lost its import-time DeprecationWarning (shown by the default filters only when
    # attributed to __main__).  So did a module first used by a handler the program
    # registered before its first lazy import.
    sandbox.write(
        {
            "later.py": "import warnings\n"
            "warnings.warn('later is deprecated', DeprecationWarning, stacklevel=2)\nX = 1\n",
            "store.py": "import warnings\n"
            "warnings.warn('store is deprecated', DeprecationWarning, stacklevel=2)\n"
            "def add(x):\n    return x\n",
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        import atexit

        def on_exit():
            print("main: on_exit", store.add(1))
        atexit.register(on_exit)

        import store
        import later
        atexit._run_exitfuncs()
        atexit.register(on_exit)
        print("main: running", later.X)
        """
    eager, cold, warm = sandbox.eager_cold_warm(code, env=BUFFERED)
    assert "DeprecationWarning: later is deprecated" in eager.err
    assert "DeprecationWarning: store is deprecated" in eager.err
    same_outcome(eager, cold, warm)


def test_a_module_that_replaced_itself_copies_and_pickles_as_its_replacement(
    sandbox: Sandbox,
) -> None:
    # A "module as object" (settings.py ends with sys.modules[__name__] = _Settings()):
    # deepcopy, copy and cloudpickle of what the import bound failed once pickling lazy
    # modules ran them ("cannot pickle 'ForwardingModule' object").
    sandbox.write(
        {
            "settings.py": RUN + "import sys\nclass _Settings:\n    debug = False\n"
            "    def __init__(self):\n        self.paths = ['/etc/app']\n"
            "sys.modules[__name__] = _Settings()\n",
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        import copy, pickle
        import cloudpickle
        import settings

        local = copy.deepcopy(settings)
        local.paths.append("/tmp")
        print(settings.paths, local.paths, type(copy.copy(settings)).__name__)

        def f():
            return settings.debug

        print(pickle.loads(cloudpickle.dumps(f))())
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["['/etc/app'] ['/etc/app', '/tmp'] _Settings", "False"]
    same_outcome(eager, cold, warm)


def test_the_exit_loads_lazyhooks_process_code_only_for_a_noted_handler(sandbox: Sandbox) -> None:
    # The exit handler install() registers calls the handlers bodies registered too late for
    # CPython (_process.at_exit).  It loaded _process at every exit of a lazy run, ~0.1 ms
    # (0.5 M instructions) for nothing: now only once a body registered a handler.
    saver = "import atexit\natexit.register(print, 'bye')\n"
    sandbox.write({"plain.py": "X = 1\n", "saver.py": saver})
    code = """
        import lazyhook
        lazyhook.install()
        import plain, saver
        print(plain.X)
        use = USE  # not "if False:", which the compiler drops: then nothing reads saver
        if use:
            saver.atexit
        """
    timed = {"PYTHONPROFILEIMPORTTIME": "1"}
    for use, lines in (("False", ["1"]), ("True", ["1", "bye"])):
        result = sandbox.run(code.replace("USE", use), env=sandbox.env(**timed))
        assert result.lines == lines
        assert ("lazyhook._process" in result.err) is (use == "True"), result.err


# A library that makes its logger at import, as asyncio, urllib3 and most others do.
LOGGING_LIB = {
    "lib.py": RUN + "import logging\nlog = logging.getLogger('lib')\n"
    "def work():\n    log.warning('lib working')\n    return 1\n"
}
DICT_CONFIG = (
    "{'version': 1, 'handlers': {'h': {'class': 'logging.StreamHandler', "
    "'stream': 'ext://sys.stdout'}}, 'root': {'level': 'DEBUG', 'handlers': ['h']}}"
)
INI = (
    "[loggers]\nkeys=root\n[handlers]\nkeys=h\n[formatters]\nkeys=\n"
    "[logger_root]\nlevel=DEBUG\nhandlers=h\n"
    "[handler_h]\nclass=StreamHandler\nargs=(sys.stdout,)\n"
)


@pytest.mark.parametrize(
    "program",
    [
        # logging imported after the library, run lazily at the configuring call
        "import lib\nimport logging.config\nlogging.config.dictConfig(CONFIG)\nprint(lib.work())\n",
        # logging already there before install(); the library the first lazy module
        "import logging.config\nimport lazyhook\nlazyhook.install()\nimport lib\n"
        "logging.config.dictConfig(CONFIG)\nprint(lib.work())\n",
        # logging.config imported in a function, eagerly, after the library
        "import os, lib\ndef main():\n    import logging.config\n"
        "    logging.config.fileConfig(os.path.join(os.path.dirname(lib.__file__), 'log.ini'))\n"
        "    print(lib.work())\nmain()\n",
        # dictConfig bound by name before the library's import
        "from logging.config import dictConfig\nimport lib\ndictConfig(CONFIG)\n"
        "print(lib.work())\n",
        # logging.config first imported, eagerly, in a function after the library's import
        "import lib\ndef setup():\n    import logging.config\n"
        "    logging.config.dictConfig(CONFIG)\nsetup()\nprint(lib.work())\n",
        # logging.config imported under lazyhook.eager(), nothing imported after it
        "import lib\nwith lazyhook.eager():\n    import logging.config\n"
        "logging.config.dictConfig(CONFIG)\nprint(lib.work())\n",
        # logging not among lazyhook's patterns
        "import lazyhook\nlazyhook.install(include=['lib'])\nimport lib\nimport logging.config\n"
        "logging.config.dictConfig(CONFIG)\nprint(lib.work())\n",
        # a program's own configurator, calling the base class's configure explicitly
        "import lib\nimport logging.config as lc\nclass Mine(lc.DictConfigurator):\n"
        "    def configure(self):\n        lc.DictConfigurator.configure(self)\n"
        "Mine(CONFIG).configure()\nprint(lib.work())\n",
    ],
)
def test_configuring_logging_disables_the_loggers_pending_bodies_would_have_made(
    sandbox: Sandbox, program: str
) -> None:
    # dictConfig()/fileConfig() disable every logger that exists (disable_existing_loggers,
    # true by default): eagerly lib's, so "lib working" never printed.  Lazily lib had not run
    # and made its logger after the configuration, enabled: one more line of output (asyncio's
    # "Using selector", urllib3's connection lines in real programs).
    sandbox.write({**LOGGING_LIB, "log.ini": INI})
    head = "" if "lazyhook.install" in program else "import lazyhook\nlazyhook.install()\n"
    code = head + f"CONFIG = {DICT_CONFIG}\n" + program
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert "lib working" not in eager.out and eager.lines[-1] == "1"
    same_outcome(eager, cold, warm)
    assert "RUN lib" in cold.out and cold.runs.index("lib") >= 0


def test_getting_setting_or_listing_loggers_leaves_bodies_pending(sandbox: Sandbox) -> None:
    # Only configuring logging runs the pending bodies: getLogger() and setLevel() (which
    # walks the registry's values to clear caches) are made by nearly every library at import,
    # and a listing of the registry by the program itself is not covered (README).
    sandbox.write(LOGGING_LIB)
    r = sandbox.run(
        "import lazyhook\nlazyhook.install()\nimport lib, logging, logging.config\n"
        "logging.getLogger('app').setLevel(logging.INFO)\nlogging.disable(logging.DEBUG)\n"
        "print(lazyhook.is_lazy(lib), len(logging.root.manager.loggerDict) > 0)\n"
        "logging.disable(logging.NOTSET)\nlogging.config.dictConfig({'version': 1})\n"
        "print(lazyhook.is_lazy(lib), type(logging.root.manager.loggerDict) is dict)\n"
        "def later():\n    return lib\n"
    )
    assert r.lines == ["True True", "False True"], r.out + r.err


@pytest.mark.parametrize(
    "program",
    [
        # a body that waits for a thread calling getLogger(), first run by the configuration
        "import waits\nimport logging.config\nlogging.config.dictConfig({'version': 1})\n"
        "print(waits.DONE)\n",
        # another thread configures logging while a lazy body that gets a logger runs here
        "try:\n    import logging.config, threading, time\nexcept ImportError:\n    raise\n"
        "import P.child\nout = []\ndef configure():\n    time.sleep(0.2)\n"
        "    logging.config.dictConfig({'version': 1, 'disable_existing_loggers': False})\n"
        "    out.append('configured')\n"
        "t = threading.Thread(target=configure)\nt.start()\nout.append(P.child.use())\n"
        "t.join()\nprint(sorted(out))\n",
    ],
)
def test_configuring_logging_never_runs_bodies_under_loggings_lock(
    sandbox: Sandbox, program: str
) -> None:
    # The first design ran the pending bodies from inside the registry's keys(), which the
    # configuring functions call holding logging's lock: both programs hung for ever (the
    # second: the thread, holding it, waited for P's module lock to run P.child; P's body,
    # running here, waited for logging's lock in getLogger()).
    sandbox.write(
        {
            "waits.py": "import logging, threading\n"
            "t = threading.Thread(target=lambda: logging.getLogger('w'))\n"
            "t.start()\nt.join()\nDONE = 'waited'\n",
            "P/__init__.py": "import logging, time\ntime.sleep(0.5)\n"
            "log = logging.getLogger('P')\n",
            "P/child.py": "def use():\n    return 'P.child used'\n",
        }
    )
    code = "import lazyhook\nlazyhook.install()\n" + program
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.returncode == 0
    same_outcome(eager, cold, warm)


def test_a_reference_to_loggings_registry_stays_the_registry(sandbox: Sandbox) -> None:
    # The first design replaced logging.root.manager.loggerDict by a subclass: a library that
    # kept a reference to it saw no logger made afterwards.
    sandbox.write(
        {
            "other.py": RUN + "X = 1\n",
            "keeper.py": "import logging\nREGISTRY = logging.root.manager.loggerDict\n",
        }
    )
    code = (
        "import lazyhook, keeper\nlazyhook.install()\nimport other, logging.config\n"
        "logging.getLogger('app.db')\nprint(sorted(keeper.REGISTRY))\n"
        "def later():\n    return other\n"
    )
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["['app', 'app.db']"]
    same_outcome(eager, cold, warm)


# A package whose __init__ installs an import hook for its own submodules, as beartype's
# beartype_this_package() does (a path hook); the same with a meta path finder.
HOOK_BY_META_PATH = """
import sys, importlib.abc, importlib.machinery
class Loader(importlib.machinery.SourceFileLoader):
    def exec_module(self, module):
        super().exec_module(module)
        module.INSTRUMENTED = True
class Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.startswith(__name__ + "."):
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            if spec is not None:
                spec.loader = Loader(name, spec.origin)
            return spec
sys.meta_path.insert(0, Finder())
"""
HOOK_BY_PATH_HOOK = """
import sys, importlib.machinery as m
class Loader(m.SourceFileLoader):
    def exec_module(self, module):
        super().exec_module(module)
        module.INSTRUMENTED = True
sys.path_hooks.insert(0, m.FileFinder.path_hook((Loader, m.SOURCE_SUFFIXES)))
sys.path_importer_cache.clear()
"""


@pytest.mark.parametrize("hook", [HOOK_BY_META_PATH, HOOK_BY_PATH_HOOK])
@pytest.mark.parametrize(
    "program",
    [
        "import hooked.sub\nprint(hooked.sub.f(), getattr(hooked.sub, 'INSTRUMENTED', 0))\n",
        "import hooked\ndef main():\n    import hooked.sub\n"  # eager, its parent lazy
        "    print(hooked.sub.f(), getattr(hooked.sub, 'INSTRUMENTED', 0))\nmain()\n",
    ],
)
def test_an_import_hook_a_package_installs_for_its_submodules_applies(
    sandbox: Sandbox, hook: str, program: str
) -> None:
    # Eagerly hooked.sub is found after hooked's body installed the hook: instrumented.
    # Lazily its spec was found while hooked had not run, and the plain loader ran it (type
    # checks of beartype_this_package() silently gone).
    sandbox.write({"hooked/__init__.py": hook, "hooked/sub.py": "def f():\n    return 'f'\n"})
    code = "import lazyhook\nlazyhook.install()\n" + program
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["f True"]
    same_outcome(eager, cold, warm)


def test_protobufs_generated_modules_register_their_messages_at_the_import(
    sandbox: Sandbox,
) -> None:
    # A `*_pb2` module's import adds its messages to protobuf's default descriptor pool, which
    # `Any`, json_format and reflection read by name without touching the module: lazily the
    # pool lacked them ("Couldn't find message shop.Gift"), found by a hunt on protobuf 7.
    sandbox.write(
        {
            "pool.py": "MESSAGES = {}\n",
            "shop/__init__.py": "",
            "shop/order_pb2.py": RUN + "import pool\npool.MESSAGES['shop.Order'] = 1\nNAME = 'o'\n",
            "shop/order_pb2_grpc.py": RUN + "from shop import order_pb2\nSTUB = 's'\n",
        }
    )
    code = (
        "import lazyhook\nlazyhook.install()\nfrom shop import order_pb2, order_pb2_grpc\n"
        "import pool\nprint(sorted(pool.MESSAGES))\nprint(order_pb2.NAME, order_pb2_grpc.STUB)\n"
    )
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["['shop.Order']", "o s"]
    same_outcome(eager, cold, warm)


SLOW_HOOK = """
import sys, time, importlib.machinery as m
class Loader(m.SourceFileLoader):
    def exec_module(self, module):
        super().exec_module(module)
        module.INSTRUMENTED = True
class Finder:
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if not name.startswith(PREFIX):
            return None
        time.sleep(0.3)  # a finder that takes a while: a second thread comes meanwhile
        spec = m.PathFinder.find_spec(name, path)
        if spec is not None:
            spec.loader = Loader(name, spec.origin)
        return spec
"""


def test_an_import_hook_the_program_installs_after_the_import_does_not_apply(
    sandbox: Sandbox,
) -> None:
    # Eagerly pkg.sub was loaded before the program's hook existed; the first Refind compared
    # the import machinery at the import with that at the first use, so the program's own
    # later hook instrumented it.  Only a parent's body's changes count.
    sandbox.write(
        {
            "hook.py": "PREFIX = 'pkg.'\n" + SLOW_HOOK.replace("time.sleep(0.3)", "pass"),
            "pkg/__init__.py": "",
            "pkg/sub.py": "def f():\n    return 'f'\n",
        }
    )
    code = (
        "import lazyhook\nlazyhook.install()\nimport pkg.sub\nimport sys, hook\n"
        "sys.meta_path.insert(0, hook.Finder)\n"
        "print(pkg.sub.f(), getattr(pkg.sub, 'INSTRUMENTED', False))\n"
    )
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["f False"]
    same_outcome(eager, cold, warm)


def test_two_threads_first_using_a_hooked_submodule_both_get_it_instrumented(
    sandbox: Sandbox,
) -> None:
    # The loader was asked for again before the module lock was taken: the second thread ran
    # the body with the old loader while the first still asked the (slow) finder.
    sandbox.write(
        {
            "pkg/__init__.py": "PREFIX = 'pkg.'\n"
            + SLOW_HOOK
            + "sys.meta_path.insert(0, Finder)\n",
            "pkg/sub.py": "def f():\n    return 'f'\n",
        }
    )
    code = (
        "import lazyhook\nlazyhook.install()\nimport threading\nimport pkg.sub\nout = {}\n"
        "def use(i):\n    out[i] = (pkg.sub.f(), getattr(pkg.sub, 'INSTRUMENTED', False))\n"
        "ts = [threading.Thread(target=use, args=(i,)) for i in range(2)]\n"
        "for t in ts:\n    t.start()\nfor t in ts:\n    t.join()\n"
        "print(sorted(out.values()), type(pkg.sub.__loader__).__name__)\n"
    )
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["[('f', True), ('f', True)] Loader"]
    same_outcome(eager, cold, warm)


def test_configuring_logging_leaves_its_functions_and_methods_as_they_are(
    sandbox: Sandbox,
) -> None:
    # The second design put descriptors on DictConfigurator and replaced fileConfig's first
    # step by an object answering nothing of the function's: mock's autospec of configure
    # failed ("missing a required argument: 'self'"), the step lost its name and pickling.
    sandbox.write(LOGGING_LIB)
    code = """
import lazyhook
lazyhook.install()
import copy, inspect, pickle, lib
from unittest import mock
import logging.config as lc
with mock.patch.object(lc.DictConfigurator, "configure", autospec=True) as m:
    lc.dictConfig({"version": 1})
print(m.call_count, inspect.isfunction(vars(lc.DictConfigurator)["configure"]))
f = lc._create_formatters
print(f.__name__, f.__qualname__, f.__module__, f.__doc__ == f.__wrapped__.__doc__
      if hasattr(f, "__wrapped__") else True)
print(pickle.loads(pickle.dumps(f)) is f, copy.copy(f) is f, inspect.signature(f))
print(inspect.signature(lc.DictConfigurator), lc.DictConfigurator.__init__.__name__)
print(lib.work())
"""
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines[0] == "1 True"
    same_outcome(eager, cold, warm)


def test_a_configuration_made_inside_an_import_runs_no_body(sandbox: Sandbox) -> None:
    # A settings module configuring logging at its import: running the pending bodies there
    # ran x, whose `from settings import LEVEL` found settings half-initialised; x's failure
    # was set aside and x ran again at its use: "x body" twice.
    sandbox.write(
        {
            "x.py": "print('x body')\nfrom settings import LEVEL\n",
            "settings.py": "import logging.config\nlogging.config.dictConfig({'version': 1})\n"
            "LEVEL = 1\n",
        }
    )
    code = "import lazyhook\nlazyhook.install()\nimport x\nimport settings\nprint(x.LEVEL)\n"
    for r in sandbox.eager_cold_warm(code):
        assert r.returncode == 0 and r.out.count("x body") == 1 and r.lines[-1] == "1", r.out


def test_a_configuration_made_off_the_main_thread_runs_no_body(sandbox: Sandbox) -> None:
    # Eagerly the bodies ran in the main thread: run in a worker, a body setting a signal
    # handler at import failed ("only in main thread"), was set aside, and ran again.
    sandbox.write({"sigmod.py": "import signal\nprint('sigmod body')\n"
                   "signal.signal(signal.SIGUSR1, signal.SIG_IGN)\nX = 1\n"})  # fmt: skip
    code = (
        "import lazyhook\nlazyhook.install()\nimport threading, sigmod, logging.config\n"
        "t = threading.Thread(target=logging.config.dictConfig, args=({'version': 1},))\n"
        "t.start()\nt.join()\nprint(sigmod.X)\n"
    )
    for r in sandbox.eager_cold_warm(code):
        assert r.returncode == 0 and r.out.count("sigmod body") == 1, r.out + r.err


def test_a_path_hook_a_package_installs_applies_without_clearing_the_cache(
    sandbox: Sandbox,
) -> None:
    # The lookup of hooked.sub made while hooked was lazy cached the default FileFinder for
    # its directory: asked again, the path finder answered from that cache, without the hook.
    sandbox.write(
        {
            "hooked/__init__.py": HOOK_BY_PATH_HOOK.replace(
                "sys.path_importer_cache.clear()\n", ""
            ),
            "hooked/sub.py": "def f():\n    return 'f'\n",
            "hooked/other.py": "X = 1\n",
        }
    )
    code = (
        "import lazyhook\nlazyhook.install()\nimport hooked.sub\n"
        "print(hooked.sub.f(), getattr(hooked.sub, 'INSTRUMENTED', 0))\n"
        "import hooked.other\nprint(getattr(hooked.other, 'INSTRUMENTED', 0))\n"
    )
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["f True", "True"], eager.out
    same_outcome(eager, cold, warm)


def test_a_package_whose_first_run_failed_after_installing_its_hook_keeps_it(
    sandbox: Sandbox,
) -> None:
    # Its retry found the hook in place already: no change seen, the submodule ran plain.
    # (Eagerly such a program stops at the import; its eager counterpart retries the
    # package's import in `try` and then imports the submodule.)
    hook = HOOK_BY_META_PATH + "import tries\ntries.n += 1\nif tries.n == 1:\n    raise OSError\n"
    sandbox.write(
        {
            "tries.py": "n = 0\n",
            "hooked/__init__.py": hook,
            "hooked/sub.py": "def f():\n    return 'f'\n",
        }
    )
    use = "print(hooked.sub.f(), getattr(hooked.sub, 'INSTRUMENTED', 0))\n"
    lazy = (
        "import lazyhook\nlazyhook.install()\nimport hooked.sub\n"
        "try:\n    hooked.sub.f()\nexcept OSError:\n    pass\n" + use
    )
    eager = "try:\n    import hooked\nexcept OSError:\n    pass\nimport hooked.sub\n" + use
    assert sandbox.run(eager, env={**sandbox.env(), "LAZYHOOK_DISABLE": "1"}).lines == ["f True"]
    _, cold, warm = sandbox.eager_cold_warm(lazy)
    assert cold.lines == warm.lines == ["f True"], cold.out + cold.err


def test_a_lazy_modules_docstring_is_what_pydoc_and_help_show(sandbox: Sandbox) -> None:
    # pydoc reads a module's docstring with object.__getattribute__, past the lazy module's
    # own __getattribute__: a module not run yet had none, and help(json) showed no
    # DESCRIPTION (logging.config: its copyright comments instead).
    sandbox.write({"documented.py": '"""The docstring."""\n# A comment.\n' + RUN + "X = 1\n"})
    code = (
        "import lazyhook\nlazyhook.install()\nimport pydoc, json, documented\n"
        "print(object.__getattribute__(documented, '__doc__'))\n"
        "print(pydoc.render_doc(json, renderer=pydoc.plaintext).split('PACKAGE CONTENTS')[0])\n"
    )
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines[0] == "The docstring." and "DESCRIPTION" in eager.out
    same_outcome(eager, cold, warm)


def test_a_lazy_modules_docstring_deleted_while_its_body_runs(sandbox: Sandbox) -> None:
    # The data descriptor had no deleter: `del a.__doc__` from a circular import failed.
    sandbox.write(
        {
            "a.py": '"""Doc of a."""\nimport b\nX = 1\n',
            "b.py": "import a\ndel a.__doc__\nprint(a.__doc__.split()[0])\n",
        }
    )
    code = "import lazyhook\nlazyhook.install()\nimport a\nprint(a.X)\n"
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["Create", "1"]
    same_outcome(eager, cold, warm)


def test_a_spec_asked_for_logging_config_has_the_real_loader(sandbox: Sandbox) -> None:
    # importlib.util.find_spec() is no import: the loader that calls back once logging.config
    # ran (see _loggers) is for imports only; the spec handed out here had it.
    sandbox.write({"other.py": RUN + "X = 1\n"})
    code = (
        "import lazyhook\nlazyhook.install()\nimport other, importlib.util, pkgutil\n"
        "print(type(importlib.util.find_spec('logging.config').loader).__name__)\n"
        "print(type(pkgutil.get_loader('logging.config')).__name__)\nprint(other.X)\n"
    )
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines[0] == "SourceFileLoader"
    same_outcome(eager, cold, warm)
