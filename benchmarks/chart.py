"""The bar chart ``results.png``: time relative to a bare start, per scenario and approach.

Run by run.py with the benchmark venv's interpreter (matplotlib lives there, not in lazyhook's
dependencies): ``python chart.py RESULTS_JSON OUT_PNG``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import scenarios  # noqa: E402

COLORS = {
    "floor": "#000000",
    "eager": "#7f7f7f",
    "lazyloader": "#1f77b4",
    "lazyloader_all": "#aec7e8",
    "lazy_loader": "#2ca02c",
    "sage": "#9467bd",
    "lazy_importer": "#8c564b",
    "lazyload": "#e377c2",
    "lazyhook": "#d62728",
    "lazyhook_cold": "#ff9896",
}


def draw(results: dict[str, Any], out: Path) -> None:
    approaches: list[str] = results["approaches"]
    cells = {(c["scenario"], c["approach"]): c for c in results["matrix"]["cells"]}
    bare = results["matrix"]["bare"]["seconds"]["median"]
    titles = {a.key: a.title for a in scenarios.APPROACHES}
    fig, ax = plt.subplots(figsize=(17, 6.5))
    width = 0.8 / len(approaches)
    for j, approach in enumerate(approaches):
        labelled = False
        for i, sc in enumerate(scenarios.SCENARIOS):
            x = i + (j - (len(approaches) - 1) / 2) * width
            cell = cells.get((sc.key, approach))
            if cell is None:
                continue
            if cell["status"] == "n/a":
                ax.text(x, 1.0, "n/a", rotation=90, ha="center", va="bottom", fontsize=7)
                continue
            value = cell["seconds"]["median"] / bare
            failed = cell["status"] == "fail"
            ax.bar(
                x,
                value,
                width,
                color="white" if failed else COLORS[approach],
                edgecolor=COLORS[approach],
                hatch="xx" if failed else None,
                label=None if labelled else titles[approach],
            )
            labelled = True
            label = "fail" if failed else f"{value:.2f}" if value < 10 else f"{value:.0f}"
            ax.text(x, value * 1.04, label, rotation=90, ha="center", va="bottom", fontsize=7)
    ax.set_yscale("log")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(scenarios.SCENARIOS)))
    ax.set_xticklabels([sc.title for sc in scenarios.SCENARIOS], rotation=15, fontsize=8)
    ax.set_ylabel("process wall time / bare `python -c pass` (log)")
    meta = results["meta"]
    ax.set_title(
        f"Start-up by scenario (median of {results['matrix']['rounds']} interleaved runs; "
        f"bare = {bare * 1e3:.1f} ms; {meta['date']}; hatched = failed)"
    )
    ax.legend(fontsize=8, ncols=4, loc="upper left")
    ax.set_ylim(0.5, max(60.0, ax.get_ylim()[1] * 1.5))
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    draw(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))
