"""Lazy ``import x``: what runs when, in fresh interpreters (issue: core finder)."""

from __future__ import annotations

from conftest import RUN, Sandbox

HEAVY = {"heavy.py": RUN + "VALUE = 42\ndef f():\n    return 'f'\n"}
PKG = {
    "pkg/__init__.py": RUN + "READY = True\n",
    # Depends on the parent's __init__ having run: the order invariant makes it hold.
    "pkg/sub.py": RUN + "import pkg\nassert pkg.READY\nX = 2\n",
}

INSTALL = "import lazyhook\nlazyhook.install()\n"


def test_import_defers_body_until_first_attribute(sandbox: Sandbox) -> None:
    sandbox.write(HEAVY)
    r = sandbox.run(
        INSTALL
        + """
        import heavy
        print("imported", lazyhook.is_lazy(heavy))
        print("value", heavy.VALUE)
        print("again", heavy.VALUE, lazyhook.is_lazy(heavy), type(heavy).__name__)
        """
    )
    assert r.out.splitlines() == ["imported True", "RUN heavy", "value 42", "again 42 False module"]


def test_spec_attributes_do_not_execute(sandbox: Sandbox) -> None:
    sandbox.write({**HEAVY, **PKG})
    r = sandbox.run(
        INSTALL
        + """
        import types, heavy, pkg
        for m in (heavy, pkg):
            for a in ("__name__", "__spec__", "__loader__", "__package__", "__file__",
                      "__cached__", "__class__"):
                getattr(m, a)
        print(pkg.__path__ is not None, isinstance(heavy, types.ModuleType), repr(heavy)[:7])
        print(type(heavy.__loader__).__name__, heavy.__spec__.loader is heavy.__loader__)
        print("lazy", lazyhook.is_lazy(heavy), lazyhook.is_lazy(pkg))
        """
    )
    assert r.runs == []
    assert r.lines == ["True True <module", "SourceFileLoader True", "lazy True True"]


def test_other_reads_execute(sandbox: Sandbox) -> None:
    sandbox.write({f"m{i}.py": RUN + "__doc__ = 'doc'\nX = 1\n" for i in range(5)})
    r = sandbox.run(
        INSTALL
        + """
        import m0, m1, m2, m3, m4
        print("dir", "X" in dir(m0))
        print("vars", "X" in vars(m1))
        print("dict", "X" in m2.__dict__)
        print("doc", m3.__doc__)
        print("hasattr", hasattr(m4, "nope"))
        """
    )
    assert r.out.splitlines() == [
        "RUN m0", "dir True", "RUN m1", "vars True", "RUN m2", "dict True",
        "RUN m3", "doc doc", "RUN m4", "hasattr False",
    ]  # fmt: skip


def test_a_write_runs_the_body_first_and_survives(sandbox: Sandbox) -> None:
    # Eagerly the body has run before the program writes to the module: a write is a use.
    sandbox.write(HEAVY)
    r = sandbox.run(
        INSTALL
        + """
        import heavy
        print(lazyhook.is_lazy(heavy))
        heavy.extra = "kept"
        heavy.VALUE = 43
        print(lazyhook.is_lazy(heavy))
        print(heavy.extra, heavy.VALUE)
        """
    )
    assert r.out.splitlines() == ["True", "RUN heavy", "False", "kept 43"]


def test_submodule_import_leaves_parent_lazy_and_order_holds(sandbox: Sandbox) -> None:
    sandbox.write(PKG)
    r = sandbox.run(
        INSTALL
        + """
        import pkg.sub
        print("lazy", lazyhook.is_lazy(pkg), lazyhook.is_lazy(pkg.__dict__["sub"]) if False else "")
        import sys
        print("sub lazy", lazyhook.is_lazy(sys.modules["pkg.sub"]))
        print("X", sys.modules["pkg.sub"].X)
        """
    )
    assert r.runs == ["pkg", "pkg.sub"]  # parent first, as eagerly
    assert "lazy True " in r.out and "sub lazy True" in r.out and "X 2" in r.out


