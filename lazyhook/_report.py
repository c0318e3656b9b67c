"""What lazyhook did in this process: the data behind ``lazyhook.report()`` and the CLI's
``report`` command (which formats it)."""

from lazyhook import _state

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _site(site: "tuple[str, int] | None") -> "str | None":
    return None if site is None else f"{site[0]}:{site[1]}"


def collect() -> "dict[str, Any]":
    """Every lazy module so far: where it was imported, whether and where it was first used,
    how long its body took, how many lazy names were bound from it, and how its from-imports
    bound each name (``bound``: "stand-in", "exception class", "value" for a literal,
    "module stand-in", "real object", "at the statement" when the module ran there instead)."""
    rows: list[dict[str, Any]] = []
    for name, rep in _state.reports.items():
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
                "bound": dict(rep.bound),
            }
        )
    resolved = [r for r in rows if r["resolved"]]
    bound: dict[str, int] = {}
    for r in rows:
        for how, n in r["bound"].items():
            bound[how] = bound.get(how, 0) + n
    totals: dict[str, Any] = {
        "deferred": len(rows),
        "resolved": len(resolved),
        "never_executed": len(rows) - len(resolved),
        "lazy_names": sum(int(r["lazy_names"]) for r in rows),
        "exec_seconds": sum(float(r["seconds"]) for r in resolved),
        "bound": bound,
    }
    return {"modules": rows, "totals": totals}
