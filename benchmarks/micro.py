"""lazyhook's own targets (issues 2 and 4): costs measured inside fresh venv interpreters.

(a) ``import lazyhook; lazyhook.install()`` timed in-process, and the process ratio to a bare
start; (c) the finder's cost on imports it does not match; (d) attribute access on an executed
lazy module vs an eager one; (e) a warm ``from sympy import *``: the statement's in-process
time, calls to star-imported names from globals after first use vs eager, and the forwarding
cost of a lazy name that escaped before resolution.  (b) ``import sympy``, a warm
``from sympy import Symbol`` and (e)'s star import are also timed as whole ``python -c``
processes against ``python -c pass``.

Each child prints one line of numbers; everything here parses that line.
"""

from __future__ import annotations

import shutil
import statistics
from dataclasses import dataclass
from pathlib import Path

from procs import Job, Run, child_env, interleave, run_once, stats
from scenarios import LAZYLOADER_MAIN
from venv_setup import WORK

DIR = WORK / "micro"
MODS = DIR / "mods"
N_NOMATCH = 200

INSTALL = """\
import sys
import time

n0 = len(sys.modules)
t0 = time.perf_counter()
import lazyhook

lazyhook.install()
t1 = time.perf_counter()
print((t1 - t0) * 1e6, len(sys.modules) - n0)
"""

EMPTY = """\
import sys
import time

n0 = len(sys.modules)
t0 = time.perf_counter()
t1 = time.perf_counter()
print((t1 - t0) * 1e6, len(sys.modules) - n0)
"""

NOMATCH = """\
import sys
import time
from importlib.machinery import ModuleSpec

import lazyhook

PREFIX = {prefix!r}
sys.path.insert(0, {mods!r})


class MemoryLoader:
    create_module = staticmethod(lambda spec: None)
    exec_module = staticmethod(lambda module: None)


class MemoryFinder:
    \"\"\"Finds bm_mem_* without touching the file system (a quieter measurement).\"\"\"

    @staticmethod
    def find_spec(name, path=None, target=None):
        return ModuleSpec(name, MemoryLoader) if name.startswith("bm_mem_") else None


sys.meta_path.insert(0, MemoryFinder)
NAMES = [f"{{PREFIX}}{{i}}" for i in range({n})]


def one_pass() -> float:
    t0 = time.perf_counter()
    for name in NAMES:
        __import__(name)
    seconds = time.perf_counter() - t0
    for name in NAMES:
        del sys.modules[name]
    return seconds


def with_finder() -> float:
    lazyhook.install(include=["nomatch"])
    try:
        return one_pass()
    finally:
        lazyhook.uninstall()


one_pass()
with_finder()
on, off = [], []
for r in range({rounds}):
    if r % 2:
        on.append(with_finder())
        off.append(one_pass())
    else:
        off.append(one_pass())
        on.append(with_finder())
print(" ".join(f"{{a * 1e6:.3f}},{{b * 1e6:.3f}}" for a, b in zip(on, off)))
"""

ATTRIBUTE = """\
import sys
import timeit

sys.path.insert(0, {mods!r})
import bm_attr_eager

import lazyhook

lazyhook.install()
import bm_attr_lazy

was_lazy = lazyhook.is_lazy(bm_attr_lazy)
bm_attr_lazy.VALUE
assert not lazyhook.is_lazy(bm_attr_lazy)
out = []
for _ in range({rounds}):
    lz = timeit.timeit("m.VALUE", globals={{"m": bm_attr_lazy}}, number={number})
    eg = timeit.timeit("m.VALUE", globals={{"m": bm_attr_eager}}, number={number})
    out.append(f"{{lz / {number} * 1e9:.3f}},{{eg / {number} * 1e9:.3f}}")
print(was_lazy, type(bm_attr_lazy).__name__, " ".join(out))
"""

STAR_STATEMENT = """\
import time

import lazyhook

lazyhook.install()
t0 = time.perf_counter()
from sympy import *  # noqa: F403
t1 = time.perf_counter()
lazy = sum(type(v).__name__ == "LazyName" for v in list(globals().values()))
print((t1 - t0) * 1e6, lazy)


def later():  # a read: a star import nothing reads is for side effects, run at the statement
    return Symbol("x")  # noqa: F405
"""

