"""The programs corpus's runner (tests/test_fidelity_programs.py): runs, normalisation.

A ``Corpus`` runs each ``Program`` three times in fresh interpreters of the tier's venv:
eagerly (no lazyhook ``.pth``), then after ``python -m lazyhook enable`` with an empty cache
directory of its own (cold) and with that cache again (warm).  Each run gets a fresh copy of
the corpus inputs as its working directory, its own ``HOME`` and ``TMPDIR``, and ``RUN_ENV``;
its stdout, stderr and output files are normalised (``normalise``) before any comparison.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import shutil
import subprocess
import sysconfig
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from conftest import installable_copy
from fidelity_programs_data import write_data
from fidelity_support import FidelityVenv


@dataclass(frozen=True)
class Program:
    """One invocation: ``python ARGV`` in a fresh copy of the corpus inputs."""

    name: str
    argv: tuple[str, ...]  # with placeholders: {bin}, {stdlib}, {venv}, {wheel}
    stdin: str = ""
    outputs: tuple[str, ...] = ()  # files the program writes, compared like stdout
    env: tuple[tuple[str, str], ...] = ()  # {cwd}: the run's working directory
    full: bool = False  # only with LAZYHOOK_FIDELITY=full
    names: bool = False  # its from-imports in __main__ must bind lazy names on the warm run


def P(name: str, cmd: str, **kw: Any) -> Program:  # noqa: N802 - a table constructor
    env = tuple(kw.pop("env", {}).items())
    return Program(name, tuple(shlex.split(cmd)), env=env, **kw)


# --- normalisation ----------------------------------------------------------------------------
# Applied to stdout, stderr and output files of every run alike.  First the run's own
# directories become placeholders (each run has a fresh working directory, HOME and TMPDIR
# under <RUN>; the venv is <VENV>), then these substitutions.  None of them removes a line:
# a warning, a traceback or an extra line of output still shows.
RULES: list[tuple[re.Pattern[str], str]] = [
    # Object addresses in reprs: <function f at 0x7f3a2c1b9e40>.
    (re.compile(r"\b0x[0-9a-fA-F]{8,}\b"), "0x<ADDR>"),
    # Test runners' durations: pytest "in 0.12s" / "in 61.02s (0:01:01)", unittest "Ran 6 tests
    # in 0.004s".
    (re.compile(r"\bin \d+\.\d+s\b(?: \(\d+:\d\d:\d\d\))?"), "in <DUR>"),
    # timeit: "20 loops, best of 1: 1.23 usec per loop".
    (re.compile(r"\b\d+(?:\.\d+)? [num]?sec per loop\b"), "<DUR> per loop"),
    # virtualenv: "created virtual environment CPython3.11.7.final.0-64 in 721ms".
    (re.compile(r"\bin \d+ms\b"), "in <DUR>"),
    # Names tempfile makes under the run's TMPDIR: <RUN>/tmp/pip-target-m0sspgyu.
    (re.compile(r"(<RUN>/tmp/[\w.-]*?)[a-z0-9_]{8}\b"), r"\1<RAND>"),
    # junit xml: time="0.012" on suites and cases, hostname="..." on the suite.
    (re.compile(r'\btime="\d+(?:\.\d+)?"'), 'time="<DUR>"'),
    (re.compile(r'\bhostname="[^"]*"'), 'hostname="<HOST>"'),
    # Wall-clock timestamps: "2024-03-01T12:00:00.123456+00:00" (junit xml), "2024-03-01
    # 12:00:00" (diff headers).
    (
        re.compile(r"\b\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?"),
        "<TIMESTAMP>",
    ),
]


def normalise(text: str, run_dir: Path, venv: Path) -> str:
    for literal, token in (
        (str(run_dir.resolve()), "<RUN>"),
        (str(run_dir), "<RUN>"),
        (str(venv.resolve()), "<VENV>"),
        (str(venv), "<VENV>"),
    ):
        text = text.replace(literal, token)
    for pattern, replacement in RULES:
        text = pattern.sub(replacement, text)
    return text


# Fixed for every run (and the same eager and lazy): no colours, a fixed terminal size, UTC,
# a fixed hash seed (set iteration order), pip without this machine's configuration.
RUN_ENV = {
    "COLUMNS": "100", "LINES": "40", "TERM": "dumb", "NO_COLOR": "1", "TZ": "UTC",
    "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0", "PYTHONIOENCODING": "utf-8",
    "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1",
}  # fmt: skip
DROP_ENV = ("PIP_", "XDG_", "PYTHONWARNINGS", "PYTHONSTARTUP", "PYTHONBREAKPOINT", "FORCE_COLOR")
MODES = ("eager", "cold", "warm")

# The tier's sitecustomize (fidelity_support.SITECUSTOMIZE), adapted for programs that block
# imports: pip >= 26.3 refuses every import after an install started, until exit (an audit
# hook), so the exit dump must import nothing.  lazyhook._report (lazyhook's own, importing
# only sys) is loaded at start-up when lazyhook is active, and the report is written with
# repr() (read back with ast.literal_eval) instead of json.
SITECUSTOMIZE = """\
import atexit
import os
import sys


