"""Fidelity tier (issue 8): real packages' own test suites, eager vs lazy, test by test.

For each target, its own test suite runs in fresh interpreters of one private venv (lazyhook
pip-installed from the repo root, non-editable): eagerly (no lazyhook ``.pth`` at all), then
with ``python -m lazyhook enable`` (default settings) and a per-target shared cache directory,
cold and then warm.  Per-test outcomes must match; every lazy run must show from lazyhook's own
report (dumped at exit by every interpreter) that modules were deferred, so a run in which
lazyhook silently did nothing fails.

Targets and why:

* ``networkx`` — big, pure Python, ships its tests; star-imports its whole API in
  ``networkx/__init__.py`` and ``networkx/algorithms/__init__.py``; has its own
  ``importlib.util.LazyLoader``-based helper (``networkx.lazy_imports``, tested in
  ``networkx.tests``): checks coexistence.  Also run with ``LAZYHOOK_MODE=all`` and
  ``LAZYHOOK_NAMES=all`` (informative: they must run and report; outcomes are not asserted).
* CPython's ``test_importlib`` — the import system's own tests, run by ``python -m test``.
* ``toolz`` — widely used (dask), pure Python, ships its tests in the wheel; its
  ``__init__`` is four ``from .x import *`` lines (and ``toolz.curried`` more), it has a PEP 562
  ``__getattr__``, and its sibling ``tlz`` is a meta path finder of its own.  Run a fourth time
  with ``LAZYHOOK_NAMES=toolz``: lazy names must be bound.
* ``mpmath`` — widely used (sympy's dependency), pure Python, ships its tests in the wheel.

CI runs the default selection (``python3 -m pytest -m fidelity``, a few minutes); the full
tier is ``LAZYHOOK_FIDELITY=full python3 -m pytest -m fidelity`` (every target's whole suite).
``LAZYHOOK_FIDELITY_DIR=/some/dir`` keeps the venv, every run's output and lazyhook reports.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fidelity_support import (
    FULL,
    FidelityVenv,
    Run,
    differences,
    format_differences,
    junit_outcomes,
    unittest_counted,
    unittest_outcomes,
    unittest_ran,
)

pytestmark = pytest.mark.fidelity

PYTEST = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml={junit}", "--pyargs"]
REGRTEST = ["-m", "test", "-v"]

# --- the explicit selection -------------------------------------------------------------------
# Default (CI): a representative subset, ~25 s of networkx tests (graph classes; the package's
# own tests, lazy_imports included; utils; readwrite; shortest paths; generators), every toolz
# test, all of test_importlib, and the quick two thirds of mpmath's test modules (the four slow
# ones — functions2, calculus, elliptic, quad — are 34 of its 41 s).
NETWORKX_SUBSET = [
    "networkx.classes",
    "networkx.tests",
    "networkx.utils",
    "networkx.readwrite",
    "networkx.algorithms.shortest_paths",
    "networkx.generators",
]
MPMATH_QUICK = (
    "basic_ops bitwise compatibility convert diff division eigen eigen_symmetric fp functions "
    "gammazeta hp identify interval levin linalg matrices mpmath ode pickle power rootfinding "
    "special str summation trig visualization"
).split()
MPMATH_SUBSET = [f"mpmath.tests.test_{m}" for m in MPMATH_QUICK]


@dataclass(frozen=True)
class Target:
    name: str
    argv: list[str]  # python argv, after the interpreter
    kind: str  # "pytest" (junit xml) or "unittest" (-v lines)
    package: str = ""  # unittest: the package whose tests count (a child's lines do not)
    # Tests expected to differ lazily, each with the reason (keep this minimal).
    expected: tuple[tuple[str, str], ...] = ()

    def parse(self, junit: Path, text: str) -> dict[str, str]:
        if self.kind == "pytest":
            return junit_outcomes(junit)
        return unittest_outcomes(text, self.package)


TARGETS = {
    "networkx": Target("networkx", PYTEST + (["networkx"] if FULL else NETWORKX_SUBSET), "pytest"),
    "test_importlib": Target(
        "test_importlib",
        REGRTEST + ["test_importlib"],
        "unittest",
        "test.test_importlib",
        # Expected to differ: none.  Tests that inspect sys.meta_path install their own for their
        # duration (test.test_importlib.util.import_state), so lazyhook's finder is not in it;
        # and test_pkg_import's "__import__ of a module with a syntax error raises at the call"
        # holds because __import__()/import_module() calls stay eager (PEP 810's line).
        expected=(),
    ),
    "toolz": Target("toolz", PYTEST + ["toolz"], "pytest"),
    "mpmath": Target("mpmath", PYTEST + (["mpmath"] if FULL else MPMATH_SUBSET), "pytest"),
}
STAR_TARGET = "toolz"  # the star-importing package, run a 4th time with lazy names for it
PACKAGES = ["networkx", "toolz", "mpmath", "sympy"]  # sympy: for the CLI scenario only


class Suites:
    """Runs are expensive: each (target, run) happens once per session, in order."""

    LABELS = {
        "eager": {},
        "cold": {},
        "warm": {},
        "names_learn": {"LAZYHOOK_NAMES": STAR_TARGET},  # the first run that wants them learns
        "names": {"LAZYHOOK_NAMES": STAR_TARGET},
        "mode_all": {"LAZYHOOK_MODE": "all"},
        "names_all": {"LAZYHOOK_NAMES": "all"},
    }

    def __init__(self, venv: FidelityVenv) -> None:
        self.venv = venv
        self.runs: dict[tuple[str, str], Run] = {}

    def cache(self, target: str) -> Path:
        return self.venv.work / f"cache-{target}"

    def get(self, target: str, label: str) -> Run:
        key = (target, label)
        if key not in self.runs:
            if label not in ("eager", "cold"):
                self.get(target, "cold")  # a warm run needs the cold run's cache
            if label == "names":
                # Only from-imports that want lazy names consult (and fill) the name cache:
                # the names of the package's own modules are learned by a first such run.
                self.get(target, "names_learn")
            t = TARGETS[target]
            self.runs[key] = self.venv.run_suite(
                f"{target}-{label}",
                t.argv,
                t.parse,
                lazy=label != "eager",
                cache=self.cache(target),
                cold=label == "cold",
                env=self.LABELS[label],
            )
            print(self.runs[key].summary())
        return self.runs[key]


@pytest.fixture(scope="session")
def fidelity_venv(tmp_path_factory: pytest.TempPathFactory) -> FidelityVenv:
    # LAZYHOOK_FIDELITY_DIR keeps the venv, the runs' logs and reports somewhere pytest's
    # temp-dir rotation will not delete them (one subdirectory per xdist worker).
    keep = os.environ.get("LAZYHOOK_FIDELITY_DIR")
    if keep:
        path = Path(keep) / os.environ.get("PYTEST_XDIST_WORKER", "main")
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
    else:
        path = tmp_path_factory.mktemp("fidelity")
    return FidelityVenv.create(path / "env", PACKAGES)


@pytest.fixture(scope="session")
def suites(fidelity_venv: FidelityVenv) -> Suites:
    return Suites(fidelity_venv)


def check_ran(target: Target, run: Run) -> list[str]:
    if not run.outcomes:
        return [f"{run.label}: no test outcomes parsed; see {run.log}"]
    if "unknown" in run.outcomes.values():
        return [f"{run.label}: unparsed verdicts; see {run.log}"]
    if target.kind == "unittest":
        # Every test the suite's runner counted was parsed, and nothing else.  (3.12.1's
        # unittest leaves tests skipped by a decorator out of "Ran N": it reports them without
        # startTest, cpython gh-113267; 3.10, 3.11 and 3.13.0 count them.)
        ran = unittest_ran(run.log.read_text(errors="replace"))
        parsed = unittest_counted(run.outcomes)
        skipped = sum(1 for outcome in run.outcomes.values() if outcome == "skipped")
        if ran is None or not ran <= parsed <= ran + skipped:
            return [f"{run.label}: {parsed} outcomes parsed, the runner ran {ran}; see {run.log}"]
    return []


def check_lazy(run: Run) -> list[str]:
    """The run's own interpreter had lazyhook installed and deferred modules."""
    if run.main_report is None:
        return [f"{run.label}: no lazyhook report from the suite process; see {run.log}"]
    totals = run.main_totals()
    if totals["deferred"] <= 0:
        return [f"{run.label}: lazyhook deferred nothing: {totals}"]
    return []


