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
    cumulative: dict[str, int] = {}
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            _, cum, name = line[len("import time:") :].split("|")
            cumulative.setdefault(name.strip(), int(cum))
    never = {r["module"] for r in data["modules"] if not r["resolved"]}
    # Count each never-executed module once, excluding ones nested inside another counted one
    # (cumulative times already include their children).
    total = 0
    for name in never:
        parent_counted = any(name.startswith(other + ".") for other in never if other != name)
        if not parent_counted:
            total += cumulative.get(name, 0)
    return total / 1e6


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
