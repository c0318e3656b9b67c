"""Regressions from the round-2 hunt on the context a deferred body runs in (``_context``).

Eagerly a body runs at its import statement; deferred, at its first use, after the program
may have changed what the body reads.  Each test runs one script eagerly, with a cold cache
and warm (``Sandbox.eager_cold_warm``) on tiny packages it writes, and asserts the eager
outcome in all three.  Each failed on the code before its fix.
"""

from __future__ import annotations

import pytest
from conftest import Sandbox, same_outcome

OLDLIB = (
    "import warnings\n"
    "warnings.warn('oldlib is deprecated', DeprecationWarning, stacklevel=2)\n"
    "def f():\n"
    "    return 42\n"
)


def test_warning_filters_set_after_the_import_do_not_judge_its_body(sandbox: Sandbox) -> None:
    # A notebook's first line, warnings.filterwarnings("ignore"), lost the import's warning;
    # simplefilter("error") after the imports made it an error (exit status 1); a
    # catch_warnings(record=True) around the first use recorded it as the call's.
    sandbox.write({"oldlib.py": OLDLIB})
    for change, after in (
        ('warnings.filterwarnings("ignore")', "print(oldlib.f())"),
        ('warnings.simplefilter("error")', "print(oldlib.f())"),
        (
            "",
            "with warnings.catch_warnings(record=True) as log:\n"
            '    warnings.simplefilter("always")\n'
            "    print(oldlib.f(), [str(w.message) for w in log])",
        ),
    ):
        head = "import lazyhook\nlazyhook.install()\nimport warnings\nimport oldlib\n"
        code = f"{head}{change}\n{after}\n"
        eager, cold, warm = sandbox.eager_cold_warm(code)
        assert eager.returncode == 0 and eager.lines[0].startswith("42"), eager.err
        assert "DeprecationWarning: oldlib is deprecated" in eager.err
        same_outcome(eager, cold, warm)


def test_a_filter_the_body_adds_stays_behind_the_programs_later_ones(sandbox: Sandbox) -> None:
    # Eagerly the body's filter was added at the import, so the program's later
    # simplefilter("error") comes first; a deferred body put its filter in front of it.
    sandbox.write(
        {"quiet.py": "import warnings\nwarnings.filterwarnings('ignore', 'noisy')\nX = 1\n"}
    )
    code = """
        import lazyhook
        lazyhook.install()
        import warnings
        import quiet
        warnings.simplefilter("error")
        print(quiet.X)
        try:
            warnings.warn("noisy thing")
            print("ignored")
        except UserWarning:
            print("error")
        print(len(warnings.filters) > 1)
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["1", "error", "True"]
    same_outcome(eager, cold, warm)


def test_streams_redirected_around_the_first_use_are_not_the_bodys(sandbox: Sandbox) -> None:
    # A logging.StreamHandler() made at import binds sys.stderr as it is then: deferred into
    # a redirect_stderr block, it kept the StringIO and every later log line vanished; a
    # body's print inside redirect_stdout was captured.
    sandbox.write(
        {
            "mylib.py": "import logging, sys\nprint('mylib loaded')\n"
            "log = logging.getLogger('mylib')\nlog.addHandler(logging.StreamHandler())\n"
            "log.setLevel(logging.INFO)\n"
            "def work(n):\n    log.info('working on %d', n)\n    return n * 2\n"
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        import contextlib, io
        import mylib
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            mylib.work(1)
        print("second", mylib.work(2))
        print("captured", repr(out.getvalue()), repr(err.getvalue()))
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["mylib loaded", "second 4", "captured '' ''"]
    assert eager.err == "working on 1\nworking on 2\n"
    same_outcome(eager, cold, warm)


def test_a_program_patching_times_clocks_does_not_feed_lazyhook(sandbox: Sandbox) -> None:
    # lazyhook timed each body with time.perf_counter: a test's mock.patch with side_effect
    # [start, end] ran out (StopIteration from lazyhook) or measured the body too.
    sandbox.write({"helper.py": "def dumps(x):\n    return repr(x)\n"})
    code = """
        import lazyhook
        lazyhook.install()
        import time
        from unittest import mock
        import helper

        def timed(f):
            t0 = time.perf_counter()
            r = f()
            return r, time.perf_counter() - t0

        with mock.patch("time.perf_counter", side_effect=[1.0, 3.5]):
            print(timed(lambda: helper.dumps({"a": 1})))
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["(\"{'a': 1}\", 2.5)"]
    same_outcome(eager, cold, warm)


