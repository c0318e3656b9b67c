"""Benchmark the on-disk store (lazyhook/_store.py) with a 10,000-entry cache.

Run: python benchmarks/bench_store.py [--entries N] [--names M]

Prints medians over many repetitions in one run, against the budgets:
open (load) <= 1 ms, per-entry get <= 20 us, merge-and-replace write <= 10 ms.
Each entry is a realistic name-cache value: a tuple of M (name, kind) pairs (default 20).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


from lazyhook import _atomic, _merge  # noqa: E402
from lazyhook import _store_write as S  # noqa: E402


def value(i: int, names: int) -> tuple[tuple[str, int], ...]:
    return tuple((f"name_{i}_{j}", j % 3) for j in range(names))


def median_of(fn: Callable[[], object], reps: int) -> float:
    """Median wall time of *fn* in seconds over *reps* calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--names", type=int, default=20, help="(name, kind) pairs per entry")
    args = parser.parse_args()
    n, m = args.entries, args.names

    tmp = tempfile.mkdtemp(prefix="bench_store.")
    path = os.path.join(tmp, "cache", "names.cache")
    keys = [f"pkg{i // 100}.sub{i % 100}.mod{i}" for i in range(n)]
    rows: list[tuple[str, float, str, str]] = []
    try:
        cold = []
        for _ in range(3):
            if os.path.exists(path):
                os.unlink(path)
            t0 = time.perf_counter()
            assert S.Store(path).write({k: value(i, m) for i, k in enumerate(keys)})
            cold.append(time.perf_counter() - t0)
        size = os.path.getsize(path)
        rows.append(("first write (all puts, new file)", statistics.median(cold), "ms", "-"))

        rows.append(("open: Store(path).load()", median_of(lambda: S.Store(path).load(), 300),
                     "ms", "<= 1 ms"))  # fmt: skip

        store = S.Store(path)
        store.load()
        rng = random.Random(1)
        sample = [rng.choice(keys) for _ in range(20_000)]
        per_get = []
        for key in sample:
            t0 = time.perf_counter()
            got = store.get(key)
            per_get.append(time.perf_counter() - t0)
            assert got is not None
        rows.append(("get one entry (crc + guard + loads)", statistics.median(per_get), "us",
                     "<= 20 us"))  # fmt: skip

        counter = iter(range(10**9))

        def small_write() -> None:
            i = next(counter) % n  # replace an existing entry: holes grow, compaction is rare
            assert S.Store(path).write({keys[i]: value(i + 1, m)}, touch=keys[:50])

        for fsync in (False, True):
            _atomic.FSYNC = fsync
            label = "with fsync" if fsync else "no fsync"
            rows.append((f"write 1 put + 50 touches ({label})", median_of(small_write, 60), "ms",
                         "<= 10 ms"))  # fmt: skip
            saved = _merge.SPLICE_MAX
            _merge.SPLICE_MAX = -1  # force the full rebuild (compaction / eviction path)
            rows.append((f"  same, full rebuild path ({label})", median_of(small_write, 30),
                         "ms", "-"))  # fmt: skip
            _merge.SPLICE_MAX = saved
        _atomic.FSYNC = False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    load = " / ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    print(f"lazyhook store benchmark: {n} entries x {m} names, file {size / 1e6:.1f} MB, "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load avg {load}")  # fmt: skip
    print(f"{'operation':<44} {'median':>10}   budget")
    for name, seconds, unit, budget in rows:
        scaled = seconds * (1e3 if unit == "ms" else 1e6)
        print(f"{name:<44} {scaled:>7.3f} {unit}   {budget}")


if __name__ == "__main__":
    main()
