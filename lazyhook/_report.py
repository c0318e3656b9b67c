"""What lazyhook did in this process: the data behind ``lazyhook.report()`` and the CLI's
``report`` command (which formats it)."""

from lazyhook import _execute

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _site(site: "tuple[str, int] | None") -> "str | None":
    return None if site is None else f"{site[0]}:{site[1]}"


def collect() -> "dict[str, Any]":
    """Every lazy module so far: where it was imported, whether and where it was first used,
    how long its body took, and how many lazy names were bound from it."""
    rows: list[dict[str, Any]] = []
    for name, rep in _execute.reports.items():
        rows.append(
            {
                "module": name,
                "imported_at": _site(rep.site),
                "resolved": rep.seconds is not None,
                "used_at": _site(rep.used_at),
                "seconds": rep.seconds,
                "lazy_names": rep.lazy_names,
                "resolved_names": rep.resolved_names,
                "failures": rep.failed,
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
