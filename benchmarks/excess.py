"""Issue 16's side-by-side figures: excess over the floor, peak RSS, file-system calls.

* **Floor**: the scenario's program with the imports its run does not use deleted (matrix
  approach ``floor``); where every import is used (3b, 4b) or there is none (1), the eager
  program is the floor.  No tool can go below it.
* **Excess**: a cell's median time minus its scenario's floor median, i.e. what the tool and
  the imports it could not avoid cost.  lazyhook's target: ≤ 0.8 × the best peer's excess.
* **Peak RSS**: each timed child's ``ru_maxrss`` (``os.wait4``), medians.
* **File-system calls** beside those recorded at ``FS_BASELINE_AT`` (strace, one run per cell).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import scenarios

Data = dict[str, Any]
EXCESS_LIMIT = 0.8
# Scenarios whose imports are all used on the run: nothing to defer, the floor is eager, and
# the comparison that matters is "first use ≤ 1.02 × eager" (targets.py).
ALL_USED = {"from_symbol_use", "star_use"}

# strace -f -c -e trace=%file, one run per cell, as recorded in RESULTS.md at 230f051
# (2026-11-27, before issue 16).  Scenarios 2a, 2b, 3a then had no ``later()`` function,
# which adds no file-system call.  5b, the floors and the PEP 810 shims were not measured.
FS_BASELINE_AT = "230f051"
FS_BARE_BASELINE = 136
FS_BASELINE: dict[str, dict[str, int]] = {
    "startup": {"eager": 151, "lazyloader": 234, "lazyloader_all": 234, "lazy_loader": 191,
                "sage": 905, "lazyhook": 183},
    "import_sympy": {"eager": 3936, "lazyloader": 242, "lazyloader_all": 242,
                     "lazy_loader": 254, "lazyhook": 198},
    "import_networkx": {"eager": 3042, "lazyloader": 242, "lazyloader_all": 242,
                        "lazy_loader": 254, "lazyhook": 198},
    "from_symbol": {"eager": 3936, "lazyloader": 3946, "lazyloader_all": 757,
                    "lazy_loader": 254, "sage": 905, "lazyhook": 237},
    "from_symbol_use": {"eager": 3936, "lazyloader": 3946, "lazyloader_all": 757,
                        "lazy_loader": 3958, "sage": 4208, "lazyhook": 4543},
    "star": {"eager": 3936, "lazyloader": 3946, "lazyloader_all": 757, "lazy_loader": 254,
             "sage": 966, "lazyhook": 237, "lazyhook_cold": 4617},
    "star_use": {"eager": 3936, "lazyloader": 3946, "lazyloader_all": 757,
                 "lazy_loader": 3958, "sage": 4269, "lazyhook": 4543},
    "cli_help": {"eager": 6639, "lazyloader": 460, "lazyloader_all": 431, "lazy_loader": 496,
                 "sage": 942, "lazyhook": 515},
}  # fmt: skip


def table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def cells(results: Data) -> dict[tuple[str, str], Data]:
    return {(c["scenario"], c["approach"]): c for c in results["matrix"]["cells"]}


def median(results: Data, scenario: str, approach: str) -> float | None:
    """A cell's median seconds, or None if it did not run or failed."""
    cell = cells(results).get((scenario, approach))
    if cell is None or cell["status"] != "ok":
        return None
    return float(cell["seconds"]["median"])


def floor(results: Data, scenario: str) -> float | None:
    """The scenario's floor: its program without unused imports (else the eager one)."""
    value = median(results, scenario, "floor")
    return value if value is not None else median(results, scenario, "eager")


def excess(results: Data, scenario: str, approach: str) -> float | None:
    value, base = median(results, scenario, approach), floor(results, scenario)
    return None if value is None or base is None else value - base


def best_peer(results: Data, scenario: str) -> tuple[str, float] | None:
    """The peer with the smallest excess in *scenario* (failed cells excluded)."""
    found = [(e, p) for p in scenarios.PEERS if (e := excess(results, scenario, p)) is not None]
    if not found:
        return None
    e, p = min(found)
    return p, e


