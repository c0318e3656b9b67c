"""Start-up of examples/cli_app.py with and without lazyhook, side by side.

    python examples/compare.py

Needs only the standard library: it makes lazyhook importable from this checkout (via
PYTHONPATH) for the runs it starts, byte-compiles it first (an uncompiled lazyhook would be
recompiled at every start), and alternates the two variants so machine noise hits both alike.
"""

import compileall
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
APP = os.path.join(HERE, "cli_app.py")
RUNS = int(os.environ.get("EXAMPLE_RUNS", "21"))


def run(lazy: bool, args: list[str]) -> tuple[float, str]:
    env = dict(
        os.environ, PYTHONPATH=ROOT, PYTHONDONTWRITEBYTECODE="", EXAMPLE_LAZY="1" if lazy else "0"
    )
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, APP, *args], env=env, capture_output=True, text=True, check=True
    )
    return time.perf_counter() - t0, out.stdout.strip()


def main() -> None:
    compileall.compile_dir(os.path.join(ROOT, "lazyhook"), quiet=1)
    for args in (["--help"], ["mail"]):
        run(False, args)  # warm the OS file cache and write bytecode for both variants
        run(True, args)
        eager, lazy = [], []
        for _ in range(RUNS):
            t, out_e = run(False, args)
            eager.append(t)
            t, out_l = run(True, args)
            lazy.append(t)
        assert out_e == out_l, (out_e, out_l)
        me, ml = statistics.median(eager), statistics.median(lazy)
        print(
            f"cli_app.py {' '.join(args):8}  eager {me * 1000:6.1f} ms   "
            f"lazyhook {ml * 1000:6.1f} ms   ({me / ml:.2f}x faster, median of {RUNS})"
        )
        print(f"  output (identical): {out_l}")


if __name__ == "__main__":
    main()
