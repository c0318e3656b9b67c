"""Helpers for the fidelity tier (tests/test_fidelity.py): a real venv, suite runs, outcomes.

A *run* is one target test suite in a fresh interpreter of the tier's venv, either eager (no
lazyhook ``.pth`` in the venv at all) or lazy (``python -m lazyhook enable`` first, so every
interpreter, the suite's subprocesses included, starts with lazyhook installed; ``disable``
after).  Every interpreter of a run imports the ``sitecustomize`` below (it is on
``PYTHONPATH``), which writes ``lazyhook.report()`` to the run's report directory at exit, so a
test can prove that a lazy run really deferred modules.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from conftest import clean_env, installable_copy

# `LAZYHOOK_FIDELITY=full python3 -m pytest -m fidelity` runs every target's whole suite; the
# default is the representative subset that CI runs (see SUBSET/FULL in test_fidelity.py).
FULL = os.environ.get("LAZYHOOK_FIDELITY", "") == "full"

RUN_TIMEOUT = 1800 if FULL else 600  # seconds, per suite run

# Imported by every interpreter of a run (site imports it after processing the .pth files, so
# lazyhook is already installed).  sitecustomize is on lazyhook's ignore list, and the dump
# runs under lazyhook.eager() so that writing the report changes nothing it reports.
SITECUSTOMIZE = """\
import atexit
import os
import sys


def _fidelity_dump():
    lazyhook = sys.modules.get("lazyhook")
    if lazyhook is None or not lazyhook.is_installed():
        return
    data = lazyhook.report()
    with lazyhook.eager():
        import json
    directory = os.environ["FIDELITY_REPORT_DIR"]
    record = {"pid": os.getpid(), "ppid": os.getppid(), "argv": sys.argv, "report": data}
    tmp = os.path.join(directory, f".{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        json.dump(record, f)
    os.replace(tmp, os.path.join(directory, f"report-{os.getpid()}.json"))


if os.environ.get("FIDELITY_REPORT_DIR"):
    atexit.register(_fidelity_dump)
"""


@dataclass
class Run:
    """What one suite run produced."""

    label: str
    returncode: int
    seconds: float
    outcomes: dict[str, str]
    log: Path
    reports: list[dict[str, object]] = field(default_factory=list)
    main_report: dict[str, object] | None = None  # the suite's own process

    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(o.split(":")[0] for o in self.outcomes.values()).items()))

    def main_totals(self) -> dict[str, int]:
        assert self.main_report is not None, f"{self.label}: the suite process wrote no report"
        return self.main_report["report"]["totals"]  # type: ignore[index, no-any-return]

    def modules(self) -> dict[str, dict[str, object]]:
        """The main process's report rows by module name."""
        assert self.main_report is not None, f"{self.label}: the suite process wrote no report"
        rows = self.main_report["report"]["modules"]  # type: ignore[index]
        return {r["module"]: r for r in rows}  # type: ignore[index]

    def summary(self) -> str:
        lazy = ""
        if self.main_report is not None:
            t = self.main_totals()
            lazy = f" deferred={t['deferred']} never_executed={t['never_executed']}"
            lazy += f" lazy_names={t['lazy_names']} processes={len(self.reports)}"
        return f"{self.label}: {self.seconds:.1f}s rc={self.returncode} {self.counts()}{lazy}"


def differences(eager: Run, other: Run) -> dict[str, tuple[str | None, str | None]]:
    """Test ids whose outcome differs between two runs: id -> (eager outcome, other outcome)."""
    out: dict[str, tuple[str | None, str | None]] = {}
    for key in sorted(set(eager.outcomes) | set(other.outcomes)):
        a, b = eager.outcomes.get(key), other.outcomes.get(key)
        if a != b:
            out[key] = (a, b)
    return out


def format_differences(diff: dict[str, tuple[str | None, str | None]], limit: int = 40) -> str:
    lines = [f"  {key}: eager={a} lazy={b}" for key, (a, b) in list(diff.items())[:limit]]
    if len(diff) > limit:
        lines.append(f"  ... and {len(diff) - limit} more")
    return "\n".join(lines)


# --- outcome parsers ------------------------------------------------------------------------

_EXC_TYPE = re.compile(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception|Exit|Skipped|Failed|Warning))\b")


