"""Instruction counts of lazyhook's warm paths, A/B between two versions (callgrind).

Wall-clock figures on a shared 2-core machine move by 2x between runs of the same code (the
warm star statement: 23.9 then 12.6 ms, with +0.6 % instructions); instruction counts under
``valgrind --tool=callgrind`` are the same for the same binary, inputs and environment,
whatever else the machine does.  This script counts them for five whole processes — a bare
start, ``install()``, a lazy ``import sympy``, a warm ``from sympy import Symbol`` and a warm
``from sympy import *`` (each read in a function never called, as in ``run.py``'s 2a-4a; a
call, since a class used as a value is bound real, running sympy at the statement) — for
the work tree and, with ``--base REV``, for a git revision, so a change's cost is visible
before any timed run::

    python benchmarks/instructions.py                 # the work tree
    python benchmarks/instructions.py --base HEAD~3   # and HEAD~3, side by side

Each version's ``lazyhook`` is copied and byte-compiled under ``benchmarks/.work/instr/``
and put first on ``PYTHONPATH`` of the benchmark venv's interpreter (``run.py`` makes it;
``--python`` names another with sympy installed).  Every process starts from an empty
directory with ``PYTHONHASHSEED=0`` and its own name cache, warmed by two runs first.  About
half a minute per version.  Writes ``benchmarks/.work/instructions.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path

from procs import child_env
from venv_setup import REPO, VENV, WORK

OUT = WORK / "instr"
SCRIPTS = {
    "bare start": "pass\n",
    "install()": "import lazyhook\n\nlazyhook.install()\n",
    "lazy import sympy": (
        "import lazyhook\n\nlazyhook.install()\nimport sympy\n\n\n"
        "def later():\n    return sympy.Symbol\n"
    ),
    "warm from sympy import Symbol": (
        "import lazyhook\n\nlazyhook.install()\nfrom sympy import Symbol\n\n\n"
        'def later():\n    return Symbol("x")\n'
    ),
    "warm from sympy import *": (
        "import lazyhook\n\nlazyhook.install()\nfrom sympy import *  # noqa: F403\n\n\n"
        'def later():\n    return Symbol("x")  # noqa: F405\n'
    ),
}


class UsageError(Exception):
    """A mistake in the command line or the machine's set-up: one line, exit 2."""


def _tree(label: str, rev: str | None) -> Path:
    """A copy of ``lazyhook/`` from the work tree (*rev* None) or *rev*."""
    dest = OUT / ("base" if rev is not None else "work")
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    if rev is None:
        shutil.copytree(REPO / "lazyhook", dest / "lazyhook",
                        ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    else:
        proc = subprocess.run(["git", "-C", str(REPO), "archive", rev, "lazyhook"],
                              capture_output=True, check=False)  # fmt: skip
        if proc.returncode != 0:
            raise UsageError(f"not a revision of this repository: {rev!r}")
        with tarfile.open(fileobj=BytesIO(proc.stdout)) as tar:
            if hasattr(tarfile, "data_filter"):  # 3.12, and 3.10.12/3.11.4 on
                tar.extractall(dest, filter="data")
            else:
                tar.extractall(dest)  # noqa: S202 - our own repository's archive
    return dest


def _count(python: Path, tree: Path, index: int, text: str) -> int:
    """Instructions of one whole process running *text* with *tree*'s lazyhook, warm."""
    name = list(SCRIPTS)[index]
    run = OUT / "runs" / f"{tree.name}-{index}"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    (run / "s.py").write_text(text)
    env = child_env(PYTHONHASHSEED="0", PYTHONPATH=str(tree), LAZYHOOK_CACHE_DIR=str(run / "c"))
    for _ in range(2):  # the cold run fills the name cache; the second settles its refreshes
        subprocess.run([str(python), "s.py"], cwd=run, env=env, capture_output=True, check=False)
    out = run / "callgrind.out"
    argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", str(python), "s.py"]
    proc = subprocess.run(argv, cwd=run, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["(no output)"]
        raise UsageError(f"{name}: the process failed under valgrind: {tail[0]}")
    for line in proc.stderr.splitlines():
        if "Collected :" in line:
            return int(line.rsplit(":", 1)[1])
    raise UsageError(f"{name}: valgrind printed no instruction count")


def _compile(python: Path, tree: Path) -> None:
    proc = subprocess.run([str(python), "-m", "compileall", "-q", str(tree)],
                          env=child_env(), capture_output=True, text=True, check=False)  # fmt: skip
    if proc.returncode != 0:
        raise UsageError(f"could not byte-compile {tree}: {proc.stdout.strip()[-200:]}")


def measure(python: Path, versions: dict[str, str | None]) -> dict[str, dict[str, int]]:
    """{version label: {scenario: instructions}}."""
    counts: dict[str, dict[str, int]] = {}
    for label, rev in versions.items():
        tree = _tree(label, rev)
        _compile(python, tree)
        counts[label] = {
            name: _count(python, tree, i, text) for i, (name, text) in enumerate(SCRIPTS.items())
        }
    return counts


def table(counts: dict[str, dict[str, int]]) -> str:
    """The counts in M instructions, the excess over the bare start, and each change."""
    labels = list(counts)
    head = "| scenario | " + " | ".join(f"{x} (M)" for x in labels)
    head += " | excess over bare (M) |" + (" change |" if len(labels) == 2 else "")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    last = counts[labels[-1]]
    for name in SCRIPTS:
        cells = [f"{counts[x][name] / 1e6:.2f}" for x in labels]
        row = f"| {name} | " + " | ".join(cells)
        row += f" | {(last[name] - last['bare start']) / 1e6:+.2f} |"
        if len(labels) == 2:
            first = counts[labels[0]][name]
            row += f" {(last[name] - first) / first * 100:+.2f} % |"
        lines.append(row)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", metavar="REV", help="also count this git revision")
    parser.add_argument("--python", type=Path, default=VENV / "bin" / "python",
                        help="an interpreter with sympy (default: run.py's venv)")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        if shutil.which("valgrind") is None:
            raise UsageError("valgrind not found (apt-get install valgrind)")
        if not args.python.exists():
            raise UsageError(f"no interpreter at {args.python}: run benchmarks/run.py first")
        versions: dict[str, str | None] = {}
        if args.base:
            versions[f"base {args.base}"] = args.base
        versions["work tree"] = None
        counts = measure(args.python, versions)
    except UsageError as exc:
        print(f"instructions.py: {exc}", file=sys.stderr)
        return 2
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "instructions.json").write_text(json.dumps(counts, indent=2) + "\n")
    print(table(counts))
    return 0


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parent)
    sys.exit(main())
