"""Scenario 6: K interpreters started at once against one shared lazyhook name cache.

Each burst starts K copies of the star-import script together and times until the last one
exits.  Per round: a burst against an emptied (cold) cache, where every process executes sympy
and they all write the cache at exit; then a burst against that now-warm cache; then the same
burst for eager and for a bare start, for scale.  Checked: every process exits 0, no
LazyhookWarning, the cache holds sympy's entry afterwards, and warm processes do not execute
sympy (module counts from the scripts' exit hook).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

import scenarios
from procs import Run, child_env, stats
from venv_setup import WORK

DIR = WORK / "contention"
ENTRIES = (
    "import sys, lazyhook\n"
    "names = lazyhook.name_cache(sys.argv[1]).entries()\n"
    "print(len(names), 'sympy' in names)\n"
)


def burst(argv: list[str], env: Mapping[str, str], k: int) -> tuple[float, list[Run]]:
    """Start *k* copies of *argv* at once; seconds until all exited, and each one's result."""
    outs = [(DIR / f"{i}.out", DIR / f"{i}.err") for i in range(k)]
    files = [(o.open("w"), e.open("w")) for o, e in outs]
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(argv, stdout=fo, stderr=fe, env=dict(env), cwd=WORK) for fo, fe in files
    ]
    codes = [p.wait() for p in procs]
    seconds = time.perf_counter() - t0
    runs = []
    for (fo, fe), (o, e), code in zip(files, outs, codes, strict=True):
        fo.close()
        fe.close()
        runs.append(Run(seconds, code, o.read_text(), e.read_text()))
    return seconds, runs


def _cache_entries(python: Path, cache: Path) -> tuple[int, bool]:
    proc = subprocess.run(
        [str(python), "-c", ENTRIES, str(cache)], capture_output=True, text=True, env=child_env()
    )
    try:
        count, has = proc.stdout.split()
        return int(count), has == "True"
    except ValueError:
        return -1, False


def _summary(times: list[float], runs: list[Run]) -> dict[str, object]:
    executed = [m[1] for r in runs if (m := r.modules()) is not None]
    return {
        "seconds": stats(times).as_dict(),
        "failed_processes": sum(not r.ok for r in runs),
        "processes": len(runs),
        "warnings": sum(r.stderr.count("LazyhookWarning") for r in runs),
        "executed_modules_max": max(executed) if executed else None,
        "first_error": next((r.error() for r in runs if not r.ok), None),
    }


def measure(python: Path, rounds: int, k: int = 8) -> dict[str, object]:
    shutil.rmtree(DIR, ignore_errors=True)
    DIR.mkdir(parents=True)
    star = next(s for s in scenarios.SCENARIOS if s.key == "star")
    paths = {}
    for approach in ("lazyhook", "eager"):
        spec = scenarios.script(star, approach)
        assert spec is not None
        paths[approach] = DIR / f"star__{approach}.py"
        paths[approach].write_text(spec.text)
    cache = DIR / "cache"
    env = child_env(LAZYHOOK_CACHE_DIR=str(cache))
    kinds = ("cold", "warm", "eager", "bare")
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    runs: dict[str, list[Run]] = {kind: [] for kind in kinds}
    entries: list[tuple[int, bool]] = []
    argv = {
        "cold": [str(python), str(paths["lazyhook"])],
        "warm": [str(python), str(paths["lazyhook"])],
        "eager": [str(python), str(paths["eager"])],
        "bare": [str(python), "-c", "pass"],
    }
    for _ in range(rounds):
        shutil.rmtree(cache, ignore_errors=True)
        for kind in kinds:
            seconds, result = burst(argv[kind], env, k)
            times[kind].append(seconds)
            runs[kind].extend(result)
            if kind == "cold":
                entries.append(_cache_entries(python, cache))
    out: dict[str, object] = {"k": k, "rounds": rounds}
    for kind in kinds:
        out[kind] = _summary(times[kind], runs[kind])
    out["cache_after_cold"] = {
        "min_entries": min(e[0] for e in entries),
        "sympy_entry_every_round": all(e[1] for e in entries),
    }
    return out
