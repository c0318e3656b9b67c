"""Lazy modules behave like eager ones (issue 13): writes, warnings, import_module, errors,
registration, reload, mocks, test collection, fork and signals.

Each case runs in fresh interpreters on packages it writes; where eager behaviour is the
reference, the same script runs eagerly, lazily with an empty cache and lazily again, and the
exit status, stdout and stderr must be identical.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
import sysconfig

import pytest
from conftest import RUN, Sandbox, same_outcome

INSTALL = "import lazyhook\nlazyhook.install()\n"


def test_attribute_writes_and_deletes_are_kept(sandbox: Sandbox) -> None:
    sandbox.write(
        {"cfg.py": RUN + "DEBUG = False\nDROP = 1\ndef describe():\n    return f'DEBUG={DEBUG}'\n"}
    )
    code = (
        INSTALL
        + """
        import logging, cfg
        logging.raiseExceptions = False
        logging.logThreads = False
        cfg.DEBUG = True
        del cfg.DROP
        print(logging.raiseExceptions, logging.logThreads, cfg.describe(), hasattr(cfg, "DROP"))
        """
    )
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["False False DEBUG=True False"]
    same_outcome(eager, cold, warm)


def test_writing_import_system_attributes_does_not_run_the_body(sandbox: Sandbox) -> None:
    # regrtest's setup walks sys.modules making every __file__ and __path__ absolute: running
    # bodies from that walk grew sys.modules under it ("dictionary changed size").  Eagerly the
    # body saw the original values and the writes came after it.
    sandbox.write(
        {
            "walked/__init__.py": RUN + "SEEN = (__file__, list(__path__))\nimport json\n",
            "flat.py": RUN + "SEEN = __file__\nimport csv\n",
        }
    )
    code = (
        INSTALL
        + """
        import os, sys
        import walked, flat
        for module in sys.modules.values():
            mine = module.__name__ in ("walked", "flat")
            if hasattr(module, "__path__") and mine:
                module.__path__ = ["/moved/" + os.path.basename(p) for p in module.__path__]
            if getattr(module, "__file__", None) and mine:
                module.__file__ = "/moved/" + os.path.basename(module.__file__)
        print("walked", walked.__file__, walked.__path__)
        print("seen", os.path.basename(walked.SEEN[0]), walked.SEEN[1] == walked.__path__)
        print("flat", flat.__file__, os.path.basename(flat.SEEN), flat.__file__)
        """
    )
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines[-1] == "flat /moved/flat.py flat.py /moved/flat.py", eager.out + eager.err
    same_outcome(eager, cold, warm)
    # The walk itself ran nothing: the bodies ran at the prints.
    assert cold.runs == ["walked", "flat"], cold.out


def test_the_import_system_binding_a_submodule_does_not_run_the_parent(
    sandbox: Sandbox,
) -> None:
    sandbox.write({"pk/__init__.py": RUN, "pk/sub.py": RUN + "X = 1\n"})
    r = sandbox.run(INSTALL + "import pk.sub\nprint(lazyhook.is_lazy(pk), pk.sub.X)\n")
    assert r.runs == ["pk", "pk.sub"] and r.lines == ["True 1"]


def test_warnings_of_a_deferred_body_are_attributed_as_eagerly(sandbox: Sandbox) -> None:
    sandbox.write(
        {
            "deprec.py": "import warnings\n"
            "warnings.warn('deprec is deprecated', DeprecationWarning, stacklevel=2)\n"
            "warnings.warn('from the body itself', UserWarning)\n"
            "def f():\n    return 1\n",
            "user.py": "import deprec\ndef use():\n    return deprec.f()\n",
        }
    )
    code = (
        INSTALL
        + """
        import warnings
        warnings.filterwarnings("error", module="filtered_here")
        import deprec
        import user
        print(user.use(), deprec.f())
        """
    )
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert "main_" in eager.err and "DeprecationWarning: deprec is deprecated" in eager.err
    same_outcome(eager, cold, warm)


def test_import_module_and_dunder_import_of_a_lazy_module_run_it(sandbox: Sandbox) -> None:
    sandbox.write(
        {
            "registry.py": "HANDLERS = []\n",
            "plug.py": RUN + "import registry\nregistry.HANDLERS.append('plug')\n",
            "plug2.py": RUN + "import registry\nregistry.HANDLERS.append('plug2')\n",
        }
    )
    code = (
        INSTALL
        + """
        import importlib, registry, plug, plug2
        importlib.import_module("plug")
        __import__("plug2")
        print(registry.HANDLERS)
        """
    )
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["['plug', 'plug2']"]
    same_outcome(eager, cold, warm)


def test_an_attribute_error_from_a_body_is_not_a_missing_attribute(sandbox: Sandbox) -> None:
    sandbox.write({"old.py": RUN + "import os\nos.this_was_removed\n__version__ = '1.0'\n"})
    r = sandbox.run(
        INSTALL
        + """
        import old
        try:
            print(getattr(old, "__version__", "unknown"))
        except ImportError as e:
            print("ImportError", e.name, type(e.__cause__).__name__)
        try:
            hasattr(old, "f")
        except ImportError:
            print("again")
        """
    )
    assert r.lines == ["ImportError old AttributeError", "again"]
    assert r.runs == ["old", "old"]  # the body runs again at the next use, as documented


def test_mock_patch_dict_of_sys_modules_around_first_use(sandbox: Sandbox) -> None:
    sandbox.write({"realmod.py": RUN + "def value():\n    return 'real'\n"})
    code = (
        INSTALL
        + """
        import sys
        from unittest import mock
        import realmod
        with mock.patch.dict(sys.modules, {"realmod": mock.MagicMock()}):
            print(realmod.value())
        print(realmod.value(), type(sys.modules["realmod"]).__name__)
        """
    )
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["real", "real module"]
    same_outcome(eager, cold, warm)


def test_a_packages_own_import_of_a_lazy_submodule_registers_it(sandbox: Sandbox) -> None:
    sandbox.write(
        {
            "app/__init__.py": "REG = {}\ndef get(k):\n    return REG[k]\nfrom . import plugins\n",
            "app/plugins.py": RUN + "from app import REG\nREG['csv'] = 'csv-plugin'\n"
            "class X:\n    pass\n",
        }
    )
    code = (
        INSTALL
        + """
        from app.plugins import X
        import app
        print(app.get("csv"))
        """
    )
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["csv-plugin"]
    same_outcome(eager, cold, warm)


@pytest.mark.parametrize("form", ["import kp.sub", "import kp.sub as s", "from kp import sub"])
def test_a_submodule_imported_lazily_first_is_bound_when_its_package_imports_it(
    sandbox: Sandbox, form: str
) -> None:
    # mode="all": __main__ imports kp.sub lazily before kp runs; kp's own (lazy) import of it
    # must bind it on kp as eagerly, where kp's body imported it first and found it bound.
    sandbox.write(
        {
            "kp/__init__.py": RUN + f"import sys\n{form}\n"
            "print('bound:', sys.modules[__name__].sub.X)\n"
            "def f():\n    return (kp, s, sub) if 0 else None\n",
            "kp/sub.py": RUN + "X = 1\n",
        }
    )
    code = (
        'import lazyhook\nlazyhook.install(mode="all")\n'
        + "import kp.sub\nprint('before use')\nprint(kp.sub.X, kp.f())\n"
    )
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["bound: 1", "before use", "1 None"]
    assert cold.lines == ["before use", "bound: 1", "1 None"], cold.err
    assert warm.lines == cold.lines and warm.returncode == cold.returncode == 0, warm.err


def test_reload_of_a_from_imported_submodule_not_yet_run(sandbox: Sandbox) -> None:
    sandbox.write(
        {"app2/__init__.py": "", "app2/plugins.py": RUN + "N = [1]\ndef f():\n    return N\n"}
    )
    code = (
        INSTALL
        + """
        import importlib
        from app2 import plugins
        importlib.reload(plugins)
        print(plugins.f())
        """
    )
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["[1]"]
    same_outcome(eager, cold, warm)


def test_pytest_collection_leaves_heavy_imports_lazy(sandbox: Sandbox) -> None:
    sandbox.write(
        {
            "heavyone/__init__.py": RUN + "def compute():\n    return 1\n",
            "tests_x/test_a.py": "import heavyone\n\n"
            "def test_one():\n    assert heavyone.compute() == 1\n",
            "conftest.py": "import atexit, json, lazyhook\n"
            "atexit.register(lambda: print('DEFERRED', "
            "json.dumps({m['module']: m['resolved'] for m in lazyhook.report()['modules']})))\n",
        }
    )
    env = sandbox.env()
    args = [sys.executable, "-m", "pytest", "--lazyhook"]
    cmd = [*args, "--co", "-q", "-p", "no:cacheprovider", "tests_x"]
    for _ in range(2):  # cold, then warm
        proc = subprocess.run(
            cmd, capture_output=True, text=True, cwd=sandbox.src, env=env, timeout=120
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "RUN heavyone" not in proc.stdout, proc.stdout
        assert '"heavyone": false' in proc.stdout, proc.stdout


FORK_RACE = """
import os, sys, threading, time
import lazyhook
lazyhook.install()
import forkmod
started = threading.Event()
def use():
    started.set()
    forkmod.VALUE  # the first lazy use: loads lazyhook's own code, runs the body