STAR_CALLS = """\
import timeit

{activate}
from sympy import *  # noqa: F403

box = [igcd]  # noqa: F405 - escapes before resolution (a lazy name under lazyhook)
Symbol("x")  # noqa: F405 - first use: settles the names bound in globals
out = []
for _ in range({rounds}):
    g = timeit.timeit("igcd(12, 18)", globals=globals(), number={number})
    d = timeit.timeit("f(12, 18)", setup="f = igcd", globals=globals(), number={number})
    e = timeit.timeit("f(12, 18)", setup="f = box[0]", globals=globals(), number={number})
    out.append(f"{{g / {number} * 1e9:.3f}},{{d / {number} * 1e9:.3f}},{{e / {number} * 1e9:.3f}}")
print(type(igcd).__name__, type(box[0]).__name__, " ".join(out))  # noqa: F405
"""


# (a), (b), (e) as whole processes.  ``-c`` code, like the bare ``python -c pass`` it is
# compared with, so that no script file is read and compiled on either side of a ratio.
# lazyhook cannot see the rest of a ``-c`` program, so it counts its imports as read: they
# stay lazy (a script that never reads an imported name keeps that import eager, _reads.py).
# The warm runs are warm from the untimed run before timing, which fills the name cache.
INSTALL_C = "import lazyhook; lazyhook.install()"
# Each reads what it imports in a function it never calls, as the scenario scripts do: an
# import nothing reads is made for its side effects and stays eager, in `-c` code too.
LATER = "\ndef later():\n    return {}\n"
PROCESS_CODE = {
    "bare": "pass",
    "install": INSTALL_C,
    "sympy_lazyhook": INSTALL_C + "; import sympy" + LATER.format("sympy"),
    "sympy_lazyloader": "import sys\n"
    + LAZYLOADER_MAIN.replace("_bench_sys", "sys")
    + "import sympy"
    + LATER.format("sympy"),
    "symbol_lazyhook": INSTALL_C + "; from sympy import Symbol" + LATER.format("Symbol('x')"),
    "star_lazyhook": INSTALL_C + "; from sympy import *" + LATER.format("Symbol('x')"),
}


@dataclass(frozen=True)
class Sizes:
    process_rounds: int
    eager_rounds: int
    install_procs: int
    nomatch_procs: int
    nomatch_rounds: int
    attr_procs: int
    attr_rounds: int
    attr_number: int
    star_procs: int
    call_procs: int
    call_rounds: int
    call_number: int


FULL = Sizes(200, 40, 200, 5, 40, 3, 15, 1_000_000, 40, 4, 15, 200_000)
QUICK = Sizes(10, 3, 20, 1, 10, 1, 5, 200_000, 5, 1, 5, 50_000)


def _write(name: str, text: str) -> Path:
    path = DIR / name
    path.write_text(text)
    return path


def _tuples(field: str) -> list[tuple[float, ...]]:
    """Parse "a,b b,c ..." (one group per round) into tuples of floats."""
    return [tuple(float(x) for x in group.split(",")) for group in field.split()]


def _failure(run: Run) -> dict[str, object]:
    return {"error": run.error()}


def processes(python: Path, rounds: int, eager_rounds: int) -> dict[str, object]:
    """(a), (b), (e): whole ``python -c`` processes, interleaved, as ratios to ``-c pass``.

    Eager ``import sympy`` costs ~20 bare starts, so it runs fewer rounds, interleaved with
    its own bare runs.
    """
    cache = DIR / "cache-processes"
    env = child_env(LAZYHOOK_CACHE_DIR=str(cache))
    jobs = {k: Job([str(python), "-c", code], env, WORK) for k, code in PROCESS_CODE.items()}
    for job in jobs.values():
        run_once(job.argv, env, WORK)  # the star import's cold run; pyc and page cache
    interleave(jobs.values(), rounds)
    bare2 = Job([str(python), "-c", "pass"], env, WORK)
    eager = Job([str(python), "-c", "import sympy"], env, WORK)
    interleave([bare2, eager], eager_rounds)
    bad = next((r for j in (*jobs.values(), eager) for r in j.runs if not r.ok), None)
    if bad is not None:
        return _failure(bad)
    med = {k: stats(r.seconds for r in j.runs) for k, j in jobs.items()}
    out: dict[str, object] = {"rounds": rounds, "eager_rounds": eager_rounds}
    out["seconds"] = {k: v.as_dict() for k, v in med.items()}
    out["ratio"] = {k: v.median / med["bare"].median for k, v in med.items()}
    e = stats(r.seconds for r in eager.runs)
    b2 = stats(r.seconds for r in bare2.runs)
    out["eager_sympy"] = {
        "seconds": e.as_dict(),
        "bare": b2.as_dict(),
        "ratio": e.median / b2.median,
    }
    return out