def _failure_kind(element: ET.Element) -> str:
    """The exception type a failure/error element names, if its message starts with one."""
    m = _EXC_TYPE.match(element.get("message") or "")
    return m.group(1).rsplit(".", 1)[-1] if m else ""


_RANK = {"passed": 0, "xfailed": 1, "skipped": 2, "failed": 3, "error": 4}


def junit_outcomes(path: Path) -> dict[str, str]:
    """pytest ``--junitxml`` results: ``classname::name`` -> passed/failed/error/skipped/xfailed.

    Failures and errors carry the exception type (``failed:AssertionError``), so a test that
    fails both eagerly and lazily must fail the same way.  A teardown error on a passing test
    is reported by pytest as a second element for the same id: the worse outcome wins.
    """
    out: dict[str, str] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        key = f"{case.get('classname', '')}::{case.get('name', '')}"
        outcome = "passed"
        for child in case:
            if child.tag == "failure":
                outcome = f"failed:{_failure_kind(child)}"
            elif child.tag == "error":
                outcome = f"error:{_failure_kind(child)}"
            elif child.tag == "skipped":
                outcome = "xfailed" if child.get("type") == "pytest.xfail" else "skipped"
        old = out.get(key)
        if old is None or _RANK[outcome.split(":")[0]] > _RANK[old.split(":")[0]]:
            out[key] = outcome
    return out


# unittest -v prints one line per test: "test_x (package.module.Class.test_x) ... ok" (3.10:
# "test_x (package.module.Class)").  A test with a docstring gets its first line on the next
# line ("Docstring ... ok").  When the test prints, its verdict lands on a later line of its own
# and the printed lines come in between; they may be another unittest run's verbose output (a
# child script's: 3.13's test_nonmodule_cases), whose lines have the same format and the
# child's ids (``__main__.*``).  Failing fixtures and skipped classes/modules are reported as
# "setUpClass (package.module.Class) ... skipped 'why'"; a test module that does not import, or
# skips itself, as "package.module (unittest.loader._FailedTest.package.module) ... ERROR"
# (ModuleSkipped: "... skipped 'why'").  A failing subtest (3.11+) prints an indented line,
# "  test_x (package.module.Class.test_x) (i=1) ... FAIL", and the test itself gets no verdict
# unless it fails of its own; on 3.10 nothing at all, and the next test's line follows on the
# same line.  (3.11+: doctests, "name (package.module)", are not recognised; check_ran in
# test_fidelity.py compares the count with the runner's "Ran N tests".)
_NAME, _DOTTED = r"[\w.]+", r"\w+(?:\.\w+)+"
_UNITTEST_START = re.compile(rf"^({_NAME}) \(({_DOTTED})\)(?: \.\.\. ?(.*))?$")
_UNITTEST_SUBTEST = re.compile(rf"^  ({_NAME}) \(({_DOTTED})\) .+?(?: \.\.\. (FAIL|ERROR))?$")
_DOC_LINE = re.compile(r"^.* \.\.\. ?(.*)$")
_VERDICT = re.compile(r"^(ok|FAIL|ERROR|skipped\b.*|expected failure|unexpected success)$")
_FIXTURES = frozenset({"setUpClass", "tearDownClass", "setUpModule", "tearDownModule"})
_PLACEHOLDERS = ("unittest.loader._FailedTest.", "unittest.loader.ModuleSkipped.")
_WORSE = {"FAIL": 1, "ERROR": 2}


def unittest_test_id(name: str, described: str, legacy: bool | None = None) -> str | None:
    """``package.module.Class.test`` for the verbose line ``name (described)``, or None when
    the two do not belong together (then the line is not a test line of that format).

    *legacy*: the line comes from Python 3.10, whose lines name the class only (default: the
    running Python, which is the one the fidelity venv's suites run on).
    """
    if legacy is None:
        legacy = sys.version_info < (3, 11)
    if legacy or name in _FIXTURES:
        return f"{described}.{name}"
    return described if described.endswith("." + name) else None