t = threading.Thread(target=use)
t.start()
started.wait()
pid = os.fork()
if pid == 0:
    print("child", forkmod.VALUE, flush=True)
    os._exit(0)
t.join()
_, status = os.waitpid(pid, 0)
print("parent", forkmod.VALUE, os.waitstatus_to_exitcode(status))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX fork")
def test_fork_racing_a_first_use_never_hangs(sandbox: Sandbox) -> None:
    sandbox.write({"forkmod.py": "import time\ntime.sleep(0.01)\nVALUE = 7\n"})
    hung = 0
    for _ in range(50):
        try:
            r = sandbox.run(FORK_RACE, timeout=20, check=False)
        except subprocess.TimeoutExpired:
            hung += 1
            continue
        assert r.returncode == 0, r.out + r.err
        assert sorted(r.lines) == ["child 7", "parent 7 0"], r.out + r.err
    assert hung == 0, f"{hung} of 50 runs hung"


SIGNALS = """
import signal, sys, time
import lazyhook
lazyhook.install()
import sigtarget
from lazyhook import _cache
used = []
busy = []
def handler(signum, frame):
    if not used and not busy:  # a handler interrupted by the next signal: once is enough
        busy.append(1)
        used.append(sigtarget.VALUE)  # a first lazy use inside the handler
signal.signal(signal.SIGALRM, handler)
signal.setitimer(signal.ITIMER_REAL, 0.0005, 0.0005)
cache = lazyhook.name_cache()
deadline = time.monotonic() + 0.5
while time.monotonic() < deadline:
    cache.learn("busy_module_" + str(len(used)), sys, ("x",), None)  # inside the cache's lock
    cache.invalidate("busy_module_0")
signal.setitimer(signal.ITIMER_REAL, 0)
print("used", used)
"""


