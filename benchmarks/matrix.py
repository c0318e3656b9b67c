"""Scenarios 1-5: every approach x scenario as whole processes, interleaved with a bare start.

For each cell: one untimed preparation (the cold run that fills lazyhook's name cache, Sage's
learning run), then *rounds* timed runs interleaved with every other cell and with a bare
``python -c pass``, each also giving the child's peak RSS; then the module counts printed by
the child's exit hook and one ``strace -c`` run counting file-system calls.  The "floor"
approach is the scenario's program with the imports its run does not use deleted.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import scenarios
from procs import (
    Job,
    Run,
    child_env,
    interleave,
    peak_rss_kib,
    run_once,
    stats,
    strace_file_calls,
)
from venv_setup import WORK

SCRIPTS = WORK / "scripts"
CACHES = WORK / "cache"
DOT_SAGE = WORK / "dot_sage"
BARE_MODULES = "import sys; print(len(sys.modules))"
RSS_SCENARIO = "import_sympy"  # peak RSS: scenario 2a, every approach, and the bare start


@dataclass
class Cell:
    scenario: str
    approach: str
    note: str
    job: Job | None = None  # None: the approach cannot express the scenario
    prepared: Run | None = None
    modules: tuple[int, int] | None = None
    fs_calls: int | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def status(self) -> str:
        if self.job is None:
            return "n/a"
        return "ok" if self.job.runs and all(r.ok for r in self.job.runs) else "fail"

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "scenario": self.scenario,
            "approach": self.approach,
            "note": self.note,
            "status": self.status,
        }
        if self.job is not None and self.job.runs:
            out["seconds"] = stats(r.seconds for r in self.job.runs).as_dict()
            failed = [r for r in self.job.runs if not r.ok]
            if failed:
                out["error"] = failed[0].error()
            out["modules"] = self.modules
            out["fs_calls"] = self.fs_calls
        out.update(self.extra)
        return out


def _cell(sc: scenarios.Scenario, approach: str, python: Path) -> Cell:
    spec = scenarios.script(sc, approach)
    if spec is None:
        return Cell(sc.key, approach, "cannot express: lazy_import binds names, not modules")
    path = SCRIPTS / f"{sc.key}__{approach}.py"
    path.write_text(spec.text)
    cache = CACHES / (f"{sc.key}-cold" if spec.cold else sc.key)
    env = child_env(LAZYHOOK_CACHE_DIR=str(cache), DOT_SAGE=str(DOT_SAGE))
    before = (lambda: shutil.rmtree(cache, ignore_errors=True)) if spec.cold else None
    job = Job([str(python), str(path), *sc.args], env, WORK, before)
    cell = Cell(sc.key, approach, spec.note, job)
    if spec.prepare:
        prep = SCRIPTS / f"{sc.key}__{approach}__prepare.py"
        prep.write_text(spec.prepare)
        run_once([str(python), str(prep)], env, WORK)
    if before is not None:
        before()
    cell.prepared = run_once(job.argv, env, WORK)  # lazyhook: the cold run that learns
    if approach == "lazyhook":
        cell.extra["cold_first_run_seconds"] = cell.prepared.seconds
    return cell


def build(python: Path, approaches: list[str]) -> tuple[Job, list[Cell]]:
    """Write every script and prepare every cell; return the bare job and the cells."""
    for d in (SCRIPTS, CACHES, DOT_SAGE):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    bare = Job([str(python), "-c", "pass"], child_env(), WORK)
    run_once(bare.argv, bare.env, WORK)
    cells = [
        _cell(sc, a, python)
        for sc in scenarios.SCENARIOS
        for a in approaches
        if scenarios.applies(sc, a)
    ]
    return bare, cells


def _peak_rss(bare: Job, cells: list[Cell], rounds: int) -> dict[str, object]:
    """Peak RSS of the bare start and of every cell of RSS_SCENARIO, interleaved untimed runs
    (through a small launcher: see ``procs.peak_rss_kib``); medians go into ``cell.extra``."""
    jobs = {"bare": bare}
    jobs.update({c.approach: c.job for c in cells if c.scenario == RSS_SCENARIO and c.job})
    found: dict[str, list[int]] = {k: [] for k in jobs}
    for _ in range(rounds):
        for key, job in jobs.items():
            value = peak_rss_kib(job.argv, job.env, WORK)
            if value is not None:
                found[key].append(value)
    out = {k: stats(v).as_dict() for k, v in found.items() if v}
    for cell in cells:
        if cell.scenario == RSS_SCENARIO and cell.approach in out:
            cell.extra["max_rss_kib"] = out[cell.approach]
    return out


def measure(python: Path, approaches: list[str], rounds: int, strace: bool) -> dict[str, object]:
    """Run the whole matrix; return plain data for the report."""
    bare, cells = build(python, approaches)
    jobs = [c.job for c in cells if c.job is not None]
    half = len(jobs) // 2
    # The bare start twice per round, so that every ratio's denominator is well sampled.
    interleave([bare, *jobs[:half], bare, *jobs[half:]], rounds)
    for cell in cells:
        if cell.job is None:
            continue
        last = cell.job.runs[-1]
        cell.modules = last.modules()
        if strace:
            if cell.job.before is not None:
                cell.job.before()
            cell.fs_calls = strace_file_calls(cell.job.argv, cell.job.env, WORK)
    rss = _peak_rss(bare, cells, rounds)
    bare_modules = run_once([str(python), "-c", BARE_MODULES], child_env(), WORK)
    return {
        "rounds": rounds,
        "bare": {
            "seconds": stats(r.seconds for r in bare.runs).as_dict(),
            "max_rss_kib": rss.get("bare"),
            "modules": int(bare_modules.stdout.strip() or 0),
            "fs_calls": strace_file_calls(bare.argv, bare.env, WORK) if strace else None,
        },
        "cells": [c.as_dict() for c in cells],
    }