def test_boundary_mode_keeps_a_packages_own_imports_eager(sandbox: Sandbox) -> None:
    sandbox.write(
        {
            "lib/__init__.py": RUN
            + "from lib import a\nimport other\ndef y():\n    return other.Y\n",
            "lib/a.py": RUN + "import lib.b\n",
            "lib/b.py": RUN,
            "other.py": RUN + "Y = 1\n",
        }
    )
    r = sandbox.run(
        INSTALL
        + """
        import lib, sys
        print("lib lazy", lazyhook.is_lazy(lib))
        lib.a
        print("other lazy", lazyhook.is_lazy(sys.modules["other"]))
        """
    )
    # lib's own modules run in their eager order inside lib; "other" crosses a boundary.
    assert r.runs == ["lib", "lib.a", "lib.b"]
    assert "lib lazy True" in r.out and "other lazy True" in r.out


def test_a_from_import_binding_no_lazy_name_imports_its_module_eagerly(sandbox: Sandbox) -> None:
    # Outside __main__ a from-import binds no lazy name: reading the name runs its module at
    # the statement anyway, so the finder imports it eagerly (a lazy module first would only
    # add bookkeeping).  A from-list's submodule is judged alone: it stays lazy.
    plain = "import sys, types\nprint(__name__, type(sys.modules[__name__]) is types.ModuleType)\n"
    sandbox.write(
        {
            "helper.py": plain + "def f():\n    return 1\n",
            "tools/__init__.py": plain,
            "tools/sub.py": RUN + "X = 2\n",
            "lib.py": RUN
            + "import lazyhook\nfrom helper import f\nfrom tools import sub\n"
            + "print('sub lazy', lazyhook.is_lazy(sub))\ndef g():\n    return f() + sub.X\n",
        }
    )
    code = INSTALL + "import lib\nprint('main')\nprint(lib.g())\n"
    r = sandbox.run(code)
    assert r.lines == ["main", "helper True", "tools True", "sub lazy True", "3"], r.out
    assert r.runs == ["lib", "tools.sub"]


def test_mode_all_makes_package_internal_imports_lazy(sandbox: Sandbox) -> None:
    # (a's bound name is read in lib: an import nothing reads stays eager, see _reads)
    sandbox.write(
        {
            "lib/__init__.py": RUN + "from lib import a\nuse = lambda: a\n",
            "lib/a.py": RUN + "Z = 3\n",
        }
    )
    r = sandbox.run(
        """
        import lazyhook, sys
        lazyhook.install(mode="all")
        import lib
        lib.__doc__
        print("a lazy", lazyhook.is_lazy(sys.modules["lib.a"]))
        print(lib.a.Z)
        """
    )
    assert r.runs == ["lib", "lib.a"]
    assert "a lazy True" in r.out and "3" in r.lines


def test_env_mode_all(sandbox: Sandbox) -> None:
    sandbox.write(
        {"lib/__init__.py": RUN + "from lib import a\nuse = lambda: a\n", "lib/a.py": RUN}
    )
    r = sandbox.run(
        INSTALL + "import lib, sys\nlib.__doc__\nprint(lazyhook.is_lazy(sys.modules['lib.a']))\n",
        env=sandbox.env(LAZYHOOK_MODE="all"),
    )
    assert r.lines == ["True"]


def test_filter_replaces_the_mode_decision(sandbox: Sandbox) -> None:
    sandbox.write({"a.py": RUN, "b.py": RUN})
    r = sandbox.run(
        """
        import lazyhook
        seen = []
        def flt(importer, name):
            seen.append((importer, name))
            return name == "a"
        lazyhook.install(filter=flt)
        import a, b
        print(lazyhook.is_lazy(a), lazyhook.is_lazy(b), seen)
        """
    )
    assert r.runs == ["b"]
    assert r.lines == ["True False [('__main__', 'a'), ('__main__', 'b')]"]