@pytest.mark.skipif(not hasattr(__import__("signal"), "setitimer"), reason="POSIX timers")
def test_a_signal_handler_using_a_lazy_module_never_deadlocks(sandbox: Sandbox) -> None:
    sandbox.write({"sigtarget.py": "VALUE = 3\n"})
    for _ in range(5):
        r = sandbox.run(SIGNALS, timeout=30)
        assert r.lines == ["used [3]"], r.out + r.err


def _stdlib_modules_that_warn_when_imported() -> list[str]:
    """Standard modules of this Python whose module-level code calls ``warn``/``_deprecated``
    (deprecated modules: their import warns)."""
    lib = sysconfig.get_paths()["stdlib"]
    found = set()
    for root, dirs, files in os.walk(lib):
        dirs[:] = [d for d in dirs if d not in ("test", "tests", "idlelib", "site-packages")]
        for file in files:
            if not file.endswith(".py"):
                continue
            path = os.path.join(root, file)
            try:
                tree = ast.parse(open(path, encoding="utf-8").read())
            except (SyntaxError, UnicodeDecodeError):
                continue
            stack: list[ast.AST] = list(tree.body)
            while stack:
                node = stack.pop()
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    continue
                if isinstance(node, ast.Call):
                    fn = node.func
                    called = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
                    if called in ("warn", "_deprecated", "warn_explicit"):
                        name = os.path.relpath(path, lib)[:-3].replace(os.sep, ".")
                        found.add(name.removesuffix(".__init__"))
                stack.extend(ast.iter_child_nodes(node))
    return sorted(found)


