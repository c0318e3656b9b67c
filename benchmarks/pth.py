"""Start-up with lazyhook enabled through its ``.pth`` file vs without (issue 6).

The benchmark venv gets ``python -m lazyhook enable`` for the timed "pth" runs only: the
``.pth`` file is put in place before each such run and removed before each bare run (untimed),
so the two alternate A B A B in one loop.  Target: within 5 % of a bare start.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from procs import Job, child_env, interleave, stats
from venv_setup import WORK

PTH = "_lazyhook.pth"


def _site(python: Path) -> Path:
    out = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip())


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

    probe = "import sys; print(any(type(f).__name__ == 'LazyFinder' for f in sys.meta_path))"
    cwd = WORK
    bare = Job([str(python), "-c", probe], env, cwd, before=disabled)
    with_pth = Job([str(python), "-c", probe], env, cwd, before=enabled)
    try:
        interleave([bare, with_pth], rounds)
    finally:
        disabled()
    if not all(r.ok for r in bare.runs + with_pth.runs):
        return {"error": next(r.error() for r in bare.runs + with_pth.runs if not r.ok)}
    active = {r.stdout.strip() for r in with_pth.runs}
    b, p = stats(r.seconds for r in bare.runs), stats(r.seconds for r in with_pth.runs)
    return {
        "bare": b.as_dict(),
        "pth": p.as_dict(),
        "ratio": p.median / b.median,
        "activated": active == {"True"},
        "rounds": rounds,
    }


def markdown(data: dict[str, object]) -> list[str]:
    if "error" in data:
        return [f"`.pth` activation benchmark failed: {data['error']}"]
    bare, pth = data["bare"], data["pth"]  # type: ignore[index]
    ratio = data["ratio"]
    met = "met" if ratio <= 1.05 else "missed"  # type: ignore[operator]
    return [
        "| start | median | min–max |",
        "|---|---|---|",
        f"| bare (`python -c ...`) | {bare['median'] * 1000:.1f} ms | "  # type: ignore[index]
        f"{bare['min'] * 1000:.1f}–{bare['max'] * 1000:.1f} ms |",  # type: ignore[index]
        f"| lazyhook enabled by `.pth` | {pth['median'] * 1000:.1f} ms | "  # type: ignore[index]
        f"{pth['min'] * 1000:.1f}–{pth['max'] * 1000:.1f} ms |",  # type: ignore[index]
        "",
        f"Ratio {ratio:.3f} (target ≤ 1.05: {met}); finder active in every `.pth` run: "
        f"{data['activated']}; {data['rounds']} interleaved rounds.",
    ]
