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
from conftest import Result, Sandbox, same_outcome

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
