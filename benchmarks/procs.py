"""Running child interpreters: a clean environment, wall-clock timing, interleaving, strace.

Every figure in this suite is either the wall time of a whole child process (from just before
``subprocess.run`` to just after it returns, so spawn and exit are included, the same for every
approach) or a number the child measured itself and printed.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

# What the per-script exit hook prints on stderr: "<marker> <entries in sys.modules> <executed>".
MODULES_MARKER = "BENCH-MODULES"
TIMEOUT = 300.0


def child_env(**extra: str) -> dict[str, str]:
    """The inherited environment minus anything that changes what a child imports or writes.

    ``PYTHONDONTWRITEBYTECODE`` is dropped on purpose: with it, a child that finds no pyc
    recompiles the source at every start (measured here: start-up ratio 1.36 instead of ~1.0).
    """
    drop = {
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONPATH",
        "PYTHONHOME",
        "PYTHONSTARTUP",
        "PYTHONWARNINGS",
        "PYTHONPROFILEIMPORTTIME",
        "PYTHONVERBOSE",
        "PYTHONDEVMODE",
        "EAGER_IMPORT",  # lazy_loader's switch
    }
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in drop and not k.startswith(("LAZYHOOK_", "SAGE_", "VIRTUAL_ENV"))
    }
    env.update(extra)
    return env


@dataclass
class Run:
    """One finished child process."""

    seconds: float
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def modules(self) -> tuple[int, int] | None:
        """(entries in sys.modules, executed modules) as printed by the script's exit hook."""
        for line in reversed(self.stderr.splitlines()):
            if line.startswith(MODULES_MARKER):
                _, total, executed = line.split()
                return int(total), int(executed)
        return None

    def error(self) -> str:
        """The last line of a traceback (or of stderr), for tables."""
        lines = [
            ln.strip()
            for ln in self.stderr.splitlines()
            if ln.strip() and not ln.startswith(MODULES_MARKER)
        ]
        for line in reversed(lines):
            if not line.startswith(("lazyhook:", "File ", "^", "~")):
                return line[:160]
        return lines[-1][:160] if lines else f"exit status {self.returncode}"


@dataclass
class Job:
    """A command to time repeatedly; *before* (untimed) runs ahead of every timed run."""

    argv: list[str]
    env: Mapping[str, str]
    cwd: Path
    before: Callable[[], None] | None = None
    runs: list[Run] = field(default_factory=list)


def run_once(argv: list[str], env: Mapping[str, str], cwd: Path) -> Run:
    """Run one child to completion and time it."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        argv, capture_output=True, text=True, env=dict(env), cwd=cwd, timeout=TIMEOUT
    )
    seconds = time.perf_counter() - t0
    return Run(seconds, proc.returncode, proc.stdout, proc.stderr)


def interleave(jobs: Iterable[Job], rounds: int) -> None:
    """Time every job *rounds* times in the order A B C A B C ... (results in ``job.runs``).

    Interleaving spreads the machine's background noise (other people's test runs) evenly
    over the approaches instead of letting it land on whichever ran during a busy minute.
    """
    job_list = list(jobs)
    for _ in range(rounds):
        for job in job_list:
            if job.before is not None:
                job.before()
            job.runs.append(run_once(job.argv, job.env, job.cwd))


@dataclass
class Stats:
    median: float
    low: float
    high: float
    n: int

    def as_dict(self) -> dict[str, float]:
        return {"median": self.median, "min": self.low, "max": self.high, "n": self.n}


def stats(values: Iterable[float]) -> Stats:
    data = list(values)
    if not data:
        raise ValueError("no values")
    return Stats(statistics.median(data), min(data), max(data), len(data))


# Runs one child and prints its peak RSS.  Run with ``-S -I`` so that this launcher stays
# smaller (~8 MiB here) than any interpreter it starts: at exec, Linux carries the RSS
# high-water mark of the process that forked (or vforked) the child into the child's
# ``ru_maxrss``, so a child reaped directly by the benchmark runner (~18 MiB) would read as
# at least the runner's size.  ``os.wait4`` gives that one child's own resource usage.
RSS_LAUNCHER = """\
import os, sys
null = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_WRONLY, 0) for fd in (1, 2)]
pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ, file_actions=null)
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def peak_rss_kib(argv: list[str], env: Mapping[str, str], cwd: Path) -> int | None:
    """The peak RSS (KiB, Linux) of one run of *argv*, or None if it failed or cannot be read.

    *argv[0]* must be an absolute path to a Python interpreter: it also runs the launcher.
    """
    launcher = [argv[0], "-S", "-I", "-c", RSS_LAUNCHER, *argv]
    proc = subprocess.run(
        launcher, capture_output=True, text=True, env=dict(env), cwd=cwd, timeout=TIMEOUT
    )
    words = proc.stdout.split()
    if proc.returncode != 0 or len(words) != 2 or words[1] != "0":
        return None
    return int(words[0])


def strace_file_calls(argv: list[str], env: Mapping[str, str], cwd: Path) -> int | None:
    """File-system syscalls of one whole run (``strace -c -f -e trace=%file``), or None."""
    strace = shutil.which("strace")
    if strace is None:
        return None
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as out:
        cmd = [strace, "-f", "-c", "-e", "trace=%file", "-o", out.name, *argv]
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=dict(env), cwd=cwd, timeout=TIMEOUT
        )
        if proc.returncode != 0 and "ptrace" in proc.stderr:
            return None  # not permitted in this container
        return parse_strace_total(Path(out.name).read_text())


def parse_strace_total(summary: str) -> int | None:
    """The call count of the ``total`` row of an ``strace -c`` summary."""
    for line in summary.splitlines():
        parts = line.split()
        if parts and parts[-1] == "total" and len(parts) >= 5:
            return int(parts[3])
    return None