def _in_package(key: str, package: str) -> bool:
    """Whether the test *key* is one of *package*'s (a loader placeholder: its module is)."""
    for placeholder in _PLACEHOLDERS:
        key = key.removeprefix(placeholder)
    return key == package or key.startswith(package + ".")


def _verdict_part(lines: list[str], i: int, rest: str | None) -> tuple[str | None, int]:
    """What follows the " ... " of the description that ends on line *i* - 1 (None: no
    " ... " there nor on a docstring line *i*), and the index of the line after it."""
    if rest is None and i < len(lines):  # the docstring line carries the " ... "
        doc = _DOC_LINE.match(lines[i])
        if doc is not None:
            return doc.group(1), i + 1
    return rest, i


def unittest_outcomes(text: str, package: str, legacy: bool | None = None) -> dict[str, str]:
    """``python -m test -v`` results of the tests in *package* (a dotted name):
    ``package.module.Class.test`` -> ok/FAIL/ERROR/skipped/expected failure/unexpected success,
    or ``unknown`` when a test's verdict cannot be told.

    Only exact verbose lines count, whose ids are consistent (``unittest_test_id``) and in
    *package*.  Everything else is output printed by a test: a line in the same format with an
    id outside *package* is a child's unittest run, and while such a child test waits for its
    verdict, the next bare verdict line is the child's, not the outer test's.  An id seen twice
    (a test class imported under two names) gets ``#2`` etc.
    """
    out: dict[str, str] = {}
    lines = text.splitlines()
    pending: str | None = None  # a test of the suite, waiting for its verdict
    subtests = ""  # the worst failing-subtest verdict of the pending test
    nested = 0  # child tests printed while it runs, waiting for theirs

    def record(key: str, word: str) -> None:
        n, base = 1, key
        while key in out:
            n += 1
            key = f"{base}#{n}"
        out[key] = "skipped" if word.startswith("skipped") else word

    def settle(word: str | None = None) -> None:
        """The pending test's outcome: *word* (None: never got one), or its failing subtests'
        verdict when that is worse."""
        nonlocal pending, subtests, nested
        if pending is not None:
            if subtests and _WORSE.get(word or "", 0) < _WORSE[subtests]:
                word = subtests
            record(pending, word or "unknown")
        pending, subtests, nested = None, "", 0

    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        start = _UNITTEST_START.match(line)
        key = unittest_test_id(start.group(1), start.group(2), legacy) if start else None
        if start is not None and key is not None:
            rest, after = _verdict_part(lines, i, start.group(3))
            if rest is None:
                continue  # no " ... ": not a test line
            i = after
            verdict = _VERDICT.match(rest.strip())
            glued = verdict is None and _UNITTEST_START.match(rest) is not None
            if glued:  # 3.10: the next test's line, after a test that got no verdict
                lines.insert(i, rest)
            if not _in_package(key, package):
                if pending is not None and verdict is None and not glued:
                    nested += 1  # a child's test, waiting for its verdict
            elif key == pending and verdict is not None:  # its own verdict after subtests
                settle(verdict.group(1))
            else:
                settle()  # a test before it that never got a verdict: unknown
                if verdict is not None:
                    record(key, verdict.group(1))
                elif glued:
                    record(key, "unknown")
                else:
                    pending = key
            continue
        if pending is None:
            continue
        sub = _UNITTEST_SUBTEST.match(line)
        if sub is not None and unittest_test_id(sub.group(1), sub.group(2), legacy) == pending:
            word, i = _verdict_part(lines, i, sub.group(3))
            if word in _WORSE and _WORSE[word] > _WORSE.get(subtests, 0):
                subtests = word
            continue
        verdict = _VERDICT.match(line.strip())
        if verdict is not None:
            if nested:
                nested -= 1  # a child test's verdict
            else:
                settle(verdict.group(1))
    settle()
    return out


_RAN = re.compile(r"^Ran (\d+) tests? in ")


def unittest_ran(text: str) -> int | None:
    """N of the last ``Ran N tests in ...`` line (the suite's runner prints it last; a child's
    run prints its own earlier), or None when there is none."""
    counts = [int(m.group(1)) for m in map(_RAN.match, text.splitlines()) if m is not None]
    return counts[-1] if counts else None


