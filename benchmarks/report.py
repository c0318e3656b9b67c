"""Turning the results into ``RESULTS.md`` and the tables printed on stdout."""

from __future__ import annotations

from typing import Any

import excess
import pth
import scenarios
from excess import table as _table
from targets import targets_table

Data = dict[str, Any]


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f}"


def _cells(results: Data) -> dict[tuple[str, str], Data]:
    return {(c["scenario"], c["approach"]): c for c in results["matrix"]["cells"]}


def ratio(results: Data, scenario: str, approach: str) -> float | None:
    """Median process time of a cell over the median bare start (None if not ok)."""
    cell = _cells(results).get((scenario, approach))
    if cell is None or cell["status"] != "ok":
        return None
    return float(cell["seconds"]["median"] / results["matrix"]["bare"]["seconds"]["median"])


def _summary_cell(cell: Data | None, bare: float) -> str:
    if cell is None:
        return ""
    if cell["status"] == "n/a":
        return "n/a"
    med = cell["seconds"]["median"]
    if cell["status"] == "fail":
        return f"FAIL ({_ms(med)} ms)"
    return f"{med / bare:.2f}× ({_ms(med)} ms)"


def summary_table(results: Data, approaches: list[str]) -> list[str]:
    """Rows: scenarios; columns: approaches; cells: median / bare (median ms)."""
    cells = _cells(results)
    bare = results["matrix"]["bare"]["seconds"]["median"]
    titles = {a.key: a.title for a in scenarios.APPROACHES}
    rows = []
    for sc in scenarios.SCENARIOS:
        row = [sc.title]
        row += [_summary_cell(cells.get((sc.key, a)), bare) for a in approaches]
        rows.append(row)
    return _table(["scenario", *(titles[a] for a in approaches)], rows)


def _detail_row(cell: Data, bare: float, script: float, titles: dict[str, str]) -> list[str]:
    title = titles[cell["approach"]]
    if cell["status"] == "n/a":
        return [title, "—", "—", "—", "—", "—", "—", cell["note"]]
    s = cell["seconds"]
    mods = cell.get("modules")
    mods_text = f"{mods[0]} ({mods[1]} executed)" if mods else "?"
    fs = cell.get("fs_calls")
    what = cell["note"]
    if cell["status"] == "fail":
        what = f"**FAILS**: `{cell.get('error', '')}`" + (f"; {what}" if what else "")
    cold = cell.get("cold_first_run_seconds")
    if cold is not None:
        what += f"; the cold run took {_ms(cold)} ms"
    return [
        title,
        _ms(s["median"]),
        f"{_ms(s['min'])}–{_ms(s['max'])}",
        f"{s['median'] / bare:.2f}×",
        f"{s['median'] / script:.2f}×",
        mods_text,
        excess.fs_text(cell["scenario"], cell["approach"], fs),
        what,
    ]


def detail_tables(results: Data) -> list[str]:
    cells = _cells(results)
    m = results["matrix"]
    bare = m["bare"]["seconds"]["median"]
    titles = {a.key: a.title for a in scenarios.APPROACHES}
    b = m["bare"]
    bs = b["seconds"]
    fs = "—" if b["fs_calls"] is None else str(b["fs_calls"])
    head = [
        "approach",
        "median ms",
        "min–max ms",
        "× bare",
        "× empty script",
        "sys.modules",
        f"fs calls ({excess.FS_BASELINE_AT})",
        "notes",
    ]
    script = cells[("startup", "eager")]["seconds"]["median"]
    out = [
        f"Bare `python -c pass`: median {_ms(bs['median'])} ms "
        f"({_ms(bs['min'])}–{_ms(bs['max'])}, n={bs['n']}), {b['modules']} modules, "
        f"{fs} file-system calls ({excess.FS_BARE_BASELINE} at {excess.FS_BASELINE_AT}). "
        "Empty script (scenario 1, eager: the exit hook only, "
        f"as in every script): median {_ms(script)} ms. `× empty script` separates what a tool "
        "costs from what running any script file costs. fs calls: this run's, then in "
        f"brackets those recorded at {excess.FS_BASELINE_AT} and the change. The floor: the "
        "same program with the imports this run does not use deleted.",
        "",
    ]
    for sc in scenarios.SCENARIOS:
        rows = [_detail_row(c, bare, script, titles) for (k, _), c in cells.items() if k == sc.key]
        out += [f"### {sc.title}", "", *_table(head, rows), ""]
    return out