def test_include_exclude_patterns(sandbox: Sandbox) -> None:
    sandbox.write({"p/__init__.py": RUN, "p/q.py": RUN, "p/r.py": RUN, "s.py": RUN})
    r = sandbox.run(
        """
        import lazyhook, sys
        lazyhook.install(include=["p"], exclude=["p.r"])
        import p.q, p.r, s
        print([lazyhook.is_lazy(m) for m in (sys.modules["p"], p.q, p.r, s)])
        for bad in ("a-b", "p.*", "", 3):
            try:
                lazyhook.install(include=[bad])
            except ValueError as e:
                print("ValueError", bad)
        """
    )
    # p.r is excluded (exclude wins); importing it runs its parent p first, eagerly.
    assert r.lines[0] == "[False, True, False, False]"
    assert r.runs == ["p", "p.r", "s"]
    assert r.lines[1:] == ["ValueError a-b", "ValueError p.*", "ValueError ", "ValueError 3"]


def test_env_include_exclude_and_disable(sandbox: Sandbox) -> None:
    sandbox.write({"a.py": RUN, "b.py": RUN, "c.py": RUN})
    code = INSTALL + "import a, b, c\nprint([lazyhook.is_lazy(m) for m in (a, b, c)])\n"
    r = sandbox.run(code, env=sandbox.env(LAZYHOOK_INCLUDE="a,b", LAZYHOOK_EXCLUDE="b"))
    assert r.lines == ["[True, False, False]"]
    # LAZYHOOK_EXCLUDE is added even when exclude= is given.
    code2 = "import lazyhook\nlazyhook.install(exclude=['c'])\nimport a, b, c\n"
    code2 += "print([lazyhook.is_lazy(m) for m in (a, b, c)])\n"
    r = sandbox.run(code2, env=sandbox.env(LAZYHOOK_EXCLUDE="a"))
    assert r.lines == ["[False, True, False]"]
    r = sandbox.run(
        code + "print(lazyhook.is_installed())\n", env=sandbox.env(LAZYHOOK_DISABLE="1")
    )
    assert r.lines == ["[False, False, False]", "False"]
    assert r.runs == ["a", "b", "c"]


def test_invalid_env_values_warn_once_and_use_defaults(sandbox: Sandbox) -> None:
    sandbox.write({"a.py": RUN})
    env = sandbox.env(LAZYHOOK_MODE="sideways", LAZYHOOK_INCLUDE="a-b", LAZYHOOK_NAMES="???")
    r = sandbox.run(INSTALL + "import a\nprint(lazyhook.is_lazy(a))\n", env=env)
    assert r.lines == ["True"]
    assert r.err.count("LazyhookWarning") == 3, r.err


def test_eager_context_manager_is_thread_local(sandbox: Sandbox) -> None:
    sandbox.write({"a.py": RUN, "b.py": RUN, "c.py": RUN})
    r = sandbox.run(
        INSTALL
        + """
        import threading
        out = {}
        with lazyhook.eager():
            # exec: a statement of its own, not inside this with block (itself always eager)
            # (each read in a function: an import nothing reads is eager in exec'd code too)
            exec("import a\\ndef f():\\n    a.x", globals())
            t = threading.Thread(target=lambda: exec("import c\\ndef f():\\n    c.x", out))
            t.start(); t.join()
        import b
        print(lazyhook.is_lazy(a), lazyhook.is_lazy(b), lazyhook.is_lazy(out["c"]))
        """
    )
    assert r.lines == ["False True True"]


def test_uninstall_keeps_existing_lazy_modules_working(sandbox: Sandbox) -> None:
    sandbox.write({**HEAVY, "later.py": RUN})
    r = sandbox.run(
        INSTALL
        + """
        lazyhook.install()  # idempotent: one finder
        import sys
        print(sum(type(f).__name__ == "LazyFinder" for f in sys.meta_path))
        import heavy
        lazyhook.uninstall()
        print(lazyhook.is_installed())
        import later
        print(lazyhook.is_lazy(heavy), lazyhook.is_lazy(later), heavy.VALUE)
        """
    )
    assert r.lines == ["1", "False", "True False 42"]
    assert r.runs == ["later", "heavy"]


