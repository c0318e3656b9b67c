"""lazyhook's targets (issues 2, 4, 6 and 16): each line's value read from the results and
compared with its limit here, so that RESULTS.md never carries a typed "met"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import excess
import pth
import scenarios

Data = dict[str, Any]
# A value, or a value and where it comes from (shown after it).
Value = float | tuple[float | None, str] | None


@dataclass(frozen=True)
class Target:
    label: str
    goal: str
    value: Callable[[Data], Value]
    unit: str
    limit: float | None  # None: reported, no target
    met: Callable[[Data], bool | None] | None = None  # a test other than value <= limit


def _get(section: str, path: str) -> Callable[[Data], Value]:
    def read(results: Data) -> Value:
        node: Any = results.get(section, {})
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return float(node)

    return read


def micro(path: str) -> Callable[[Data], Value]:
    return _get("micro", path)


def _over_eager(scenario: str, approach: str = "lazyhook") -> Callable[[Data], Value]:
    def read(results: Data) -> Value:
        mine, eager = (excess.median(results, scenario, a) for a in (approach, "eager"))
        return None if mine is None or eager is None else mine / eager

    return read


def _versus_peer(scenario: str) -> Callable[[Data], Value]:
    def read(results: Data) -> Value:
        ratio, _ = excess.versus_peer(results, scenario)
        peer = excess.best_peer(results, scenario)
        mine = excess.excess(results, scenario, "lazyhook")
        if peer is None or mine is None:
            return None
        titles = {a.key: a.title for a in scenarios.APPROACHES}
        where = f"lazyhook {mine * 1e3:+.1f} ms, {titles[peer[0]]} {peer[1] * 1e3:+.1f} ms"
        if ratio is None:
            return None, "no ratio: the best peer is at or below the floor; " + where
        return ratio, where

    return read


def _rss(results: Data) -> Value:
    return excess.rss_ratio(results, "import_sympy", "lazyhook")


def _fs(results: Data) -> Value:
    worst = excess.fs_worst(results)
    return None if worst is None else (worst[0], f"largest change, {worst[1]}")


def _pth_disabled(results: Data) -> Value:
    data = results.get("pth", {})
    if "ratio_disabled" not in data:
        return None
    low, high = data["interval_disabled"]
    return data["ratio_disabled"], f"95 % interval {low:.3f}–{high:.3f}"


def _excess_targets() -> list[Target]:
    return [
        Target(
            f"excess over the floor, lazyhook / best peer: {sc.title}",
            f"≤ {excess.EXCESS_LIMIT}×",
            _versus_peer(sc.key),
            "×",
            excess.EXCESS_LIMIT,
            lambda r, k=sc.key: excess.versus_peer(r, k)[1],
        )
        for sc in scenarios.SCENARIOS
        if sc.key not in excess.ALL_USED
    ]


TARGETS = (
    Target("`-c` start with lazyhook installed / bare start", "≤ 1.03×",
           micro("processes.ratio.install"), "×", 1.03),
    Target("`.pth` start (lazyhook enabled) / bare start", "≤ 1.03×",
           _get("pth", "ratio"), "×", 1.03),
    Target("`import lazyhook; install()` in-process", "≤ 0.3 ms",
           micro("install.in_process_us.median"), "µs", 300.0),
    Target("`-c 'import sympy'` process, lazyhook / bare (sympy read in a function the code "
           "never calls)", "≤ 1.05×", micro("processes.ratio.sympy_lazyhook"), "×", 1.05),
    Target("warm `-c 'from sympy import Symbol'` process, lazyhook / bare", "≤ 1.10×",
           micro("processes.ratio.symbol_lazyhook"), "×", 1.10),
    Target("warm `-c 'from sympy import *'` process, lazyhook / bare", "≤ 1.15×",
           micro("processes.ratio.star_lazyhook"), "×", 1.15),
    Target("warm `from sympy import *` statement, in-process", "≤ 1.0 ms",
           micro("star_statement.warm_us.median"), "µs", 1000.0),
    *_excess_targets(),
    Target("first use, 3b (`from sympy import Symbol` + `Symbol('x')`), lazyhook / eager",
           "≤ 1.02×", _over_eager("from_symbol_use"), "×", 1.02),
    Target("first use, 4b (`from sympy import *` + `Symbol('x')`), lazyhook / eager",
           "≤ 1.02×", _over_eager("star_use"), "×", 1.02),
    Target("cold-cache run, 4a, lazyhook (cold) / eager", "≤ 1.03×",
           _over_eager("star", "lazyhook_cold"), "×", 1.03),
    Target("`.pth` present with `LAZYHOOK_DISABLE=1` / bare start", "≤ 1.00× within noise",
           _pth_disabled, "×", None, lambda r: pth.disabled_met(r.get("pth", {}))),
    Target("peak RSS, 2a (`import sympy`, not used on this run), lazyhook / bare", "≤ 1.1×",
           _rss, "×", 1.1),
    Target(f"file-system calls, lazyhook (warm), every scenario vs {excess.FS_BASELINE_AT}",
           "no more", _fs, "calls", 0.0),
    Target("(c) finder cost per non-matching import (in-memory modules; best passes)",
           "≤ 1 µs", micro("finder_nomatch.memory.added_us_per_import_min_based"), "µs", 1.0),
    Target("(c) the same, tiny source files on disk (noisier)", "≤ 1 µs",
           micro("finder_nomatch.files.added_us_per_import_min_based"), "µs", 1.0),
    Target("(d) attribute read, executed lazy / eager module (best repeats)", "≤ 1.02×",
           micro("attribute.ratio"), "×", 1.02),
    Target("(e) star-imported call from globals after use, lazyhook / eager (best repeats)",
           "≤ 1.02×", micro("star_calls.ratio_global"), "×", 1.02),
    Target("(e) escaped lazy name: forwarding cost per call (best repeats)", "(reported)",
           micro("star_calls.escaped_overhead_ns"), "ns", None),
)  # fmt: skip


def _fmt(value: float, unit: str) -> str:
    if unit == "×":
        return f"{value:.3f}×"
    if unit == "calls":
        return f"{value:+.0f} calls"
    return f"{value:.2f} {unit}" if value < 10 else f"{value:.0f} {unit}"


def _met(t: Target, results: Data, value: float | None) -> str:
    if t.met is not None:
        ok = t.met(results)
    elif t.limit is None or value is None:
        return "—"
    else:
        ok = value <= t.limit
    return "—" if ok is None else "yes" if ok else "**no**"


def rows(results: Data) -> list[list[str]]:
    out = []
    for t in TARGETS:
        v = t.value(results)
        if v is None:
            out.append([t.label, t.goal, "not measured (failed or not comparable)", "**no**"])
            continue
        value, where = v if isinstance(v, tuple) else (v, "")
        if value is None:
            out.append([t.label, t.goal, where, _met(t, results, None)])
            continue
        text = _fmt(value, t.unit) + (f" ({where})" if where else "")
        out.append([t.label, t.goal, text, _met(t, results, value)])
    return out


def targets_table(results: Data) -> list[str]:
    return excess.table(["measure", "target", "measured", "met"], rows(results))