def contention_table(c: Data) -> list[str]:
    labels = {
        "cold": "lazyhook, cold shared cache",
        "warm": "lazyhook, warm shared cache",
        "eager": "eager (for scale)",
        "bare": "bare `python -c pass` (for scale)",
    }
    rows = []
    for kind, label in labels.items():
        d = c[kind]
        s = d["seconds"]
        err = f"; first error: `{d['first_error']}`" if d["first_error"] else ""
        rows.append(
            [
                label,
                _ms(s["median"]),
                f"{_ms(s['min'])}–{_ms(s['max'])}",
                f"{d['failed_processes']}/{d['processes']}",
                str(d["warnings"]),
                str(d["executed_modules_max"]),
                err.lstrip("; "),
            ]
        )
    head = [
        f"K={c['k']} at once",
        "all done, median ms",
        "min–max ms",
        "failed",
        "warnings",
        "max executed modules",
        "notes",
    ]
    after = c["cache_after_cold"]
    return [
        *_table(head, rows),
        "",
        f"After each cold burst the cache held ≥ {after['min_entries']} entries; sympy's entry "
        f"present every round: {after['sympy_entry_every_round']}.",
    ]


def peers_b(results: Data) -> str:
    """(b)'s comparison line: ``python -c 'import sympy'`` per approach over bare."""
    p = results["micro"].get("processes", {})
    if "ratio" not in p:
        return "(b) not measured: the process section failed."
    r = p["ratio"]
    return (
        f"(b) `python -c` with `import sympy` (unused), over `python -c pass`: eager "
        f"{p['eager_sympy']['ratio']:.2f}×, LazyLoader {r['sympy_lazyloader']:.3f}×, lazyhook "
        f"{r['sympy_lazyhook']:.3f}× (lazyhook installed, nothing imported: "
        f"{r['install']:.3f}×; warm `from sympy import Symbol` {r['symbol_lazyhook']:.3f}×; "
        f"warm star import {r['star_lazyhook']:.3f}×). "
        f"{p['rounds']} interleaved rounds (eager: {p['eager_rounds']}); bare median "
        f"{_ms(p['seconds']['bare']['median'])} ms."
    )


def micro_failures(results: Data) -> list[str]:
    out = []
    for key, value in results["micro"].items():
        parts = [(key, value)] + [(f"{key}.{k}", v) for k, v in value.items()]
        out += [f"- `{name}` failed: `{v['error']}`" for name, v in parts if _failed(v)]
    return out


def _failed(value: object) -> bool:
    return isinstance(value, dict) and "error" in value


def _meta(results: Data) -> list[str]:
    meta, env = results["meta"], results["env"]
    lines = [
        f"- Date: {meta['date']}; command: `{meta['command']}`; wall time {meta['duration']}",
        f"- Machine: `uname -m` = {meta['machine']}, nproc = {meta['nproc']}, {meta['platform']}",
        f"- lazyhook measured: repository at {meta['lazyhook_source']}",
        f"- Python {meta['python']} (fresh venv `benchmarks/.work/venv`: "
        f"{env['start_modules']} modules at start; .pth files: "
        f"{', '.join(env['pth_files']) or 'none'})",
        f"- Timed runs per cell: {results['matrix']['rounds']} (interleaved A B C A B C ...; "
        "the bare start twice per round); medians, min–max",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()),
    ]
    lines += [f"- {k}: {v}" for k, v in env["notes"].items()]
    return lines


def markdown(results: Data, approaches: list[str]) -> str:
    micro = results["micro"]
    lines = [
        "# Benchmark results",
        "",
        "Generated by `benchmarks/run.py`; see `benchmarks/README.md` for what each figure "
        "means. Times are whole-process wall times unless stated otherwise.",
        "",
        *_meta(results),
        "",
        "## Time relative to a bare start (median), scenarios 1–5",
        "",
        *summary_table(results, approaches),
        "",
        "![time relative to bare start](results.png)",
        "",
        *_issue16_sections(results, approaches),
        "## Per scenario",
        "",
        "`sys.modules`: entries at exit, and how many of them executed (not lazy). "
        "fs calls: `strace -f -c -e trace=%file`, one run.",
        "",
        *detail_tables(results),
        "## Scenario 6: cache contention (lazyhook)",
        "",
        *contention_table(results["contention"]),
        "",
        "## lazyhook's targets (issues 2, 4, 6 and 16)",
        "",
        "Every line computed from this run's figures.",
        "",
        *targets_table(results),
        "",
        peers_b(results),
        "",
        *_micro_details(micro),
        *micro_failures(results),
        "",
        "## Start-up with lazyhook's `.pth` file, enabled and disabled (issues 6 and 16)",
        "",
        *pth.markdown(results.get("pth", {"error": "not measured"})),
        "",
    ]
    return "\n".join(lines)