def test_standard_modules_that_warn_when_imported_stay_eager() -> None:
    from lazyhook._config import IGNORE, matches

    warning = _stdlib_modules_that_warn_when_imported()
    assert warning, "the scan found nothing: it is broken"
    assert [m for m in warning if not matches(m, IGNORE)] == []


def test_a_deprecated_module_imported_and_unused_warns_as_eagerly(sandbox: Sandbox) -> None:
    # Deferred and never used, its DeprecationWarning would never come (pytest's summary of a
    # project importing imghdr lost it; under -W error the import no longer failed).
    importable = [
        m for m in _stdlib_modules_that_warn_when_imported() if importlib.util.find_spec(m)
    ]
    target = importable[0]
    sandbox.write({"uses_old.py": f"import {target}\nVALUE = 1\n"})
    code = INSTALL + "import uses_old\nprint(uses_old.VALUE)\n"
    eager, cold, warm = sandbox.eager_cold_warm(
        code, env={"PYTHONWARNINGS": "always::DeprecationWarning"}
    )
    assert "DeprecationWarning" in eager.err, eager.err
    same_outcome(eager, cold, warm)


def test_an_import_nothing_reads_is_made_for_its_side_effects_and_stays_eager(
    sandbox: Sandbox,
) -> None:
    # Deferred, these bodies would never run: the registrations and the output would be lost,
    # not delayed.  An import whose bound names its module never reads runs at the statement.
    sandbox.write(
        {
            "registry.py": "HANDLERS = []\n",
            "plugin_a.py": RUN + "import registry\nregistry.HANDLERS.append('a')\n",
            "app/__init__.py": RUN,
            "app/signals.py": RUN + "import registry\nregistry.HANDLERS.append('signals')\n",
            "banner.py": RUN + "print('banner shown')\n",
            "used.py": RUN + "X = 1\n",
            "named.py": RUN + "Y = 2\n",
            "listed.py": RUN + "Z = 3\n",
        }
    )
    code = (
        INSTALL
        + """
        import sys
        import registry
        import plugin_a
        import app.signals
        import banner as shown
        import used
        import named
        import listed
        __all__ = ["listed"]
        def later():
            return used.X
        print(sys.modules["named"].Y if len(sys.argv) > 5 else "", registry.HANDLERS)
        print([lazyhook.is_lazy(sys.modules[n]) for n in ("used", "named", "listed")])
        """
    )
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["banner shown", " ['a', 'signals']", "[False, False, False]"]
    for run in (cold, warm):
        # Read names (in a function, through sys.modules["..."], in __all__) stay lazy.
        assert run.lines == ["banner shown", " ['a', 'signals']", "[True, True, True]"], run.out
        assert run.runs == ["plugin_a", "app", "app.signals", "banner"], run.out + run.err


def test_an_unread_import_of_an_already_lazy_module_runs_it(sandbox: Sandbox) -> None:
    # Another module imported `plugins` lazily (it reads it later); this statement is made for
    # the side effects alone.  Eagerly they happened by now: the lazy module must run here, as
    # the finder's rule has it for a module not yet imported.
    sandbox.write(
        {
            "plugins.py": RUN + "print('registered')\n",
            "user.py": "import plugins\ndef f():\n    return plugins\n",
        }
    )
    code = INSTALL + "import user\nuser.f\nimport plugins\nprint('end')\n"
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["registered", "end"]
    same_outcome(eager, cold, warm)


