"""``report``'s output: the table, and ``--compare``'s execution avoided (a cold eager run
timed with ``-X importtime``)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any, TextIO


def avoided(code: str, data: dict[str, Any]) -> float:
    """Execution time of the never-executed lazy modules, from a cold eager run of *code*
    (``run``'s ``-c`` bootstrap of the same program)."""
    env = dict(os.environ, LAZYHOOK_DISABLE="1")
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    never = {r["module"] for r in data["modules"] if not r["resolved"]}
    return avoided_us(proc.stderr.splitlines(), never) / 1e6


def avoided_us(importtime: list[str], never: set[str]) -> int:
    """The cumulative ``-X importtime`` microseconds of the modules *never* executed, each once:
    walking the eager import tree from the top, a never-executed module counts with all it
    imported, and what is nested in it is not counted again.

    By line, not by name: ``import slow.inner`` lists ``slow.inner`` twice, its real import
    nested in ``slow``'s body and, at the top, the statement's whole cost (``slow`` included).
    (Skipping every module whose *package* never ran counted ``email``'s own 0.4 ms for
    ``import email.mime.text``'s 34: a submodule is nested under its package in the tree only
    if the package's body imported it.)"""
    Node = tuple[str, int, list[Any]]
    pending: dict[int, list[Node]] = {}  # per depth: lines whose importer is not listed yet
    for line in importtime:  # "import time: self | cumulative | <2 spaces a level>name"
        if not line.startswith("import time:") or line.count("|") != 2 or "cumulative" in line:
            continue
        _, cum, field = line[len("import time:") :].split("|")
        depth = (len(field) - len(field.lstrip()) - 1) // 2
        # Lines come as imports finish: a module's own imports were listed just before it.
        node = (field.strip(), int(cum), pending.pop(depth + 1, []))
        pending.setdefault(depth, []).append(node)
    total, todo = 0, list(pending.get(0, ()))
    while todo:
        name, cumulative, children = todo.pop()
        if name in never:
            total += cumulative
        else:
            todo.extend(children)
    return total


def print_table(data: dict[str, Any], out: TextIO) -> None:
    rows = data["modules"]
    print(f"{'module':40} {'resolved':8} {'ms':>8} {'names':>5}  first use", file=out)
    for r in sorted(rows, key=lambda r: (not r["resolved"], r["module"])):
        ms = f"{r['seconds'] * 1000:.1f}" if r["seconds"] is not None else "-"
        print(
            f"{r['module'][:40]:40} {'yes' if r['resolved'] else 'no':8} {ms:>8} "
            f"{r['lazy_names']:>5}  {r['used_at'] or '-'}",
            file=out,
        )
    t = data["totals"]
    print(
        f"\n{t['deferred']} modules deferred, {t['resolved']} resolved, "
        f"{t['never_executed']} never executed; {t['lazy_names']} lazy names; "
        f"{t['exec_seconds'] * 1000:.1f} ms spent executing deferred modules",
        file=out,
    )
    if "avoided_seconds" in data:
        avoided = data["avoided_seconds"] * 1000
        print(f"execution avoided (cold eager run): {avoided:.1f} ms", file=out)