def check_same_outcomes(target: Target, eager: Run, lazy: Run) -> list[str]:
    diff = differences(eager, lazy)
    for test_id, _reason in target.expected:
        diff.pop(test_id, None)
    if not diff:
        return []
    return [
        f"{lazy.label}: {len(diff)} test(s) differ from the eager run (log: {lazy.log}):\n"
        + format_differences(diff)
    ]


# One test per target, doing all of that target's runs: the runs are the expensive part, and
# under pytest-xdist (CI runs `pytest -n auto`) separate tests sharing runs could land on
# different workers and repeat them.  Problems are collected so that one failing run does not
# hide what the others show.
@pytest.mark.parametrize("target", list(TARGETS))
def test_suite_outcomes_match_eager(suites: Suites, target: str) -> None:
    t = TARGETS[target]
    eager = suites.get(target, "eager")
    problems = check_ran(t, eager)
    assert not problems, problems
    assert eager.main_report is None  # no lazyhook at all in the eager run
    for label in ("cold", "warm"):
        run = suites.get(target, label)
        problems += check_ran(t, run) + check_lazy(run) + check_same_outcomes(t, eager, run)
    if target == STAR_TARGET:
        # Lazy names opted in for the star-importing package: a run that learns them (eager
        # at each from-import), then one that binds them from the cache.
        learn = suites.get(target, "names_learn")
        problems += check_ran(t, learn) + check_lazy(learn) + check_same_outcomes(t, eager, learn)
        run = suites.get(target, "names")
        problems += check_ran(t, run) + check_lazy(run) + check_same_outcomes(t, eager, run)
        if run.main_report is not None:
            bound = {m: r["lazy_names"] for m, r in run.modules().items() if r["lazy_names"]}
            print(f"{run.label}: lazy names bound (module: count): {bound}")
            if not run.main_totals()["lazy_names"] > 0:
                problems.append(f"{run.label}: no lazy names bound: {run.main_totals()}")
    if target == "networkx":
        # Informative (the README's "Fidelity" section): the risky settings must run with
        # lazyhook active and report, even if the suite crashes; their outcomes are printed,
        # not asserted.
        for label in ("mode_all", "names_all"):
            run = suites.get(target, label)
            problems += check_lazy(run)
            diff = differences(eager, run)
            print(f"{run.label}: {len(diff)} differ from eager")
            print(format_differences(diff, 20))
            if not run.outcomes:
                print("no outcomes; the run ended with:\n" + run.log.read_text()[-1500:])
    assert not problems, "\n".join(problems)