def _fidelity_dump():
    lazyhook = sys.modules.get("lazyhook")
    if lazyhook is None or not lazyhook.is_installed():
        return
    record = {"pid": os.getpid(), "ppid": os.getppid(), "argv": sys.argv,
              "report": lazyhook.report()}
    directory = os.environ["FIDELITY_REPORT_DIR"]
    tmp = os.path.join(directory, f".{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(repr(record))
    os.replace(tmp, os.path.join(directory, f"report-{os.getpid()}.txt"))


if os.environ.get("FIDELITY_REPORT_DIR"):
    if "lazyhook" in sys.modules:
        import lazyhook._report
    atexit.register(_fidelity_dump)
"""
TIMEOUT = 180  # seconds per run; the slowest takes ~3 s


@dataclass
class Outcome:
    """One run of one program (stdout/stderr already normalised)."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    totals: dict[str, Any] | None = None  # the main process's lazyhook report totals
    names: dict[str, int] = field(default_factory=dict)  # module -> lazy names bound
    processes: int = 0  # interpreters that wrote a report


Results = dict[str, dict[str, Outcome]]  # program name -> mode -> outcome


class Corpus:
    """Runs every selected program eagerly, cold and warm; results by program and mode."""

    def __init__(self, venv: FidelityVenv, root: Path) -> None:
        self.venv, self.root = venv, root
        self.data = root / "data"
        self.paths = {"{bin}": str(Path(venv.python).parent), "{venv}": str(venv.path),
                      "{stdlib}": sysconfig.get_paths()["stdlib"]}  # fmt: skip

    def run_all(self, programs: list[Program]) -> Results:
        shutil.rmtree(self.data, ignore_errors=True)
        write_data(self.data)
        shutil.copytree(self.venv.path / "wheelhouse", self.data / "wheelhouse")
        results: dict[str, dict[str, Outcome]] = {p.name: {} for p in programs}
        self._batch(programs, 1, "eager", results)
        for p in programs:
            shutil.rmtree(self.cache(p), ignore_errors=True)  # cold: an empty cache each
        with self.venv.lazyhook_enabled():  # one enable for all lazy runs
            self._batch(programs, 2, "cold", results)
            self._batch(programs, 3, "warm", results)
        return results

    def cache(self, program: Program) -> Path:
        return self.root / "caches" / program.name

    def _batch(
        self, programs: list[Program], index: int, mode: str, out: dict[str, dict[str, Outcome]]
    ) -> None:
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = {p.name: pool.submit(self.run, p, index, mode) for p in programs}
            for name, future in futures.items():
                out[name][mode] = future.result()

    def run(self, program: Program, index: int, mode: str) -> Outcome:
        run_dir = self.root / "runs" / str(index) / program.name  # same length in every mode
        shutil.rmtree(run_dir, ignore_errors=True)
        cwd, home, tmp, reports = (run_dir / d for d in ("cwd", "home", "tmp", "reports"))
        shutil.copytree(self.data, cwd)
        for d in (home, tmp, reports):
            d.mkdir(parents=True)
        env = self.venv.env()
        for key in [k for k in env if k.startswith(DROP_ENV)]:
            del env[key]
        env.update(RUN_ENV, HOME=str(home), TMPDIR=str(tmp), FIDELITY_REPORT_DIR=str(reports))
        env.update((k, v.replace("{cwd}", str(cwd))) for k, v in program.env)
        if mode != "eager":
            env["LAZYHOOK_CACHE_DIR"] = str(self.cache(program))
        argv = [self._expand(a) for a in program.argv]
        wheels = sorted((cwd / "wheelhouse").glob("*.whl"))
        argv = [a.replace("{wheel}", str(wheels[0].relative_to(cwd))) for a in argv]
        t0 = time.monotonic()
        try:
            proc = subprocess.run(
                [self.venv.python, *argv],
                input=program.stdin.encode(),
                capture_output=True,
                cwd=cwd,
                env=env,
                timeout=TIMEOUT,
            )
            rc, out, err = proc.returncode, proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as exc:  # a hang is a finding for this program only
            rc, out = -1, exc.stdout or b""
            err = (exc.stderr or b"") + f"\n<killed after {TIMEOUT} s>".encode()
        seconds = time.monotonic() - t0
        stdout = out.decode("utf-8", "backslashreplace")
        for rel in program.outputs:
            path = cwd / rel
            text = path.read_bytes().decode("utf-8", "backslashreplace") if path.exists() else ""
            stdout += f"\n=== output file {rel} {'' if path.exists() else '(missing) '}===\n{text}"
        outcome = Outcome(
            rc,
            normalise(stdout, run_dir, self.venv.path),
            normalise(err.decode("utf-8", "backslashreplace"), run_dir, self.venv.path),
            seconds,
        )
        self._read_reports(reports, outcome)
        return outcome

    def _expand(self, arg: str) -> str:
        for key, value in self.paths.items():
            arg = arg.replace(key, value)
        return arg

    @staticmethod
    def _read_reports(reports: Path, outcome: Outcome) -> None:
        for path in reports.glob("report-*.txt"):
            record = ast.literal_eval(path.read_text())
            outcome.processes += 1
            if record["ppid"] == os.getpid():  # the program's own interpreter
                outcome.totals = record["report"]["totals"]
                outcome.names = {
                    r["module"]: r["lazy_names"]
                    for r in record["report"]["modules"]
                    if r["lazy_names"]
                }


# --- the session's runs ---------------------------------------------------------------------


def prepare_venv(root: Path, packages: list[str], wheelhouse: list[str]) -> FidelityVenv:
    """The tier's venv under *root*: reused if its package list is unchanged (lazyhook is
    reinstalled from the work tree every session), else built, with its wheelhouse."""
    marker = root / "env" / "programs-packages.json"
    wanted = json.dumps([packages, wheelhouse])
    if marker.exists() and marker.read_text() == wanted:
        venv = FidelityVenv(root / "env")
        shutil.rmtree(root / "lazyhook-src", ignore_errors=True)
        src = installable_copy(root / "lazyhook-src")
        subprocess.run([venv.python, "-m", "pip", "install", "-q", "--no-deps",
                        "--force-reinstall", str(src)], check=True, env=venv.env())  # fmt: skip
        return venv
    shutil.rmtree(root / "env", ignore_errors=True)
    shutil.rmtree(root / "lazyhook-src", ignore_errors=True)
    venv = FidelityVenv.create(root / "env", packages)
    dest = str(venv.path / "wheelhouse")
    pip = [venv.python, "-m", "pip", "download", "-q", "--no-deps", "-d", dest]
    subprocess.run([*pip, *wheelhouse], check=True, env=venv.env())
    marker.write_text(wanted)
    return venv


def compute(
    root: Path, programs: list[Program], packages: list[str], wheelhouse: list[str]
) -> Results:
    venv = prepare_venv(root, packages, wheelhouse)
    (venv.sitecustomize_dir / "sitecustomize.py").write_text(SITECUSTOMIZE)
    work = root / "work"
    results = Corpus(venv, work).run_all(programs)
    data = {n: {m: asdict(o) for m, o in modes.items()} for n, modes in results.items()}
    (work / "results.json").write_text(json.dumps(data, indent=1))
    return results


def load(path: Path) -> Results:
    data = json.loads(path.read_text())
    return {n: {m: Outcome(**o) for m, o in modes.items()} for n, modes in data.items()}


def shared(root: Path, uid: str, make: Callable[[], Results]) -> Results:
    """Under pytest-xdist: the first worker to claim *root* for test run *uid* computes the
    results (``make``), the others wait for its results file (or its failure marker)."""
    done, failed = root / f"results-{uid}.json", root / f"failed-{uid}"
    try:
        (root / f"claim-{uid}").mkdir()
    except FileExistsError:
        deadline = time.monotonic() + 3600
        while not done.exists() and not failed.exists() and time.monotonic() < deadline:
            time.sleep(1)
        assert done.exists(), f"the worker running the programs corpus failed; see {root}"
        return load(done)
    try:
        results = make()
    except BaseException:
        failed.touch()
        raise
    shutil.copy(root / "work" / "results.json", done)
    return results