def unittest_counted(outcomes: dict[str, str]) -> int:
    """How many of *outcomes* unittest counts in "Ran N tests" (fixture entries it does not)."""
    return sum(1 for key in outcomes if key.partition("#")[0].rsplit(".", 1)[-1] not in _FIXTURES)


# --- the venv -------------------------------------------------------------------------------


class FidelityVenv:
    """One ``python -m venv`` for the whole tier, lazyhook pip-installed from the repo root."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.python = str(path / "bin" / "python")
        self.sitecustomize_dir = path / "fidelity-site"
        self.work = path / "work"  # runs' logs, reports, caches

    @classmethod
    def create(cls, path: Path, packages: list[str]) -> FidelityVenv:
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        v = cls(path)
        v.sitecustomize_dir.mkdir()
        (v.sitecustomize_dir / "sitecustomize.py").write_text(SITECUSTOMIZE)
        v.work.mkdir()
        pip = [v.python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        # pip byte-compiles what it installs, and runs write the bytecode of what they import
        # (PYTHONDONTWRITEBYTECODE is cleared for them): no run recompiles lazyhook.
        src = installable_copy(path.parent / "lazyhook-src")
        subprocess.run([*pip, str(src), "pytest", *packages], check=True, env=v.env(), timeout=900)
        return v

    def env(self, **extra: str) -> dict[str, str]:
        env = clean_env()
        env.pop("PYTHONPATH", None)
        env["PYTHONDONTWRITEBYTECODE"] = ""  # cache bytecode: no run recompiles lazyhook
        env["PYTHONPATH"] = str(self.sitecustomize_dir)
        env.update(extra)
        return env

    @contextmanager
    def lazyhook_enabled(self) -> Iterator[None]:
        """``python -m lazyhook enable`` in the venv, ``disable`` afterwards (whatever happens)."""
        subprocess.run([self.python, "-m", "lazyhook", "enable"], check=True, env=self.env(),
                       stdout=subprocess.DEVNULL)  # fmt: skip
        try:
            yield
        finally:
            subprocess.run([self.python, "-m", "lazyhook", "disable"], check=True,
                           env=self.env(), stdout=subprocess.DEVNULL)  # fmt: skip

    def run_suite(
        self,
        label: str,
        argv: list[str],
        parse: Callable[[Path, str], dict[str, str]],
        *,
        lazy: bool,
        cache: Path | None = None,
        cold: bool = False,
        env: dict[str, str] | None = None,
    ) -> Run:
        """Run ``python *argv`` (``{junit}`` in argv becomes the run's junit file)."""
        workdir = self.work / label
        if workdir.exists():
            shutil.rmtree(workdir)
        reports = workdir / "reports"
        reports.mkdir(parents=True)
        junit = workdir / "junit.xml"
        uses_junit = any("{junit}" in a for a in argv)
        argv = [a.replace("{junit}", str(junit)) for a in argv]
        extra = dict(env or {})
        extra["FIDELITY_REPORT_DIR"] = str(reports)
        if lazy:
            assert cache is not None
            if cold and cache.exists():
                shutil.rmtree(cache)
            extra["LAZYHOOK_CACHE_DIR"] = str(cache)
        log = workdir / "output.txt"
        t0 = time.monotonic()
        with log.open("w") as out:
            if lazy:
                with self.lazyhook_enabled():
                    rc = self._run(argv, out, workdir, extra)
            else:
                rc = self._run(argv, out, workdir, extra)
        seconds = time.monotonic() - t0
        text = log.read_text(errors="replace")
        outcomes = parse(junit, text) if junit.exists() or not uses_junit else {}
        run = Run(label, rc, seconds, outcomes, log)
        for path in sorted(reports.glob("report-*.json")):
            rec = json.loads(path.read_text())
            run.reports.append(rec)
            if rec["ppid"] == os.getpid():
                run.main_report = rec
        return run

    def _run(self, argv: list[str], out: object, cwd: Path, extra: dict[str, str]) -> int:
        proc = subprocess.run(
            [self.python, *argv],
            stdout=out,  # type: ignore[arg-type]
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=str(cwd),
            env=self.env(**extra),
            timeout=RUN_TIMEOUT,
        )
        return proc.returncode