def test_a_body_that_imports_warn_leaves_later_bodies_attributed(sandbox: Sandbox) -> None:
    # A body's `from warnings import warn` made lazyhook give the real warn back to every
    # module holding its wrapper, its own module included: from then on no body's import
    # warning was attributed to its import line (pytest's summary showed lazyhook's own file).
    sandbox.write(
        {
            "mod_a.py": "from warnings import warn\ndef f():\n    return 1\n",
            "mod_b.py": "import warnings\n"
            "warnings.warn('mod_b is deprecated', DeprecationWarning, stacklevel=2)\nX = 2\n",
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        import mod_a, mod_b
        print(mod_a.f())
        print(mod_b.X)
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["1", "2"] and ":4: DeprecationWarning: mod_b" in eager.err
    same_outcome(eager, cold, warm)


def test_bodies_run_at_once_in_two_threads_leave_the_programs_filters(sandbox: Sandbox) -> None:
    # Each body put its import's filters in place and gave back what it found: two bodies
    # overlapping in two threads (imported under different filters) gave back each other's,
    # and the program's own last filter was lost for the rest of the process.
    sandbox.write(
        {
            "slow_a.py": "import time\ntime.sleep(0.6)\nA = 1\n",
            "slow_b.py": "import time\ntime.sleep(0.3)\nB = 2\n",
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        import threading, time, warnings
        import slow_a
        warnings.filterwarnings("ignore", "yyy")
        import slow_b
        warnings.filterwarnings("ignore", "zzz")
        t1 = threading.Thread(target=lambda: slow_b.B)
        t1.start()
        time.sleep(0.1)
        t2 = threading.Thread(target=lambda: slow_a.A)
        t2.start()
        t1.join(); t2.join()
        print([f[1].pattern for f in warnings.filters if f[1] is not None][:2])
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["['zzz', 'yyy']"]
    same_outcome(eager, cold, warm)


def test_what_a_body_does_to_the_filters_outlives_the_programs_blocks(sandbox: Sandbox) -> None:
    # A filter a body added was lost when its first use was inside catch_warnings() (added
    # to the block's copy, thrown away at its end); a body's resetwarnings() left the
    # defaults the program had when it ran in place (a DeprecationWarning eagerly shown was
    # hidden); a worker thread's redirect_stdout, ending while a body ran in the main
    # thread, was put back for good (the program's output vanished).
    sandbox.write(
        {
            "lib.py": "import warnings\n"
            "class LibWarning(UserWarning):\n    pass\n"
            "warnings.simplefilter('ignore', LibWarning)\n"
            "def f():\n    warnings.warn('lib noise', LibWarning)\n",
            "resetter.py": "import warnings\nwarnings.resetwarnings()\nX = 1\n",
            "other.py": "import warnings\n"
            "def old():\n    warnings.warn('deprecated api', DeprecationWarning)\n",
            "slow.py": "import time\ntime.sleep(0.4)\nY = 2\n",
        }
    )
    head = "import lazyhook\nlazyhook.install()\nimport contextlib, io, threading, time, warnings\n"
    scripts = {
        "block": "import lib\nwith warnings.catch_warnings():\n    lib.f()\nlib.f()\nprint('ok')\n",
        "reset": "import resetter, other\nwarnings.filterwarnings('ignore', 'zzz')\n"
        "print(resetter.X)\nother.old()\n",
        "thread": "import slow\nbuf = io.StringIO()\n"
        "def worker():\n    with contextlib.redirect_stdout(buf):\n        time.sleep(0.1)\n"
        "        print('worker')\n"
        "t = threading.Thread(target=worker)\nt.start()\ntime.sleep(0.05)\nslow.Y\nt.join()\n"
        "print('main after', repr(buf.getvalue()))\n",
    }
    expected = {
        "block": (["ok"], "lib noise", False),
        "reset": (["1"], "deprecated api", True),
        "thread": (["main after 'worker\\n'"], "", True),
    }
    for key, body in scripts.items():
        eager, cold, warm = sandbox.eager_cold_warm(head + body)
        lines, text, shown = expected[key]
        assert eager.lines == lines and (text in eager.err) is shown, (key, eager.out, eager.err)
        same_outcome(eager, cold, warm)


def test_a_notebook_filter_or_a_rewrapped_stdout_after_the_imports(sandbox: Sandbox) -> None:
    # filterwarnings("ignore", category=DeprecationWarning) removes the equal default filter
    # before inserting it: the import's filters were no longer one run in the program's list,
    # and the filter the body added was dropped.  sys.stdout rewrapped after the imports
    # (TextIOWrapper(sys.stdout.detach())) made the captured stream's `closed` raise
    # ValueError out of the first use, leaving lazyhook's state half swapped.
    sandbox.write(
        {
            "libw.py": "import warnings\nwarnings.filterwarnings('ignore', message='noisy')\n"
            "def f():\n    return 1\n",
            "libp.py": "import sys\nOUT = sys.stdout\ndef g():\n    return 2\n",
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        import io, sys, warnings
        import libw, libp
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        print(libw.f())
        warnings.warn("noisy thing", UserWarning)
        sys.stdout.flush()
        sys.stdout = io.TextIOWrapper(sys.stdout.detach(), line_buffering=True)
        print(libp.g())
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["1", "2"] and "noisy" not in eager.err, eager.err
    same_outcome(eager, cold, warm)


def test_a_warning_shown_before_a_body_runs_is_not_shown_again(sandbox: Sandbox) -> None:
    # Hunt S: the program changed the filters after the import; putting the import's back
    # for the body called warnings._filters_mutated(), which empties every module's
    # __warningregistry__: the program's warning, shown once eagerly, came again.
    sandbox.write({"plainmod.py": "X = 1\n"})
    code = """
        import lazyhook
        lazyhook.install()
        import warnings
        import plainmod
        warnings.filterwarnings("ignore", category=FutureWarning)

        def check():
            warnings.warn("x is negative")

        for i in range(3):
            check()
            if i == 0:
                print(plainmod.X)
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.err.count("UserWarning: x is negative") == 1, eager.err
    same_outcome(eager, cold, warm)


def test_a_filter_a_body_adds_goes_with_the_programs_resetwarnings(sandbox: Sandbox) -> None:
    # Hunt S (numpy's RankWarning, sympy's SymPyDeprecationWarning): eagerly the body's
    # simplefilter("always", ...) was added at the import and removed by the program's
    # resetwarnings(); deferred, it was added after the reset and stayed.
    sandbox.write(
        {
            "noisy.py": "import warnings\n"
            "class RankWarning(UserWarning):\n    pass\n"
            'warnings.simplefilter("always", RankWarning)\n'
            'def fit():\n    warnings.warn("rank", RankWarning)\n'
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        import warnings
        import noisy
        warnings.resetwarnings()
        for i in range(3):
            noisy.fit()
        print(len(warnings.filters))
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["0"] and eager.err.count("RankWarning: rank") == 1, eager.err
    same_outcome(eager, cold, warm)


OLD_API = {
    "b.py": 'import warnings\ndef f():\n    warnings.warn("old api", UserWarning)\n',
    "m.py": "import b\nb.f()\nX = 1\n",
}


@pytest.mark.parametrize(
    "code",
    [
        # The body's registry entry (made under the import's filters) hid the program's later
        # warning under "always": eagerly the program's simplefilter came after and voided it.
        'import warnings\nimport b\nimport m\nwarnings.simplefilter("always")\nprint(m.X)\n'
        'b.f()\nprint("end")\n',
        # The program's entry hid the body's warning, which eagerly came under "always".
        'import warnings\nwarnings.simplefilter("always")\nimport b\nimport m\n'
        'warnings.resetwarnings()\nwarnings.simplefilter("default")\nb.f()\nprint(m.X)\n',
    ],
)
def test_warning_registries_are_the_bodys_own_while_it_runs(sandbox: Sandbox, code: str) -> None:
    sandbox.write(OLD_API)
    eager, cold, warm = sandbox.eager_cold_warm("import lazyhook\nlazyhook.install()\n" + code)
    assert eager.err.count("UserWarning: old api") == 2, eager.err
    same_outcome(eager, cold, warm)
