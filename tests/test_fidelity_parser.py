"""The fidelity tier's unittest-output parser (``fidelity_support.unittest_outcomes``).

Plain tests (not marked ``fidelity``): the tier compares eager and lazy runs through this
parser, so a parser that misreads a log either fails the tier for nothing (3.13's
``test_nonmodule_cases`` prints a child's verbose unittest run inside its own) or, worse,
compares fewer tests than ran.  The real format is taken from the running Python.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import clean_env
from fidelity_support import unittest_counted, unittest_outcomes, unittest_ran

CHILD = '''
import unittest


class Child(unittest.TestCase):
    def test_child_ok(self):
        pass

    def test_child_prints(self):
        """A child test with a docstring that prints: its verdict comes on a line of its own."""
        print("child output")

    def test_child_fails(self):
        self.fail("the child's failure is not the outer test's")


unittest.main()
'''

OUTER = '''
import os, subprocess, sys, unittest

CHILD = os.path.join(os.path.dirname(__file__), "child.py")


class Outer(unittest.TestCase):
    @unittest.expectedFailure
    def test_a_xfail(self):
        self.fail("expected")

    @unittest.expectedFailure
    def test_a_xpass(self):
        pass

    def test_b_subtests(self):
        for i in range(2):
            with self.subTest(i=i):
                self.assertEqual(i, 0)

    def test_child_run(self):
        # As test.support.script_helper.run_test_script does in verbose mode: the child's
        # verbose run goes to the same stream, between this test's " ... " and its verdict.
        print()
        print("===== script child.py ======", flush=True)
        proc = subprocess.run([sys.executable, "-u", CHILD, "-v"])
        print(f"===== script child.py completed: exit code {proc.returncode} ======")
        self.assertEqual(proc.returncode, 1)

    def test_doc(self):
        """A docstring: its first line carries the verdict."""

    def test_prints(self):
        print("some output")

    def test_fails(self):
        self.fail("no")

    def test_errors(self):
        raise ValueError("no")

    def test_skipped(self):
        self.skipTest("why")


class SkippedClass(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        raise unittest.SkipTest("class skipped")

    def test_never(self):
        pass
'''


def _verbose_run(tmp_path: Path) -> str:
    files = {
        "fidpkg/__init__.py": "",
        "fidpkg/child.py": CHILD,
        "fidpkg/test_outer.py": OUTER,
        "fidpkg/test_broken.py": "raise ImportError('a test module that does not import')\n",
    }
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    env = clean_env(PYTHONPATH=str(tmp_path))
    # Discovery, as test_importlib's load_tests does: a module that does not import is
    # reported under its dotted name.
    args = ["-u", "-m", "unittest", "discover", "-v", "-s", "fidpkg", "-t", "."]
    proc = subprocess.run(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # one stream, as the fidelity runs' logs
        text=True,
        env=env,
        cwd=str(tmp_path),
        timeout=120,
    )
    assert proc.returncode == 1, proc.stdout
    return proc.stdout


def test_a_real_verbose_run_with_a_child_run_inside(tmp_path: Path) -> None:
    text = _verbose_run(tmp_path)
    assert "(__main__.Child" in text and "child output" in text, text  # the child did print
    outer = "fidpkg.test_outer.Outer."
    expected = {
        "unittest.loader._FailedTest.fidpkg.test_broken": "ERROR",
        outer + "test_a_xfail": "expected failure",
        outer + "test_a_xpass": "unexpected success",
        # 3.10 prints no verdict for a test whose subtests failed (and the next test's line
        # follows on the same line): unknown, which the tier reports as an unparsed verdict.
        outer + "test_b_subtests": "FAIL" if sys.version_info >= (3, 11) else "unknown",
        outer + "test_child_run": "ok",
        outer + "test_doc": "ok",
        outer + "test_errors": "ERROR",
        outer + "test_fails": "FAIL",
        outer + "test_prints": "ok",
        outer + "test_skipped": "skipped",
    }
    if sys.version_info >= (3, 11):  # 3.10 prints a bare "skipped 'class skipped'" for it
        expected["fidpkg.test_outer.SkippedClass.setUpClass"] = "skipped"
    outcomes = unittest_outcomes(text, "fidpkg")
    assert outcomes == expected, text
    assert unittest_ran(text) == unittest_counted(outcomes) == 10, text


# The log of 3.13.0's test_importlib that the parser used to misread: the child's lines were
# taken for the suite's tests, and test_nonmodule_cases for a test without a verdict.
NONMODULE_313 = """\
test_unloadable (test.test_importlib.extension.test_loader.Frozen_SinglePhaseExtensionModuleTests.test_unloadable) ... ok
test_nonmodule_cases (test.test_importlib.extension.test_loader.NonModuleExtensionTests.test_nonmodule_cases) ... 
===== script _test_nonmodule_cases.py ======
test_nonmodule_with_methods (__main__.Frozen_NonModuleExtensionTests.test_nonmodule_with_methods) ... ok
test_null_slots (__main__.Frozen_NonModuleExtensionTests.test_null_slots) ... ok