def test_existing_builtin_extension_and_namespace_modules_untouched(sandbox: Sandbox) -> None:
    sandbox.write({"nspkg/mod.py": RUN + "V = 5\n"})
    r = sandbox.run(
        INSTALL
        + """
        import os, math, _decimal, nspkg, nspkg.mod
        print([lazyhook.is_lazy(m) for m in (os, math, _decimal, nspkg)])
        print(lazyhook.is_lazy(nspkg.mod), nspkg.mod.V)
        """
    )
    assert r.lines == ["[False, False, False, False]", "True 5"]


def test_missing_module_raises_at_import_statement(sandbox: Sandbox) -> None:
    r = sandbox.run(
        INSTALL
        + """
        try:
            import does_not_exist_anywhere
        except ModuleNotFoundError as e:
            print("MNF", e.name)
        """
    )
    assert r.lines == ["MNF does_not_exist_anywhere"]


def test_failure_at_first_use_propagates_with_site_and_retries(sandbox: Sandbox) -> None:
    sandbox.write(
        {
            "flaky.py": RUN
            + """
            import os
            X = 1
            if not os.environ.get("FLAKY_OK"):
                raise ValueError("boom")
            Y = 2
            """
        }
    )
    r = sandbox.run(
        INSTALL
        + """
        import os, sys
        import flaky
        first = flaky
        try:
            flaky.Y
        except ValueError as e:
            print("ValueError", e)
            notes = getattr(e, "__notes__", None) or [str(e.__cause__)]  # 3.10: a cause
            print("note", any("main_" in n and "flaky" in n for n in notes))
        print("same", sys.modules["flaky"] is first, lazyhook.is_lazy(flaky))
        print("reset", "X" in object.__getattribute__(flaky, "__dict__"))
        os.environ["FLAKY_OK"] = "1"
        import flaky as again
        print(again is first, flaky.Y, lazyhook.is_lazy(flaky))
        """
    )
    assert r.runs == ["flaky", "flaky"]
    assert r.lines == [
        "ValueError boom", "note True", "same True True", "reset False", "True 2 False"
    ]  # fmt: skip


def test_keyboard_interrupt_during_execution_leaves_clean_state(sandbox: Sandbox) -> None:
    sandbox.write(
        {
            "ki.py": RUN
            + """
            import builtins
            if not getattr(builtins, "_ki_done", False):
                builtins._ki_done = True
                raise KeyboardInterrupt
            OK = True
            """
        }
    )
    r = sandbox.run(
        INSTALL
        + """
        import ki
        try:
            ki.OK
        except KeyboardInterrupt:
            print("interrupted", lazyhook.is_lazy(ki))
        print(ki.OK)
        """
    )
    assert r.lines == ["interrupted True", "True"]


def test_circular_imports_that_work_eagerly_keep_working(sandbox: Sandbox) -> None:
    sandbox.write(
        {
            "ca.py": RUN + "import cb\nA = 1\ndef use():\n    return cb.B\n",
            "cb.py": RUN + "import ca\nB = 2\ndef use():\n    return ca.A\n",
            "cp/__init__.py": RUN + "from cp import x\nP = x.X + 1\n",
            "cp/x.py": RUN + "import cp\nX = 10\ndef late():\n    return cp.P\n",
        }
    )
    r = sandbox.run(INSTALL + "import ca, cp\nprint(ca.use(), ca.cb.use(), cp.P, cp.x.late())\n")
    assert r.lines == ["2 1 11 11"]


def test_reload_of_never_executed_module_runs_once(sandbox: Sandbox) -> None:
    sandbox.write(HEAVY)
    r = sandbox.run(
        INSTALL
        + """
        import importlib, heavy
        m = importlib.reload(heavy)
        print(m is heavy, heavy.VALUE, lazyhook.is_lazy(heavy))
        importlib.reload(heavy)
        """
    )
    assert r.runs == ["heavy", "heavy"]  # once by the first reload, once by the second
    assert r.lines == ["True 42 False"]