def versus_peer(results: Data, scenario: str) -> tuple[float | None, bool | None]:
    """(lazyhook's excess / the best peer's, met?); (None, None) where not comparable.

    A peer at or below its floor (noise) leaves no ratio: met only if lazyhook is too.
    """
    peer, mine = best_peer(results, scenario), excess(results, scenario, "lazyhook")
    if peer is None or mine is None or scenario in ALL_USED:
        return None, None
    if peer[1] <= 0:
        return None, mine <= 0
    ratio = mine / peer[1]
    return ratio, ratio <= EXCESS_LIMIT


def excess_table(results: Data, approaches: list[str]) -> list[str]:
    titles = {a.key: a.title for a in scenarios.APPROACHES}
    shown = [a for a in approaches if a != "floor"]
    rows = []
    for sc in scenarios.SCENARIOS:
        base = floor(results, sc.key)
        row = [sc.title, "—" if base is None else f"{base * 1e3:.1f}"]
        row += [_excess_cell(results, sc.key, a) for a in shown]
        peer = best_peer(results, sc.key)
        ratio, met = versus_peer(results, sc.key)
        row.append("—" if peer is None else titles[peer[0]])
        if sc.key in ALL_USED:
            row += ["— (all imports used: see first use)", "—"]
        else:
            row.append("—" if ratio is None else f"{ratio:.2f}")
            row.append("—" if met is None else "yes" if met else "**no**")
        rows.append(row)
    head = ["scenario", "floor ms", *(titles[a] for a in shown)]
    return table(head + ["best peer", "lazyhook / best peer", f"≤ {EXCESS_LIMIT}"], rows)


def _excess_cell(results: Data, scenario: str, approach: str) -> str:
    cell = cells(results).get((scenario, approach))
    if cell is None:
        return ""
    if cell["status"] == "n/a":
        return "n/a"
    e = excess(results, scenario, approach)
    return "FAIL" if e is None else f"{e * 1e3:+.1f}"


def rss_table(results: Data, scenario: str = "import_sympy") -> list[str]:
    """Peak RSS of every approach in *scenario* beside a bare start's."""
    titles = {a.key: a.title for a in scenarios.APPROACHES}
    bare = results["matrix"]["bare"].get("max_rss_kib")
    if not bare:
        return ["Peak RSS not measured."]
    rows = [["bare `python -c pass`", *_rss(bare, bare["median"])]]
    for (sc, a), cell in cells(results).items():
        if sc == scenario and "max_rss_kib" in cell:
            label = titles[a] + (" (FAILS)" if cell["status"] == "fail" else "")
            rows.append([label, *_rss(cell["max_rss_kib"], bare["median"])])
    return table(["approach", "peak RSS MiB (median)", "min–max MiB", "× bare"], rows)


def _rss(s: Data, bare: float) -> list[str]:
    mib = 1024.0
    return [
        f"{s['median'] / mib:.1f}",
        f"{s['min'] / mib:.1f}–{s['max'] / mib:.1f}",
        f"{s['median'] / bare:.3f}×",
    ]


def rss_ratio(results: Data, scenario: str, approach: str) -> float | None:
    cell = cells(results).get((scenario, approach))
    bare = results["matrix"]["bare"].get("max_rss_kib")
    if cell is None or cell["status"] != "ok" or not bare or "max_rss_kib" not in cell:
        return None
    return float(cell["max_rss_kib"]["median"] / bare["median"])


def fs_text(scenario: str, approach: str, now: int | None) -> str:
    """A cell's file-system calls with the recorded figure beside it (and the change)."""
    if now is None:
        return "—"
    was = FS_BASELINE.get(scenario, {}).get(approach)
    if was is None:
        return str(now)
    return f"{now} ({was}{'' if now == was else f', {now - was:+d}'})"


def fs_worst(results: Data, approach: str = "lazyhook") -> tuple[float, str] | None:
    """The largest increase of *approach*'s fs calls over the baseline, and where."""
    found = []
    for sc in scenarios.SCENARIOS:
        cell = cells(results).get((sc.key, approach))
        was = FS_BASELINE.get(sc.key, {}).get(approach)
        if cell is not None and cell.get("fs_calls") is not None and was is not None:
            found.append((cell["fs_calls"] - was, sc.title.split(" ")[0].rstrip(".")))
    if not found:
        return None
    change, where = max(found)
    return float(change), where