----------------------------------------------------------------------
Ran 2 tests in 0.001s

OK
===== script _test_nonmodule_cases.py completed: exit code 0 ======
ok
test_equality (test.test_importlib.extension.test_loader.Source_LoaderTests.test_equality) ... FAIL
test.test_importlib.test_windows (unittest.loader.ModuleSkipped.test.test_importlib.test_windows) ... skipped "No module named 'winreg'"

----------------------------------------------------------------------
Ran 4 tests in 0.1s
"""  # noqa: E501, W291 - the runner's " ... " before the child's output ends in a space


def test_child_lines_inside_a_suite_test_are_not_its_tests() -> None:
    loader = "test.test_importlib.extension.test_loader."
    outcomes = unittest_outcomes(NONMODULE_313, "test.test_importlib", legacy=False)
    assert outcomes == {
        loader + "Frozen_SinglePhaseExtensionModuleTests.test_unloadable": "ok",
        loader + "NonModuleExtensionTests.test_nonmodule_cases": "ok",
        loader + "Source_LoaderTests.test_equality": "FAIL",
        "unittest.loader.ModuleSkipped.test.test_importlib.test_windows": "skipped",
    }
    assert unittest_ran(NONMODULE_313) == unittest_counted(outcomes) == 4


def test_a_child_test_waiting_for_its_verdict_takes_the_next_bare_verdict() -> None:
    text = textwrap.dedent(
        """\
        test_a (pkg.mod.C.test_a) ... 
        test_child (__main__.C.test_child) ... 
        child output
        ok
        test_child2 (__main__.C.test_child2)
        A docstring ... 
        FAIL
        ERROR
        test_b (pkg.mod.C.test_b) ... ok
        """  # noqa: W291
    )
    assert unittest_outcomes(text, "pkg", legacy=False) == {
        "pkg.mod.C.test_a": "ERROR",
        "pkg.mod.C.test_b": "ok",
    }


def test_ids_must_be_consistent_with_the_test_name() -> None:
    # 3.11+: "name (module.Class.name)"; a line naming another test is output, not a test.
    text = "test_a (pkg.mod.C.test_b) ... ok\ntest_c (pkg.mod.C.test_c) ... ok\n"
    assert unittest_outcomes(text, "pkg", legacy=False) == {"pkg.mod.C.test_c": "ok"}
    # 3.10: "name (module.Class)", the id is completed with the name.
    legacy = "test_a (pkg.mod.C) ... ok\ntest_b (pkg.mod.C) ... skipped 'why'\n"
    assert unittest_outcomes(legacy, "pkg", legacy=True) == {
        "pkg.mod.C.test_a": "ok",
        "pkg.mod.C.test_b": "skipped",
    }


def test_a_test_without_a_verdict_is_unknown() -> None:
    text = "test_a (pkg.mod.C.test_a) ... printed, no newline\ntest_b (pkg.mod.C.test_b) ... ok\n"
    assert unittest_outcomes(text, "pkg", legacy=False) == {
        "pkg.mod.C.test_a": "unknown",
        "pkg.mod.C.test_b": "ok",
    }