def test_module_replacing_its_sys_modules_entry_is_honoured(sandbox: Sandbox) -> None:
    sandbox.write(
        {
            "swap.py": RUN
            + """
            import sys
            class Replacement:
                VALUE = "replaced"
            sys.modules[__name__] = Replacement()
            """
        }
    )
    r = sandbox.run(
        INSTALL
        + """
        import swap
        print(swap.VALUE)
        import swap as again
        print(type(again).__name__, lazyhook.resolve(swap) is again)
        """
    )
    assert r.lines == ["replaced", "Replacement True"]


def test_module_assigning_its_own_class_keeps_it(sandbox: Sandbox) -> None:
    sandbox.write(
        {
            "own.py": RUN
            + """
            import sys, types
            class Mod(types.ModuleType):
                @property
                def computed(self):
                    return 99
            sys.modules[__name__].__class__ = Mod
            """
        }
    )
    r = sandbox.run(INSTALL + "import own\nprint(own.computed, type(own).__name__)\n")
    assert r.lines == ["99 Mod"]


def test_threads_execute_body_once(sandbox: Sandbox) -> None:
    # Each round a fresh module whose body sleeps midway; 8 threads released by a barrier.
    files = {
        f"slow{i}.py": RUN + "import time\nFIRST = 1\ntime.sleep(0.02)\nLAST = 2\n"
        for i in range(15)
    }
    sandbox.write(files)
    r = sandbox.run(
        INSTALL
        + """
        import importlib, threading
        errors = []
        for i in range(15):
            ns = {}
            exec(f"import slow{i} as mod\\ndef f():\\n    mod.x", ns)  # a statement: lazy
            mod = ns["mod"]
            assert lazyhook.is_lazy(mod)
            barrier = threading.Barrier(8)
            def worker():
                barrier.wait()
                try:
                    assert mod.FIRST + mod.LAST == 3
                except Exception as e:
                    errors.append(repr(e))
            ts = [threading.Thread(target=worker) for _ in range(8)]
            for t in ts: t.start()
            for t in ts: t.join()
        print("errors", errors)
        """
    )
    assert r.lines == ["errors []"]
    assert r.runs == [f"slow{i}" for i in range(15)]


def test_fork_while_another_thread_executes(sandbox: Sandbox) -> None:
    sandbox.write({"slowfork.py": RUN + "import time\ntime.sleep(0.5)\nDONE = True\n"})
    r = sandbox.run(
        INSTALL
        + """
        import os, sys, threading, time
        import slowfork
        t = threading.Thread(target=lambda: slowfork.DONE)
        t.start()
        time.sleep(0.15)  # the thread is inside the body now
        pid = os.fork()
        if pid == 0:
            # The child has no such thread: it must run the body itself, not deadlock.
            ok = slowfork.DONE
            os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
        t.join()
        print("child", os.waitstatus_to_exitcode(status), slowfork.DONE)
        """,
        timeout=30,
    )
    assert r.lines == ["child 0 True"]


def test_runpy_and_import_module_and_find_spec(sandbox: Sandbox) -> None:
    sandbox.write(
        {
            "app/__init__.py": RUN + "NAME = 'app'\n",
            "app/__main__.py": RUN + "import app\nprint('main sees', app.NAME)\n",
            "dep.py": RUN,
        }
    )
    r = sandbox.run(
        INSTALL
        + """
        import importlib, importlib.util, runpy, sys
        spec = importlib.util.find_spec("dep")
        print("plain loader", type(spec.loader).__name__)
        d = importlib.import_module("dep")  # a call, not a statement: eager (PEP 810)
        print("import_module lazy", lazyhook.is_lazy(d))
        runpy.run_module("app", run_name="__main__")
        """
    )
    assert r.lines[:2] == ["plain loader SourceFileLoader", "import_module lazy False"]
    assert r.runs == ["dep", "app", "__main__"]  # app/__main__.py runs as __main__
    assert "main sees app" in r.lines


def test_source_and_loader_are_the_real_ones_after_execution(sandbox: Sandbox) -> None:
    sandbox.write(HEAVY)
    r = sandbox.run(
        INSTALL
        + """
        import inspect, heavy
        print(inspect.getsource(heavy.f).strip().splitlines()[0])
        print(type(heavy.__spec__.loader).__name__)
        """
    )
    assert r.lines == ["def f():", "SourceFileLoader"]