def install_cost(python: Path, n: int) -> dict[str, object]:
    """(a): in-process µs of ``import lazyhook; lazyhook.install()``; process ratios."""
    env = child_env(LAZYHOOK_CACHE_DIR=str(DIR / "cache-install"))
    bare = Job([str(python), "-c", "pass"], env, WORK)
    empty = Job([str(python), str(_write("empty.py", EMPTY))], env, WORK)
    install = Job([str(python), str(_write("install.py", INSTALL))], env, WORK)
    for job in (bare, empty, install):
        run_once(job.argv, job.env, WORK)
    interleave([bare, empty, install], n)
    if not all(r.ok for r in install.runs):
        return _failure(next(r for r in install.runs if not r.ok))
    inproc = [float(r.stdout.split()[0]) for r in install.runs]
    b = stats(r.seconds for r in bare.runs)
    e = stats(r.seconds for r in empty.runs)
    i = stats(r.seconds for r in install.runs)
    return {
        "processes": n,
        "in_process_us": stats(inproc).as_dict(),
        "modules_added": int(install.runs[-1].stdout.split()[1]),
        "bare_s": b.as_dict(),
        "empty_script_s": e.as_dict(),
        "install_script_s": i.as_dict(),
        "ratio_vs_bare": i.median / b.median,
        "ratio_vs_empty_script": i.median / e.median,
    }


def _make_modules(python: Path) -> None:
    MODS.mkdir(parents=True, exist_ok=True)
    for i in range(N_NOMATCH):
        (MODS / f"bm_nomatch_{i}.py").write_text(f"VALUE = {i}\n")
    for name in ("bm_attr_lazy", "bm_attr_eager"):
        (MODS / f"{name}.py").write_text("VALUE = 1\n")
    run_once([str(python), "-m", "compileall", "-q", str(MODS)], child_env(), WORK)


def _finder_kind(python: Path, prefix: str, procs: int, rounds: int) -> dict[str, object]:
    text = NOMATCH.format(prefix=prefix, mods=str(MODS), n=N_NOMATCH, rounds=rounds)
    path = _write(f"nomatch_{prefix}.py", text)
    diffs: list[float] = []
    min_diffs: list[float] = []
    base: list[float] = []
    for _ in range(procs):
        run = run_once([str(python), str(path)], child_env(), WORK)
        if not run.ok:
            return _failure(run)
        passes = _tuples(run.stdout)
        diffs += [(on - off) / N_NOMATCH for on, off in passes]
        base += [off / N_NOMATCH for _, off in passes]
        best_on = min(on for on, _ in passes)
        best_off = min(off for _, off in passes)
        min_diffs.append((best_on - best_off) / N_NOMATCH)
    return {
        "passes": len(diffs),
        "processes": procs,
        "added_us_per_import": stats(diffs).as_dict(),
        "added_us_per_import_min_based": statistics.median(min_diffs),
        "plain_import_us": stats(base).as_dict(),
    }


def finder_cost(python: Path, procs: int, rounds: int) -> dict[str, object]:
    """(c): µs added per import the finder does not match (``install(include=['nomatch'])``).

    Two kinds of tiny modules: source files on disk (what real imports pay, noisier), and
    modules served by an in-memory finder placed after lazyhook's (no file system: the
    difference is the finder alone).  Passes with and without the finder alternate ABBA.
    """
    return {
        "imports_per_pass": N_NOMATCH,
        "files": _finder_kind(python, "bm_nomatch_", procs, rounds),
        "memory": _finder_kind(python, "bm_mem_", procs, rounds * 5),
    }


def attribute_cost(python: Path, procs: int, rounds: int, number: int) -> dict[str, object]:
    """(d): ns per ``m.VALUE`` on an executed lazy module vs an eagerly imported one."""
    text = ATTRIBUTE.format(mods=str(MODS), rounds=rounds, number=number)
    path = _write("attribute.py", text)
    env = child_env(LAZYHOOK_CACHE_DIR=str(DIR / "cache-attr"))
    lazy: list[float] = []
    eager: list[float] = []
    was_lazy = []
    cls = ""
    for _ in range(procs):
        run = run_once([str(python), str(path)], env, WORK)
        if not run.ok:
            return _failure(run)
        flag, cls, pairs = run.stdout.split(maxsplit=2)
        was_lazy.append(flag == "True")
        for lz, eg in _tuples(pairs):
            lazy.append(lz)
            eager.append(eg)
    return {
        "was_lazy": all(was_lazy),
        "class_after_use": cls,
        "lazy_ns": stats(lazy).as_dict(),
        "eager_ns": stats(eager).as_dict(),
        "ratio_of_medians": statistics.median(lazy) / statistics.median(eager),
        "ratio": min(lazy) / min(eager),
    }