def _issue16_sections(results: Data, approaches: list[str]) -> list[str]:
    return [
        "## Excess over the floor (issue 16)",
        "",
        "ms over the floor (the same program with the imports its run does not use deleted: "
        "for 2a–4a the exit hook and the never-called `later()`, for the CLIs `argparse` "
        "alone; for 1, 3b and 4b the eager program), medians. lazyhook's target: ≤ "
        f"{excess.EXCESS_LIMIT} × the best peer's excess. Peers: every approach but the floor, "
        "eager and lazyhook; failed cells excluded, rewritten forms included.",
        "",
        *excess.excess_table(results, approaches),
        "",
        "## Peak RSS, scenario 2a (issue 16)",
        "",
        "`ru_maxrss` (`os.wait4`) of each child, started by a small launcher (`python -S -I`, "
        "~8 MiB, smaller than any child) rather than by the benchmark runner, whose own RSS "
        "Linux would carry into the child's; untimed runs, as many as the timed rounds, "
        "interleaved; medians. 2a reads `sympy` only in a function this run does not call.",
        "",
        *excess.rss_table(results),
        "",
    ]


def _micro_details(micro: Data) -> list[str]:
    out = []
    i = micro.get("install", {})
    if "in_process_us" in i:
        s = i["in_process_us"]
        out.append(
            f"- (a) {i['processes']} processes: in-process {s['median']:.0f} µs "
            f"(min {s['min']:.0f}, max {s['max']:.0f}), {i['modules_added']} modules added; "
            f"as scripts (process medians): bare `-c pass` {_ms(i['bare_s']['median'])} ms, "
            f"timing script without lazyhook {_ms(i['empty_script_s']['median'])} ms, with "
            f"{_ms(i['install_script_s']['median'])} ms "
            f"(= {i['ratio_vs_empty_script']:.3f}×)."
        )
    f = micro.get("finder_nomatch", {})
    for kind, what in (("memory", "in-memory modules"), ("files", "source files")):
        k = f.get(kind, {})
        if "added_us_per_import" in k:
            out.append(
                f"- (c) {what}: {k['passes']} passes of {f['imports_per_pass']} imports; a "
                f"plain import costs {k['plain_import_us']['median']:.1f} µs; the finder adds "
                f"{k['added_us_per_import_min_based']:.2f} µs (best pass with minus best pass "
                f"without, median over {k['processes']} processes); median of the paired "
                f"per-pass differences {k['added_us_per_import']['median']:.2f} µs "
                f"(min {k['added_us_per_import']['min']:.2f}, "
                f"max {k['added_us_per_import']['max']:.2f})."
            )
    a = micro.get("attribute", {})
    if "ratio" in a:
        out.append(
            f"- (d) lazy module was lazy: {a['was_lazy']}, class after use "
            f"`{a['class_after_use']}`; per `m.VALUE`: best {a['lazy_ns']['min']:.2f} ns vs "
            f"{a['eager_ns']['min']:.2f} ns, medians {a['lazy_ns']['median']:.2f} vs "
            f"{a['eager_ns']['median']:.2f} ns (ratio of medians "
            f"{a['ratio_of_medians']:.3f})."
        )
    s = micro.get("star_statement", {})
    if "warm_us" in s:
        out.append(
            f"- (e) warm statement over {s['processes']} processes: "
            f"{s['warm_us']['median']:.0f} µs (min {s['warm_us']['min']:.0f}), "
            f"{s['lazy_names_bound']} lazy names bound; the cold statement took "
            f"{s['cold_us'] / 1e3:.0f} ms."
        )
    c = micro.get("star_calls", {})
    if "ratio_global" in c:
        lh, eg = c["lazyhook"], c["eager"]
        out.append(
            f"- (e) `igcd(12, 18)`, best of repeats (medians in brackets): from globals "
            f"{lh['global_ns']['min']:.1f} ns [{lh['global_ns']['median']:.1f}] "
            f"(`{lh['global_type']}`) vs eager {eg['global_ns']['min']:.1f} ns "
            f"[{eg['global_ns']['median']:.1f}]; from a local: real function "
            f"{lh['local_ns']['min']:.1f} ns [{lh['local_ns']['median']:.1f}], escaped "
            f"`{lh['escaped_type']}` {lh['escaped_ns']['min']:.1f} ns "
            f"[{lh['escaped_ns']['median']:.1f}]."
        )
    return out


def stdout_text(results: Data, approaches: list[str]) -> str:
    lines = [
        "Time relative to a bare start (median):",
        *summary_table(results, approaches),
        "",
        "Contention (K interpreters, one cache):",
        *contention_table(results["contention"]),
        "",
        "Excess over the floor (ms):",
        *excess.excess_table(results, approaches),
        "",
        "Peak RSS, 2a:",
        *excess.rss_table(results),
        "",
        "lazyhook targets:",
        *targets_table(results),
        peers_b(results),
    ]
    return "\n".join(lines)
