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


# unittest -v: "test_x (package.module.Class.test_x) ... ok".  A test with a docstring gets its
# first line on the next line ("Docstring ... ok"), and the verdict lands on a later line of its
# own when the test prints.  setUpClass/module-level skips are recorded under their own ids.
_UNITTEST_START = re.compile(r"^([\w.]+) \(([\w.]+)\)(?: \.\.\. ?(.*))?$")
_DOC_LINE = re.compile(r"^.* \.\.\. ?(.*)$")
_VERDICT = re.compile(r"^(ok|FAIL|ERROR|skipped\b.*|expected failure|unexpected success)$")


def unittest_outcomes(text: str) -> dict[str, str]:
    """``python -m test -v`` results: ``module.Class.test`` -> ok/FAIL/ERROR/skipped/...

    An id seen twice (a test class imported under two names) gets ``#2`` etc.
    """
    out: dict[str, str] = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = _UNITTEST_START.match(line)
        if m is None:
            continue
        key, rest = m.group(2), m.group(3)
        j = i + 1
        if rest is None:  # the docstring line carries the " ... "
            doc = _DOC_LINE.match(lines[j]) if j < len(lines) else None
            if doc is None:
                continue
            rest, j = doc.group(1), j + 1
        verdict = _VERDICT.match(rest.strip())
        while verdict is None and j < len(lines) and j < i + 200:
            if _UNITTEST_START.match(lines[j]):
                break
            verdict = _VERDICT.match(lines[j].strip())
            j += 1
        word = verdict.group(1) if verdict else "unknown"
        n, base = 1, key
        while key in out:
            n += 1
            key = f"{base}#{n}"
        out[key] = "skipped" if word.startswith("skipped") else word
    return out


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