# --- a real-world CLI ---------------------------------------------------------------------------

CLI = '''\
"""pathtool: shortest paths in a weighted graph (imports heavy packages at the top)."""
import argparse
import decimal
import email.mime.text
import sys

import networkx as nx
import sympy

import lazyhook

# (Not email.mime.text itself: reading the attribute chain would run the email packages.)
HEAVY = {"networkx": nx, "sympy": sympy, "decimal": decimal}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="pathtool", description=__doc__)
    parser.add_argument("source")
    parser.add_argument("target")
    parser.add_argument("--edge", action="append", default=[], metavar="A,B,WEIGHT")
    parser.add_argument("--lazy-status", action="store_true")
    args = parser.parse_args(argv)
    graph = nx.Graph()
    for edge in args.edge:
        a, b, w = edge.split(",")
        graph.add_edge(a, b, weight=decimal.Decimal(w))
    path = nx.shortest_path(graph, args.source, args.target, weight="weight")
    length = nx.path_weight(graph, path, weight="weight")
    print(" -> ".join(path), length)


def status():
    HEAVY["email.mime.text"] = sys.modules["email.mime.text"]
    print("LAZY " + " ".join(f"{n}={lazyhook.is_lazy(m)}" for n, m in sorted(HEAVY.items())))


if __name__ == "__main__":
    if "--lazy-status" in sys.argv:
        import atexit

        atexit.register(status)
    main()
'''

EDGES = ["--edge=a,b,1.5", "--edge=b,d,1.5", "--edge=a,c,1", "--edge=c,d,2.5", "--edge=d,e,1"]


def test_cli_help_executes_no_heavy_module_and_real_work_is_correct(
    fidelity_venv: FidelityVenv, tmp_path: Path
) -> None:
    v = fidelity_venv
    prog = tmp_path / "pathtool.py"
    prog.write_text(CLI)
    counter = iter(range(1000))

    def run(*args: str, lazy: bool) -> tuple[str, dict[str, Any] | None]:
        reports = tmp_path / f"reports-{next(counter)}"
        reports.mkdir()
        env = v.env(LAZYHOOK_CACHE_DIR=str(tmp_path / "cache"), FIDELITY_REPORT_DIR=str(reports))
        with v.lazyhook_enabled() if lazy else nullcontext():
            proc = subprocess.run(
                [v.python, str(prog), *args], capture_output=True, text=True, env=env, timeout=300
            )
        assert proc.returncode == 0 and proc.stderr == "", proc.stdout + proc.stderr
        records = [json.loads(p.read_text()) for p in reports.glob("report-*.json")]
        mine = [r["report"] for r in records if r["ppid"] == os.getpid()]
        return proc.stdout, (mine[0] if mine else None)

    # --help: the same text as eagerly, and not one heavy module executed (asserted inside the
    # program with lazyhook.is_lazy at exit, and through lazyhook's report).
    eager_help, _ = run("--help", lazy=False)
    lazy_help, report = run("--lazy-status", "--help", lazy=True)
    assert eager_help.startswith("usage: pathtool")
    text, _, status = lazy_help.rpartition("LAZY ")
    assert text == eager_help
    assert status.split() == [
        "decimal=True", "email.mime.text=True", "networkx=True", "sympy=True"
    ]  # fmt: skip
    assert report is not None
    rows = {r["module"]: r for r in report["modules"]}
    for name in ("networkx", "sympy", "decimal", "email", "email.mime", "email.mime.text"):
        assert name in rows and not rows[name]["resolved"], (name, rows.get(name))
    assert rows["argparse"]["resolved"]

    # Real work on another invocation (cold, then warm cache): the answer the eager run gives,
    # networkx and decimal ran, sympy and email never did.
    eager_out, _ = run("a", "e", *EDGES, lazy=False)
    assert eager_out == "a -> b -> d -> e 4.0\n"
    for _ in ("cold", "warm"):
        lazy_out, report = run("a", "e", *EDGES, "--lazy-status", lazy=True)
        answer, _, status = lazy_out.partition("LAZY ")
        assert answer == eager_out
        assert status.split() == [
            "decimal=False", "email.mime.text=True", "networkx=False", "sympy=True"
        ]  # fmt: skip
        assert report is not None
        rows = {r["module"]: r for r in report["modules"]}
        assert rows["networkx"]["resolved"] and not rows["sympy"]["resolved"]