def test_a_declared_import_stays_lazy_even_if_unread_an_execd_one_not(sandbox: Sandbox) -> None:
    # PEP 810's declaration is the program's own word.  An exec'd string is read whole, as a
    # file is: nothing reads its import, which runs there (ply's tests load their rule modules
    # with exec("import " + name): deferred, nothing in them ever ran).
    sandbox.write({"quiet.py": RUN, "other.py": RUN})
    code = (
        INSTALL
        + """
        import sys
        __lazy_modules__ = ["quiet"]
        import quiet
        exec("import other")
        print(lazyhook.is_lazy(sys.modules["quiet"]), lazyhook.is_lazy(sys.modules["other"]))
        """
    )
    r = sandbox.run(code)
    assert r.lines == ["True False"] and r.runs == ["other"], r.out + r.err


_EXTENSION = r"""
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "cext", NULL, -1, NULL};

PyMODINIT_FUNC PyInit_cext(void) {
    PyObject *m = PyModule_Create(&def), *reg, *opt;
    if (m == NULL) return NULL;
    reg = PyImport_ImportModule("cext_register");  /* imported for its side effect */
    if (reg == NULL) return NULL;
    Py_DECREF(reg);
    reg = PyImport_ImportModule("vendored_mod");  /* found once vendorpkg has run */
    if (reg == NULL) return NULL;
    Py_DECREF(reg);
    opt = PyImport_ImportModule("optional_backend");  /* a C ``try``: optional */
    if (opt == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_ImportError)) return NULL;
        PyErr_Clear();
        opt = Py_NewRef(Py_None);
    }
    if (PyModule_AddObject(m, "backend", opt) < 0) return NULL;
    return m;
}
"""


def test_imports_an_extension_module_makes_while_it_initialises_are_eager(
    sandbox: Sandbox,
) -> None:
    # An extension module's init (C, Cython, mypyc) importing what it needs has no Python
    # frame: the import was judged as if the Python line importing the extension made it.
    # A module imported for its side effect (a codec registered) was deferred and never ran
    # ("unknown encoding"), and an optional dependency the C code imports in its own ``try``
    # was deferred past it: ``backend`` was a lazy module whose use failed later.
    sandbox.write(
        {
            "cext_register.py": "import codecs, sys\n"
            "print('cext_register runs', file=sys.stderr)\n"
            "codecs.register(lambda n: codecs.lookup('rot13') if n == 'cextcodec' else None)\n",
            "optional_backend.py": "import not_installed_accelerator\n",
            # A package putting its vendored directory on sys.path: still pending (lazy) when
            # the extension's init imports from it, it runs first, as it had eagerly.
            "vendorpkg/__init__.py": "import os, sys\n"
            "sys.path.insert(0, os.path.join(os.path.dirname(__file__), '_vendor'))\n",
            "vendorpkg/_vendor/vendored_mod.py": "V = 42\n",
            "cext.c": _EXTENSION,
        }
    )
    cc = sysconfig.get_config_var("CC") or "cc"
    target = sandbox.src / ("cext" + sysconfig.get_config_var("EXT_SUFFIX"))
    subprocess.run(
        [*cc.split(), "-shared", "-fPIC", "-I", sysconfig.get_paths()["include"]]
        + [str(sandbox.src / "cext.c"), "-o", str(target)],
        check=True,
    )
    code = (
        INSTALL
        + """
        import codecs
        import vendorpkg
        import cext
        print("backend:", cext.backend)
        print(codecs.encode("abc", "cextcodec"))
        later = lambda: vendorpkg.anything
        """
    )
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["backend: None", "nop"], eager.err
    assert eager.err == "cext_register runs\n"
    same_outcome(eager, cold, warm)
