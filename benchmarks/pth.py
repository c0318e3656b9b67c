"""Start-up with lazyhook enabled through its ``.pth`` file vs without (issues 6 and 16).

The benchmark venv gets ``python -m lazyhook enable`` for the timed "pth" runs only: the
``.pth`` file is put in place before each such run and removed before each bare run (untimed),
so they alternate in one loop.  Four jobs per round:

* bare (no ``.pth``), and the same bare job again (an A/A control: how far two identical jobs
  differ in this run, i.e. the noise);
* the ``.pth`` in place: lazyhook active (target ≤ 1.03 × bare);
* the ``.pth`` in place with ``LAZYHOOK_DISABLE=1``: the ``.pth`` must decide before importing
  anything, so a start costs what a bare start costs (target ≤ 1.00 × bare within noise:
  met when the 95 % bootstrap interval of the ratio of medians reaches down to 1.00).
"""

from __future__ import annotations

import random
import statistics
import subprocess
from pathlib import Path

from procs import Job, child_env, interleave, stats
from venv_setup import WORK

PTH = "_lazyhook.pth"
ENABLED_LIMIT = 1.03
RESAMPLES = 2000
PROBE = (
    "import sys; print(any(type(f).__name__ == 'LazyFinder' for f in sys.meta_path), "
    "'lazyhook' in sys.modules, len(sys.modules))"
)


def _site(python: Path) -> Path:
    out = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip())


def bootstrap(num: list[float], den: list[float], seed: int = 16) -> tuple[float, float]:
    """95 % interval of median(num) / median(den), resampling whole rounds (pairs)."""
    rng = random.Random(seed)
    n = len(num)
    ratios = []
    for _ in range(RESAMPLES):
        idx = rng.choices(range(n), k=n)
        ratios.append(
            statistics.median(num[i] for i in idx) / statistics.median(den[i] for i in idx)
        )
    ratios.sort()
    return ratios[int(0.025 * RESAMPLES)], ratios[int(0.975 * RESAMPLES) - 1]


def measure(python: Path, rounds: int) -> dict[str, object]:
    site = _site(python)
    pth = site / PTH
    env = child_env(LAZYHOOK_CACHE_DIR=str(WORK / "pth-cache"))
    subprocess.run([str(python), "-m", "lazyhook", "enable"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    line = pth.read_text()
    pth.unlink()

    def enabled() -> None:
        pth.write_text(line)

    def disabled() -> None:
        pth.unlink(missing_ok=True)

    argv, cwd = [str(python), "-c", PROBE], WORK
    jobs = {
        "bare": Job(argv, env, cwd, before=disabled),
        "pth": Job(argv, env, cwd, before=enabled),
        "bare_again": Job(argv, env, cwd, before=disabled),
        "pth_disabled": Job(argv, {**env, "LAZYHOOK_DISABLE": "1"}, cwd, before=enabled),
    }
    try:
        interleave(jobs.values(), rounds)
    finally:
        disabled()
    runs = [r for j in jobs.values() for r in j.runs]
    if not all(r.ok for r in runs):
        return {"error": next(r.error() for r in runs if not r.ok)}
    secs = {k: [r.seconds for r in j.runs] for k, j in jobs.items()}
    probe = {k: {tuple(r.stdout.split()) for r in j.runs} for k, j in jobs.items()}
    med = {k: statistics.median(v) for k, v in secs.items()}
    return {
        **{k: stats(v).as_dict() for k, v in secs.items()},
        "ratio": med["pth"] / med["bare"],
        "ratio_disabled": med["pth_disabled"] / med["bare"],
        "interval_disabled": bootstrap(secs["pth_disabled"], secs["bare"]),
        "ratio_aa": med["bare_again"] / med["bare"],
        "activated": all(p[0] == "True" for p in probe["pth"]),
        "disabled_inactive": all(p[:2] == ("False", "False") for p in probe["pth_disabled"]),
        "modules": {k: sorted({int(p[2]) for p in v}) for k, v in probe.items()},
        "rounds": rounds,
    }


def disabled_met(data: dict[str, object]) -> bool | None:
    """≤ 1.00 × bare within noise: the ratio's 95 % interval reaches down to 1.00."""
    interval = data.get("interval_disabled")
    if not isinstance(interval, (tuple, list)):
        return None
    return bool(interval[0] <= 1.0 and data.get("disabled_inactive"))


def markdown(data: dict[str, object]) -> list[str]:
    if "error" in data:
        return [f"`.pth` activation benchmark failed: {data['error']}"]
    labels = {
        "bare": "bare (no `.pth`)",
        "bare_again": "bare again (A/A control)",
        "pth": "lazyhook enabled by `.pth`",
        "pth_disabled": "`.pth` present, `LAZYHOOK_DISABLE=1`",
    }
    rows = []
    for key, label in labels.items():
        s = data[key]  # type: ignore[index]
        mods = ", ".join(map(str, data["modules"][key]))  # type: ignore[index]
        rows.append(
            f"| {label} | {s['median'] * 1e3:.1f} ms | {s['min'] * 1e3:.1f}–"
            f"{s['max'] * 1e3:.1f} ms | {s['median'] / data['bare']['median']:.3f}× | {mods} |"  # type: ignore[index]
        )
    low, high = data["interval_disabled"]  # type: ignore[misc]
    ratio = data["ratio"]
    met = "met" if ratio <= ENABLED_LIMIT else "missed"  # type: ignore[operator]
    met_off = "met" if disabled_met(data) else "missed"
    return [
        "| start | median | min–max | × bare | sys.modules |",
        "|---|---|---|---|---|",
        *rows,
        "",
        f"Enabled: ratio {ratio:.3f} (target ≤ {ENABLED_LIMIT}: {met}); finder active in every "
        f"`.pth` run: {data['activated']}. Disabled: ratio {data['ratio_disabled']:.3f}, 95 % "
        f"bootstrap interval {low:.3f}–{high:.3f} (target ≤ 1.00 within noise: {met_off}); "
        f"no finder and lazyhook not imported in every disabled run: "
        f"{data['disabled_inactive']}. A/A ratio {data['ratio_aa']:.3f}. "
        f"{data['rounds']} interleaved rounds.",
    ]
