"""The benchmark suite, one command: ``python benchmarks/run.py`` (``--quick`` for a smoke run).

Sets up a fresh venv under ``benchmarks/.work/``, then measures scenarios 1-5 for every
approach (matrix.py), scenario 6 (contention.py) and lazyhook's own targets (micro.py), and
writes ``benchmarks/RESULTS.md`` and ``benchmarks/results.png`` (a quick run writes them under
``benchmarks/.work/quick/`` instead, leaving the recorded figures alone).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import contention
import matrix
import micro
import pth
import report
import scenarios
import venv_setup
from procs import child_env

BENCH_DIR = Path(__file__).resolve().parent
FULL_ROUNDS = 30
QUICK_ROUNDS = 3


def _say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def _python_version(python: Path) -> str:
    out = subprocess.run(
        [str(python), "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        env=child_env(),
    )
    return out.stdout.strip()


def _lazyhook_source() -> str:
    """The commit lazyhook was installed from, and whether its sources had local changes."""

    def git(*args: str) -> str:
        proc = subprocess.run(
            ["git", "-C", str(venv_setup.REPO), *args], capture_output=True, text=True
        )
        return proc.stdout.strip() if proc.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown commit"
    dirty = git("status", "--porcelain", "--", "lazyhook", "pyproject.toml")
    return commit + (" + uncommitted changes in lazyhook/" if dirty else "")


def _nproc() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _outputs(quick: bool) -> tuple[Path, Path]:
    if quick:
        out = venv_setup.WORK / "quick"
        out.mkdir(parents=True, exist_ok=True)
        return out / "RESULTS.md", out / "results.png"
    return BENCH_DIR / "RESULTS.md", BENCH_DIR / "results.png"


def _chart(python: Path, data: Path, png: Path) -> str:
    proc = subprocess.run(
        [str(python), str(BENCH_DIR / "chart.py"), str(data), str(png)],
        capture_output=True,
        text=True,
        env=child_env(PYTHONDONTWRITEBYTECODE="1"),  # no __pycache__ in benchmarks/
    )
    return "written" if proc.returncode == 0 else f"failed: {proc.stderr.strip()[-300:]}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run (few rounds)")
    parser.add_argument(
        "--reuse-venv",
        action="store_true",
        help="keep benchmarks/.work/venv's packages, only reinstall lazyhook",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    source = _lazyhook_source()
    command = "python benchmarks/run.py" + "".join(
        f" {a}" for a in (argv if argv is not None else sys.argv[1:])
    )
    _say("setting up the venv (log: benchmarks/.work/setup.log)")
    env = venv_setup.prepare(reuse=args.reuse_venv)
    optional = {"sage": env.sage, **{k: k in env.shims for k in venv_setup.SHIMS}}
    approaches = [a.key for a in scenarios.APPROACHES if optional.get(a.key, True)]
    rounds = QUICK_ROUNDS if args.quick else FULL_ROUNDS
    _say(f"scenarios 1-5: {len(approaches)} approaches, {rounds} interleaved rounds")
    results: dict[str, object] = {"approaches": approaches}
    results["matrix"] = matrix.measure(env.python, approaches, rounds, env.strace)
    _say("scenario 6: contention")
    results["contention"] = contention.measure(env.python, 1 if args.quick else 5)
    _say("lazyhook's own targets (micro)")
    results["micro"] = micro.measure(env.python, args.quick)
    _say(".pth activation overhead")
    results["pth"] = pth.measure(env.python, 10 if args.quick else 4 * FULL_ROUNDS)
    results["env"] = {
        "notes": env.notes,
        "versions": env.versions,
        "start_modules": env.start_modules,
        "pth_files": env.pth_files,
    }
    minutes, seconds = divmod(int(time.monotonic() - started), 60)
    results["meta"] = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command,
        "duration": f"{minutes} min {seconds} s",
        "machine": platform.machine(),
        "nproc": _nproc(),
        "platform": platform.platform(),
        "python": _python_version(env.python),
        "lazyhook_source": source,
    }
    md_path, png_path = _outputs(args.quick)
    data_path = venv_setup.WORK / ("results-quick.json" if args.quick else "results.json")
    data_path.write_text(json.dumps(results, indent=1))
    md_path.write_text(report.markdown(results, approaches))
    chart = _chart(env.python, data_path, png_path)
    print(report.stdout_text(results, approaches))
    print(f"\n{md_path} written; chart {png_path}: {chart}; took {minutes} min {seconds} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
