"""What lazyhook did in this process: the data behind ``lazyhook.report()`` and the CLI's
``report`` command (which formats it)."""

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _site(site: "tuple[str, int] | None") -> "str | None":
    return None if site is None else f"{site[0]}:{site[1]}"


def collect() -> "dict[str, Any]":
    """Every lazy module so far: where it was imported, whether and where it was first used,
    how long its body took, and how many lazy names were bound from it."""
    module = sys.modules.get("lazyhook._module")
    rows: list[dict[str, Any]] = []
    if module is not None:
        for name, rec in module.records.items():
            rows.append(
                {
                    "module": name,
                    "imported_at": _site(rec.site),
                    "resolved": rec.seconds is not None,
                    "used_at": _site(rec.used_at),
                    "seconds": rec.seconds,
                    "lazy_names": rec.names,
                    "resolved_names": rec.resolved_names,
                    "failures": rec.failed,
                }
            )
    resolved = [r for r in rows if r["resolved"]]
    totals = {
        "deferred": len(rows),
        "resolved": len(resolved),
        "never_executed": len(rows) - len(resolved),
        "lazy_names": sum(int(r["lazy_names"]) for r in rows),
        "exec_seconds": sum(float(r["seconds"]) for r in resolved),
    }
    return {"modules": rows, "totals": totals}