def test_coexists_with_pytest_assertion_rewriting(sandbox: Sandbox) -> None:
    sandbox.write(
        {
            **HEAVY,
            "test_it.py": "import heavy\n\ndef test_ok():\n    assert heavy.VALUE == 42\n\n"
            "def test_rewritten():\n    x = [1, 2]\n    assert x == [1, 3]\n",
        }
    )
    r = sandbox.run(
        INSTALL
        + """
        import sys, pytest
        code = pytest.main(["-q", "-p", "no:cacheprovider", "src/test_it.py"])
        print("exit", int(code))
        """,
        check=False,
    )
    r2_cwd = r.out
    assert "exit 1" in r2_cwd
    assert "1 failed, 1 passed" in r2_cwd
    assert "At index 1 diff: 2 != 3" in r2_cwd  # the rewriter's message: its loader was kept


def test_import_submodule_as_name_leaves_parent_lazy(sandbox: Sandbox) -> None:
    sandbox.write(PKG)
    r = sandbox.run(
        INSTALL
        + """
        import pkg.sub as s
        import sys
        print("lazy", lazyhook.is_lazy(sys.modules["pkg"]), lazyhook.is_lazy(s))
        print(s.X)
        """
    )
    # Compiled as IMPORT_FROM on the parent: still no body runs until s is used.
    assert r.lines == ["lazy True True", "2"]
    assert r.runs == ["pkg", "pkg.sub"]


def test_unsupported_import_system_declines_with_one_warning(sandbox: Sandbox) -> None:
    sandbox.write(HEAVY)
    r = sandbox.run(
        """
        import _frozen_importlib
        del _frozen_importlib._DeadlockError  # as on an interpreter we do not know
        import lazyhook
        lazyhook.install()
        import heavy
        print(lazyhook.is_installed(), lazyhook.is_lazy(heavy))
        """
    )
    assert r.lines == ["False False"] and r.runs == ["heavy"]
    assert r.err.count("LazyhookWarning") == 1


def test_pep810_lines_imports_in_try_with_functions_and_calls_stay_eager(sandbox: Sandbox) -> None:
    sandbox.write({f"m{i}.py": RUN for i in range(6)})
    r = sandbox.run(
        INSTALL
        + """
        import sys, contextlib, importlib
        try:
            import m0
        except ImportError:
            pass
        with contextlib.suppress(ImportError):
            import m1
        def f():
            import m2
        f()
        importlib.import_module("m3")
        __import__("m4")
        import m5
        print([lazyhook.is_lazy(sys.modules[n]) for n in ("m0", "m1", "m2", "m3", "m4", "m5")])
        """
    )
    assert r.lines == ["[False, False, False, False, False, True]"]
    assert r.runs == ["m0", "m1", "m2", "m3", "m4"]


def test_import_error_raised_by_a_body_reaches_its_handler(sandbox: Sandbox) -> None:
    sandbox.write({"broken.py": RUN + "import not_installed_anywhere\n"})
    r = sandbox.run(
        INSTALL
        + """
        try:
            import broken
            HAVE = True
        except ImportError:
            HAVE = False
        print("HAVE", HAVE)
        """
    )
    assert r.lines == ["HAVE False"]


def test_iterating_sys_modules_reading_attributes_after_a_body_ran(sandbox: Sandbox) -> None:
    # The review: moving a module's sys.modules entry to the end once its body ran (as
    # importlib does) broke a version-report loop over sys.modules.items() whose getattr
    # runs a lazy body: "dictionary keys changed during iteration".
    sandbox.write({"m.py": "X = 1\n", "n.py": "Y = 2\n"})
    code = """
        import lazyhook
        lazyhook.install()
        import sys
        import m
        import n
        print(n.Y)
        for name, mod in sys.modules.items():
            getattr(mod, "__version__", None)
        print("iterated", m.X)
        """
    assert sandbox.run(code).lines == ["2", "iterated 1"]