def star_statement(python: Path, n: int) -> dict[str, object]:
    """(e): in-process µs of a warm ``from sympy import *`` (after one cold run)."""
    path = _write("star_statement.py", STAR_STATEMENT)
    cache = DIR / "cache-star"
    shutil.rmtree(cache, ignore_errors=True)
    env = child_env(LAZYHOOK_CACHE_DIR=str(cache))
    cold = run_once([str(python), str(path)], env, WORK)
    if not cold.ok:
        return _failure(cold)
    runs = [run_once([str(python), str(path)], env, WORK) for _ in range(n)]
    if not all(r.ok for r in runs):
        return _failure(next(r for r in runs if not r.ok))
    return {
        "processes": n,
        "cold_us": float(cold.stdout.split()[0]),
        "warm_us": stats(float(r.stdout.split()[0]) for r in runs).as_dict(),
        "lazy_names_bound": int(runs[-1].stdout.split()[1]),
    }


def star_calls(python: Path, procs: int, rounds: int, number: int) -> dict[str, object]:
    """(e): ``igcd(12, 18)`` from globals after first use, lazyhook vs eager; and through a
    lazy name that escaped into a list before resolution vs the real function, both called
    from a local variable (so the difference is the forwarding alone)."""
    cache = DIR / "cache-star"  # warmed by star_statement
    env = child_env(LAZYHOOK_CACHE_DIR=str(cache))
    fmt = {"rounds": rounds, "number": number}
    lh = _write("calls_lazyhook.py", STAR_CALLS.format(activate=LAZYHOOK_LINES, **fmt))
    eg = _write("calls_eager.py", STAR_CALLS.format(activate="", **fmt))
    jobs = {"lazyhook": Job([str(python), str(lh)], env, WORK)}
    jobs["eager"] = Job([str(python), str(eg)], env, WORK)
    run_once(jobs["lazyhook"].argv, env, WORK)  # fills the cache if star_statement did not
    interleave(jobs.values(), procs)
    out: dict[str, object] = {}
    for name, job in jobs.items():
        bad = next((r for r in job.runs if not r.ok), None)
        if bad is not None:
            return _failure(bad)
        cols: tuple[list[float], list[float], list[float]] = ([], [], [])
        for run in job.runs:
            g_type, f_type, groups = run.stdout.split(maxsplit=2)
            for group in _tuples(groups):
                for col, value in zip(cols, group, strict=True):
                    col.append(value)
        out[name] = {
            "global_type": g_type,
            "escaped_type": f_type,
            "global_ns": stats(cols[0]).as_dict(),
            "local_ns": stats(cols[1]).as_dict(),
            "escaped_ns": stats(cols[2]).as_dict(),
        }
    lh_d, eg_d = out["lazyhook"], out["eager"]
    assert isinstance(lh_d, dict) and isinstance(eg_d, dict)
    # Best of the repeats, as timeit's documentation advises: slower repeats are other
    # processes interfering (this machine is shared), not the code being slower.
    out["ratio_global"] = lh_d["global_ns"]["min"] / eg_d["global_ns"]["min"]
    out["ratio_global_of_medians"] = lh_d["global_ns"]["median"] / eg_d["global_ns"]["median"]
    out["escaped_overhead_ns"] = lh_d["escaped_ns"]["min"] - lh_d["local_ns"]["min"]
    return out


LAZYHOOK_LINES = "import lazyhook\n\nlazyhook.install()"


def measure(python: Path, quick: bool) -> dict[str, object]:
    sizes = QUICK if quick else FULL
    shutil.rmtree(DIR, ignore_errors=True)
    DIR.mkdir(parents=True)
    _make_modules(python)
    return {
        "processes": processes(python, sizes.process_rounds, sizes.eager_rounds),
        "install": install_cost(python, sizes.install_procs),
        "finder_nomatch": finder_cost(python, sizes.nomatch_procs, sizes.nomatch_rounds),
        "attribute": attribute_cost(python, sizes.attr_procs, sizes.attr_rounds, sizes.attr_number),
        "star_statement": star_statement(python, sizes.star_procs),
        "star_calls": star_calls(python, sizes.call_procs, sizes.call_rounds, sizes.call_number),
    }
