"""Stress tier (issue 5): many interpreters at once against one shared name cache.

Run: ``python3 -m pytest -m stress -n auto tests/test_stress.py -rA`` (counts print with
``-s``/``-rA``); CONTRIBUTING.md ("Stress and soak") says what each test proves and how to
soak longer.  Every
test has a positive control or a "did it exercise the path" assertion, so none can pass
vacuously.  Multi-process claims use real processes (``stress_helpers``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import stress_helpers as H

pytestmark = pytest.mark.stress


@pytest.fixture(scope="session")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's shared directory (common to all xdist workers); ``cache/`` inside it is
    the one name-cache directory the load tests (1, 2, 5, 6) all hammer at once."""
    return H.shared_dir(tmp_path_factory.getbasetemp())


# ------------------------------------------------------------------ 1 + 2: the load harness


def _distinct_filesystems(cache_dir: Path) -> Path:
    """The naive writer's temp directory on another file system, or fail (never skip)."""
    shm = Path("/dev/shm")
    if not shm.is_dir():
        pytest.fail(
            "positive control impossible: no /dev/shm here, and the naive writer needs a temp "
            "directory on a different file system than the cache (a cross-device shutil.move "
            "is a copy, which is what tears reads)"
        )
    devs = {os.stat(shm).st_dev, os.stat(cache_dir).st_dev}
    if len(devs) != 2:
        pytest.fail(
            f"positive control impossible: /dev/shm and {cache_dir} are on ONE file system "
            f"(st_dev {devs}); the naive writer's shutil.move would be an atomic rename and "
            "could not tear reads. Run the stress tier where /dev/shm is a separate tmpfs."
        )
    return shm


def _bound_version(bound: list[str]) -> int:
    marks = [n for n in bound if n.startswith("V_")]
    assert len(marks) == 1, f"expected exactly one V_<version> name, got {marks}"
    return int(marks[0][2:])


@pytest.mark.parametrize("kind", ["naive", "lazyhook"])
def test_load_harness(kind: str, shared: Path, tmp_path: Path) -> None:
    """1 (naive, positive control) and 2 (lazyhook): the same harness and load, two stores.

    One editor keeps rewriting/touching a star-imported submodule (so the package's entry
    keeps going stale and being rewritten), two readers read the cache file in tight loops,
    and ``concurrency`` application interpreters start back to back for the whole duration.
    """
    cache = shared / "cache"
    shm = _distinct_filesystems(cache) if kind == "naive" else None
    src = tmp_path / "src"
    H.write_tree(src, H.heavy_sources(0))
    load = H.Load(seconds=H.seconds(), concurrency=H.scaled(4, 2))
    res = H.run_harness(kind, load, src=src, cache_dir=cache, scripts=tmp_path / "s", shm=shm)
    summary = res.summary()
    H.report(f"harness[{kind}]", **summary)
    for helper in [res.editor, *res.readers]:
        assert helper is not None and helper.clean, helper.describe() if helper else "no editor"
    assert summary["apps"] >= load.concurrency, "the harness started too few interpreters"

    if kind == "naive":
        torn = summary["torn_reader_reads"] + summary["torn_app_reads"]
        assert summary["rewrites"] > 0, "the naive store was never rewritten: no load"
        assert torn > 0, (
            "positive control did NOT reproduce torn reads: the harness cannot tell a safe "
            f"store from SageMath's pre-fix one under this load ({summary})"
        )
        return

    # lazyhook: zero failures of any kind.
    failed = res.failed_apps
    assert not failed, f"{len(failed)} interpreters failed; first:\n{failed[0].describe()}"
    assert summary["torn_reader_reads"] == 0, f"torn or rejected reads: {summary['torn_kinds']}"
    assert res.reader_counts()["ok"] > 0, "the readers never saw a cache file"
    results = res.app_results
    assert summary["lazy_apps"] > 0, "no interpreter bound lazy names: the warm path was not run"
    assert summary["rewrites"] > 0, "no interpreter rewrote the cache: the write path was not run"

    # Once the editor stopped, the cache converges: the second of two starts is fully lazy.
    app = tmp_path / "s" / "app_lazyhook.py"
    env = H.child_env([src], cache)
    edited = str(src / H.HEAVY / "edited.py")
    settle = [H.run(app, [edited], env) for _ in range(2)]
    assert all(r.clean for r in settle), [r.describe() for r in settle if not r.clean]
    final = settle[-1].result()
    assert final["lazy"] == len(final["bound"]) > 900, f"not lazy once settled: {final}"
    results.append(final)

    # Every interpreter bound exactly what eager Python binds at the version its names came
    # from, and that version was on disk during its run (pre <= bound <= executed).
    versions = {_bound_version(r["bound"]) for r in results} | {r["exec"] for r in results}
    eager = H.eager_reference(versions, tmp_path / "ref", tmp_path / "s")
    raced = 0
    for r in results:
        v = _bound_version(r["bound"])
        assert r["bound"] == eager[v], f"pid {r['pid']}: names differ from eager v{v}"
        assert r["pre"] <= v <= r["exec"], f"pid {r['pid']}: version order {r}"
        assert r["lazy"] in (0, len(r["bound"])), f"pid {r['pid']}: partly lazy {r}"
        assert (r["value"], r["n7"]) == (14, 7), f"pid {r['pid']}: wrong values {r}"
        if v != r["exec"]:
            raced += 1  # an edit landed between the star import and the first use
        else:
            assert r["unresolved"] == 0, f"pid {r['pid']}: lazy names left unresolved {r}"

    # Nothing left behind by these interpreters, and the file is whole.
    pids = {a.pid for a in [*res.apps, *settle]}
    leftovers = [p for p in H.temp_files(cache) if H.temp_pid(p) in pids]
    assert not leftovers, f"temp files left behind: {leftovers}"
    status, keys, bad = H.check_store(H.lazyhook_cache_file(cache))
    assert status == "ok" and not bad and H.HEAVY in keys, (status, bad, keys)
    H.report(
        "harness[lazyhook] checks",
        versions_compared=len(versions),
        raced_edits=raced,
        cache_entries=len(keys),
    )


# --------------------------------------------------------------------------- 3: no lost updates

LEARNER = (
    H.BARRIER_SNIPPET
    + """
import json, os, sys
import lazyhook
lazyhook.install()
idx, barrier, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
# A from-import statement (a call would be eager) that wants lazy names: on a cache miss the
# body runs at the statement and its names are learned.
# (Read in a function: an import nothing reads is eager, in an exec'd string too.)
exec(f"from stress_learn_{idx} import VALUE\\ndef _later():\\n    return VALUE.real")
assert VALUE == int(idx)  # noqa: F821
_barrier(barrier, idx, count)
print("RESULT " + json.dumps({"pid": os.getpid()}))
# exit: lazyhook writes this one entry (merge-and-replace), all N at the same moment
"""
)


def _learn_round(n: int, src: Path, cache: Path, scripts: Path, no_lock: bool) -> int:
    """N interpreters, each learning one distinct module, exit together; entries kept."""
    barrier = cache.parent / (cache.name + "-barrier")
    barrier.mkdir()
    cache.mkdir()
    script = H.write_script(scripts, "learner.py", LEARNER)
    extra = {"LAZYHOOK_TEST_NO_LOCK": "1"} if no_lock else {}
    env = H.child_env([src], cache, **extra)
    procs = [H.start(script, [f"{i:03d}", str(barrier), str(n)], env) for i in range(n)]
    ran = [H.finish(p) for p in procs]
    bad = [r for r in ran if not r.clean]
    assert not bad, bad[0].describe()
    status, keys, broken = H.check_store(H.lazyhook_cache_file(cache))
    assert status == "ok" and not broken, (status, broken)  # even without the lock: never torn
    return len([k for k in keys if k.startswith("stress_learn_")])


def test_no_lost_updates(tmp_path: Path) -> None:
    """3: N interpreters released together by a file barrier each add one entry at exit; with
    the lock all N survive; with ``LAZYHOOK_TEST_NO_LOCK=1`` some are lost (the control).

    Private cache directories: the control loses *other* writers' updates by design, so it
    must not share a file with the other tests, and a count needs a file only N processes
    write."""
    n = H.scaled(28, 8)
    src = tmp_path / "src"
    H.write_tree(src, {f"stress_learn_{i:03d}.py": f"VALUE = {i}\n" for i in range(n)})
    scripts = tmp_path / "s"
    kept_locked = [_learn_round(n, src, tmp_path / f"lock{r}", scripts, False) for r in range(2)]
    kept_unlocked: list[int] = []
    for r in range(5):
        kept_unlocked.append(_learn_round(n, src, tmp_path / f"nolock{r}", scripts, True))
        if kept_unlocked[-1] < n:
            break
    H.report(
        "lost updates",
        interpreters=n * (len(kept_locked) + len(kept_unlocked)),
        N=n,
        kept_with_lock=kept_locked,
        kept_without_lock=kept_unlocked,
    )
    assert kept_locked == [n] * len(kept_locked), f"lost updates WITH the lock: {kept_locked}"
    assert min(kept_unlocked) < n, (
        f"the no-lock control never lost an entry in {len(kept_unlocked)} rounds "
        f"({kept_unlocked}): this test could not detect lost updates"
    )


# --------------------------------------------------------------------------- 4: crash safety

WRITER = """
import json, os, sys
import lazyhook
lazyhook.install()
# a cache miss: runs the body, learned (read in a function: an unread import is eager)
exec(f"from {sys.argv[1]} import VALUE\\ndef _later():\\n    return VALUE.upper")
assert VALUE == sys.argv[1]  # noqa: F821 - written at exit (the window)
print("RESULT " + json.dumps({"pid": os.getpid()}))
"""

CHECKER = """
import json, os, sys
import lazyhook
lazyhook.install()
from stress_done_000 import *
lazy = lazyhook.is_lazy(VALUE)
value = globals()["VALUE"] + ""  # (VALUE + "" here: a value use, bound real at the star import)
print("RESULT " + json.dumps({"lazy": lazy, "value": value, "pid": os.getpid()}))
"""


@dataclass
class _Job:
    role: str  # "kill": paused in the window, then SIGKILLed; "done": completes; "check": reads
    proc: subprocess.Popen[str]
    name: str = ""
    marker: Path | None = None


def test_crash_safety(tmp_path: Path) -> None:
    """4: writers SIGKILLed inside the write window (temp file complete, not yet replaced),
    hundreds of times, concurrently with writers that complete.  After every kill the file
    is absent (before any complete write), or one complete version (status ok, every entry
    decodes, no killed writer's entry); later interpreters work; the killed writers' temp
    files stay until they are old, then a later write removes them.

    A private cache directory: a writer paused in the window holds the writer lock, which
    would push the other tests' writers towards the lock timeout."""
    target = H.scaled(240, 20)
    inflight_max = 8
    src = tmp_path / "src"
    cache = tmp_path / "cache"
    cache.mkdir()
    markers = tmp_path / "markers"
    markers.mkdir()
    scripts = tmp_path / "s"
    writer = H.write_script(scripts, "writer.py", WRITER)
    checker = H.write_script(scripts, "checker.py", CHECKER)
    path = H.lazyhook_cache_file(cache)
    plain_env = H.child_env([src], cache)

    def module(name: str) -> str:
        if not (src / f"{name}.py").exists():  # never rewritten: others may be reading it
            # Not a literal: a star import binds a lazy name for it.
            H.write_tree(src, {f"{name}.py": f"VALUE = ''.join({name!r})\nOTHER = 1\n"})
        return name

    launched_done: set[str] = set()  # modules of writers that complete
    done: set[str] = set()  # ... of those that have completed
    killed: dict[int, str] = {}  # pid -> module, for kills that landed in the window
    escaped: list[H.Ran] = []  # writers that left the window alive (must stay empty)
    completed = checks = seq = 0
    jobs: list[_Job] = []
    t0 = time.time()

    def check_file() -> None:
        status, keys, bad = H.check_store(path)
        if status == "missing":
            assert not done, "the cache file vanished after a complete write"
            return
        assert status == "ok" and not bad, (status, bad)
        victims = [k for k in keys if k.startswith("stress_victim")]
        assert not victims, f"a killed writer's entry reached the file: {victims}"
        assert done <= set(keys) <= launched_done, (sorted(keys), sorted(done))

    def checked(ran: H.Ran) -> None:
        # The next interpreter works: it binds lazily from the entry the first writer made.
        assert ran.clean, ran.describe()
        assert ran.result() == {"lazy": True, "value": "stress_done_000", "pid": ran.pid}

    while len(killed) < target or jobs:
        assert not escaped, f"a writer left the window alive:\n{escaped[0].describe()}"
        assert time.time() - t0 < 600, f"only {len(killed)} kills in 600 s"
        while len(killed) + len(jobs) < target + 2 and len(jobs) < inflight_max:
            seq += 1
            if seq % 5 == 1:  # one in five completes: the file keeps getting new versions
                name = module(f"stress_done_{len(launched_done):03d}")
                launched_done.add(name)
                jobs.append(_Job("done", H.start(writer, [name], plain_env), name))
                continue
            name = module(f"stress_victim_{seq % 16:02d}")
            marker = markers / f"m{seq}"
            env = H.child_env(
                [src],
                cache,
                LAZYHOOK_TEST_PAUSE_BEFORE_REPLACE="60",
                LAZYHOOK_TEST_WINDOW_MARKER=str(marker),
            )
            jobs.append(_Job("kill", H.start(writer, [name], env), name, marker))
        for job in list(jobs):
            if job.role == "kill":
                assert job.marker is not None
                pid = H.marker_pid(job.marker)
                if pid is not None:
                    if H.kill_in_window(job.proc, pid):
                        killed[job.proc.pid] = job.name
                    else:
                        escaped.append(H.finish(job.proc))
                    jobs.remove(job)
                    check_file()
                    if len(killed) % 40 == 0 and "stress_done_000" in done:
                        jobs.append(_Job("check", H.start(checker, [], plain_env)))
                elif job.proc.poll() is not None:
                    escaped.append(H.finish(job.proc))
                    jobs.remove(job)
            elif job.proc.poll() is not None:
                ran = H.finish(job.proc)
                jobs.remove(job)
                if job.role == "check":
                    checked(ran)
                    checks += 1
                    continue
                assert ran.clean, ran.describe()
                completed += 1
                done.add(job.name)
                check_file()
        time.sleep(0.002)
    loop_s = time.time() - t0
    assert not escaped, f"{len(escaped)} writers left the window alive:\n{escaped[0].describe()}"
    check_file()
    checked(H.run(checker, [], plain_env))
    checks += 1

    # Debris: exactly one temp file per kill in the window; young ones survive later writes.
    temps = H.temp_files(cache)
    assert {H.temp_pid(p) for p in temps} == set(killed), "temp files != killed writers"
    old = time.time() - 3600
    for p in temps:
        os.utime(p, (old, old))
    name = module(f"stress_done_{len(launched_done):03d}")
    launched_done.add(name)
    ran = H.run(writer, [name], plain_env)
    assert ran.clean, ran.describe()
    done.add(name)
    left = H.temp_files(cache)
    check_file()
    H.report(
        "crash safety",
        interpreters=seq + checks + 1,
        kills_in_window=len(killed),
        completed_writes=completed + 1,
        next_interpreter_checks=checks,
        temp_files_after_kills=len(temps),
        temp_files_after_aged_write=len(left),
        loop_s=round(loop_s, 1),
    )
    assert len(killed) >= target
    assert not left, f"aged temp files not removed by the next write: {left}"


# --------------------------------------------------------------------------- 5: threads

SLOWMOD = """print("RUN " + __name__, flush=True)
A = 1
import time as _time

_time.sleep(0.1)  # midway: other threads arrive while the body runs


class _Two(int):  # an object, not a literal: a star import binds a lazy name for it
    pass


B = _Two(2)


def compute(x):
    return x * (A + B)
"""

THREADS = """
import json, os, sys, threading
mode, nthreads = sys.argv[1], int(sys.argv[2])
if mode == "lazyhook":
    import lazyhook
    lazyhook.install()
    import stress_slowmod as slow
    from stress_slowmod import *  # compute and B: lazy names (B, an object, only via a star)
    lazy = [lazyhook.is_lazy(slow), lazyhook.is_lazy(compute), lazyhook.is_lazy(B)]
else:
    import importlib.machinery, importlib.util, types

    class UnsafeLazyModule(types.ModuleType):
        # The positive control: the stdlib _LazyModule before cpython gh-114763's fix, reduced
        # to its bug.  The first attribute access makes the module a plain module again BEFORE
        # its body runs, and takes no lock: every other thread then reads a module that looks
        # loaded but is half-initialised (AttributeError for names the body has not bound yet).
        def __getattribute__(self, attr):
            self.__class__ = types.ModuleType
            self.__spec__.loader.exec_module(self)
            return getattr(self, attr)

    class UnsafeLazyLoader:
        # importlib.util.LazyLoader.exec_module without the loader_state (and the lock the fix
        # keeps there).
        def __init__(self, loader):
            self.loader = loader

        def create_module(self, spec):
            return self.loader.create_module(spec)

        def exec_module(self, module):
            module.__spec__.loader = module.__loader__ = self.loader
            module.__class__ = UnsafeLazyModule

    # The stdlib recipe: a meta path finder wrapping PathFinder specs' loaders in a lazy
    # loader, the stdlib's own ("lazyloader") or the deliberately unsafe one ("unsafe").
    wrap, lazy_class = {
        "lazyloader": (importlib.util.LazyLoader, "_LazyModule"),
        "unsafe": (UnsafeLazyLoader, "UnsafeLazyModule"),
    }[mode]

    class LazyFinder:
        def find_spec(self, name, path=None, target=None):
            if name != "stress_slowmod":
                return None
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            if spec is not None and spec.loader is not None:
                spec.loader = wrap(spec.loader)
            return spec

    sys.meta_path.insert(0, LazyFinder())
    import stress_slowmod as slow
    lazy = [type(slow).__name__ == lazy_class]
barrier = threading.Barrier(nthreads)
errors = []


def work(i):
    barrier.wait()
    try:
        if mode == "lazyhook" and i % 2:
            got = (compute(5), globals()["B"] + 0)  # lazy names (B + 0: a value use, real)
        else:
            got = (slow.compute(5), slow.B)  # the lazy module itself
        if got != (15, 2):
            errors.append(f"wrong result {got}")
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")


threads = [threading.Thread(target=work, args=(i,)) for i in range(nthreads)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("RESULT " + json.dumps({"lazy": lazy, "errors": errors}))
"""

# What a thread of the unsafe control sees when it loses the race: the half-initialised module.
HALF_INITIALISED = "AttributeError: module 'stress_slowmod' has no attribute "
THREAD_MODES = ("lazyhook", "unsafe", "lazyloader")


def _thread_runs(script: Path, mode: str, env: dict[str, str], n: int, threads: int) -> list[H.Ran]:
    """*n* interpreters of the threads harness in *mode*, four at a time."""
    rans: list[H.Ran] = []
    for i in range(0, n, 4):
        procs = [H.start(script, [mode, str(threads)], env) for _ in range(min(4, n - i))]
        rans += [H.finish(p) for p in procs]
    return rans


def test_threads_race_on_first_use(shared: Path, tmp_path: Path) -> None:
    """5: 16 threads per interpreter, released by a barrier, race on first use of a lazy
    module whose body sleeps midway and on its lazy names: one execution, no error, in every
    interpreter.

    Positive control, on every Python: the same harness on the harness's own unsafe lazy
    loader (the stdlib ``LazyLoader`` before cpython gh-114763's fix, reduced to its bug: the
    module becomes a plain module before its body runs, with no lock) must fail, and only the
    way that race fails (threads see the half-initialised module).  The stdlib
    ``importlib.util.LazyLoader`` runs too, for information only: it fails where gh-114763 is
    not fixed (3.10, 3.11 before 3.11.9, 3.12 before 3.12.3) and not on 3.13."""
    src = tmp_path / "src"
    H.write_tree(src, {"stress_slowmod.py": SLOWMOD})
    cache = shared / "cache"
    env = H.child_env([src], cache)
    warm = H.write_script(
        tmp_path,
        "warm.py",
        "import lazyhook\nlazyhook.install()\nfrom stress_slowmod import *\n",
    )
    ran = H.run(warm, [], env)
    assert ran.clean and ran.out.count("RUN ") == 1, ran.describe()  # cold: learns
    script = H.write_script(tmp_path, "threads.py", THREADS)
    n_interp, n_threads = H.scaled(20, 2), 16
    counts: dict[str, dict[str, int]] = {}
    runs: dict[str, list[H.Ran]] = {}
    for mode in THREAD_MODES:
        rans = runs[mode] = _thread_runs(script, mode, env, n_interp, n_threads)
        thread_failures = failing = crashed = 0
        for r in rans:
            if not r.clean:
                crashed += 1
                continue
            errors = r.result()["errors"]
            thread_failures += len(errors)
            failing += bool(errors)
        counts[mode] = {
            "interpreters": len(rans),
            "threads": len(rans) * n_threads,
            "thread_failures": thread_failures,
            "failing_interpreters": failing,
            "crashed_interpreters": crashed,
            "executions": sum(r.out.count("RUN ") for r in rans),
        }
    H.report(
        "threads",
        python=sys.version.split()[0],
        **{f"{m}.{k}": v for m, c in counts.items() for k, v in c.items()},
    )

    # lazyhook: lazy at the start, one execution, no error, in every interpreter.
    for r in runs["lazyhook"]:
        assert r.clean, r.describe()
        res = r.result()
        assert res["lazy"] == [True, True, True], f"not lazy at start: {r.describe()}"
        assert r.out.count("RUN ") == 1, f"body ran {r.out.count('RUN ')} times: {r.describe()}"
        assert not res["errors"], r.describe()

    # The unsafe control: it ran the same way (clean exit, lazy at the start, the body ran),
    # it failed, and every failure is the race's own: a thread read the half-initialised module.
    for r in runs["unsafe"]:
        assert r.clean, f"the unsafe control crashed instead of racing:\n{r.describe()}"
        assert r.result()["lazy"] == [True], f"unsafe control not lazy at start: {r.describe()}"
        assert r.out.count("RUN ") >= 1, f"unsafe control never ran the body: {r.describe()}"
        other = [e for e in r.result()["errors"] if not e.startswith(HALF_INITIALISED)]
        assert not other, f"the unsafe control failed another way: {other}\n{r.describe()}"
    assert counts["unsafe"]["thread_failures"] > 0, (
        f"the unsafe lazy loader never failed on Python {sys.version.split()[0]} "
        f"({counts['unsafe']}): this harness cannot show the race it guards against"
    )


# --------------------------------------------------------------------------- 6: activation

SITECUSTOMIZE = """
import atexit, json, os
import lazyhook

lazyhook.install(names=["synthpkg", "synthtests"])


def _dump():
    path = os.path.join(os.environ["SYNTH_REPORTS"], f"report-{os.getpid()}.json")
    with open(path, "w") as f:
        f.write(json.dumps(lazyhook.report()))


atexit.register(_dump)
"""

SYNTH_TEST = """
import os
import sys

import lazyhook

# Executed already (an earlier test module's collection used its names)?  Then the star
# import is plain; otherwise it must bind lazy names.
ALREADY_RAN = "synthpkg" in sys.modules and not lazyhook.is_lazy(sys.modules["synthpkg"])

from synthpkg import *

LAZY_AT_IMPORT = lazyhook.is_lazy(area) and lazyhook.is_lazy(Square)
with open(os.path.join(os.environ["SYNTH_REPORTS"], f"imports-{{os.getpid()}}"), "a") as f:
    f.write(f"{{__name__}} lazy={{LAZY_AT_IMPORT}} ran={{ALREADY_RAN}}\\n")


def _ran():
    with open(os.path.join(os.environ["SYNTH_REPORTS"], f"ran-{{os.getpid()}}"), "a") as f:
        f.write("x")


def test_use_{i}():
    _ran()
    # Not inside the assert: pytest's rewrite passes every name there to its repr helpers,
    # value uses that bind the names real at the star import.  (UNIT ==: a value use too.)
    got, unit = area(Square({i})), globals()["UNIT"]
    assert got == {i} * {i} and unit == 1


def test_bound_lazily_unless_already_executed_{i}():
    _ran()
    if os.environ.get("SYNTH_EXPECT_LAZY") == "1":
        assert LAZY_AT_IMPORT or ALREADY_RAN
"""


def test_activation_under_parallel_pytest(shared: Path, tmp_path: Path) -> None:
    """6: a pytest project run with ``-n 4``, lazyhook activated in every worker by a
    ``sitecustomize`` on PYTHONPATH; its test modules star-import ``synthpkg``.  Warm run, then
    the measured run: all pass, each worker that ran tests bound synthpkg's names lazily, and
    the shared cache ends consistent.

    ``names=["synthpkg"]`` alone binds nothing lazily here: ``names=`` patterns are matched
    against the *importing* module, and test modules are ``synthtests.*``, not ``__main__``
    (measured: lazy_names 0 for synthpkg).  ``["synthpkg", "synthtests"]`` and ``True`` both
    bind lazily; the narrow list is used."""
    proj = tmp_path / "proj"
    reports = tmp_path / "reports"
    cache = shared / "cache"
    files = {
        "sitecustomize.py": SITECUSTOMIZE.lstrip(),
        "synthpkg/__init__.py": "from synthpkg.shapes import *\n\n\ndef area(s):\n"
        "    return s.area()\n",
        "synthpkg/shapes.py": "class Square:\n    def __init__(self, a):\n        self.a = a\n\n"
        "    def area(self):\n        return self.a * self.a\n\n\nUNIT = 1\n",
        "synthtests/__init__.py": "",
        "pytest.ini": "[pytest]\n",
    }
    for i in range(8):
        files[f"synthtests/test_synth_{i}.py"] = SYNTH_TEST.format(i=i).lstrip()
    H.write_tree(proj, files)

    def pytest_run(label: str, **extra: str) -> tuple[H.Ran, list[dict], set[int]]:
        out = reports / label
        out.mkdir(parents=True)
        env = H.child_env([proj], cache, SYNTH_REPORTS=str(out), **extra)
        args = ["pytest", "-n", "4", "-p", "no:cacheprovider", "-q", "synthtests"]
        ran = H.run("-m", args, env, cwd=proj, timeout=300)
        reps = []
        for p in sorted(out.glob("report-*.json")):
            d = json.loads(p.read_text())
            d["pid"] = int(p.stem.split("-")[1])
            reps.append(d)
        ran_pids = {int(p.name.split("-")[1]) for p in out.glob("ran-*")}
        for p in out.glob("imports-*"):
            imports[int(p.name.split("-")[1])] = p.read_text().splitlines()
        return ran, reps, ran_pids

    imports: dict[int, list[str]] = {}

    warm, _, _ = pytest_run("warm")
    assert warm.returncode == 0 and "16 passed" in warm.out, warm.describe()
    imports.clear()
    hot, reps, ran_pids = pytest_run("hot", SYNTH_EXPECT_LAZY="1")
    assert hot.returncode == 0 and "16 passed" in hot.out, hot.describe()
    assert "LazyhookWarning" not in hot.out + hot.err, hot.describe()
    by_pid = {d["pid"]: d for d in reps}
    assert len(ran_pids) >= 2, f"tests ran in {len(ran_pids)} worker(s) only"
    assert ran_pids <= set(by_pid), "a worker that ran tests wrote no report (not activated?)"
    synth = {
        pid: sum(m["lazy_names"] for m in by_pid[pid]["modules"] if m["module"] == "synthpkg")
        for pid in ran_pids
    }
    assert all(by_pid[pid]["totals"]["lazy_names"] > 0 for pid in ran_pids), by_pid
    assert all(v > 0 for v in synth.values()), f"synthpkg lazy names per worker: {synth}"
    lazy_imports = {
        pid: sum("lazy=True" in line for line in imports.get(pid, [])) for pid in ran_pids
    }
    assert all(lazy_imports.values()), f"star imports bound lazily per worker: {lazy_imports}"
    status, keys, bad = H.check_store(H.lazyhook_cache_file(cache))
    # Validity depends on where modules resolve: asked where the tests import them.
    check = "import lazyhook; print(lazyhook.name_cache().valid('synthpkg'))"
    valid = H.run("-c", [check], H.child_env([proj], cache), cwd=proj).out.strip() == "True"
    H.report(
        "activation",
        pytest_runs=2,
        interpreters_activated=len(list(reports.glob("*/report-*.json"))),
        workers_with_reports=len(reps),
        workers_that_ran_tests=len(ran_pids),
        synthpkg_lazy_names_per_worker=sorted(synth.values()),
        lazy_star_imports_per_worker=sorted(lazy_imports.values()),
        test_module_imports=sum(len(v) for v in imports.values()),
        lazy_names_totals=sorted(by_pid[p]["totals"]["lazy_names"] for p in ran_pids),
        cache_entries=len(keys),
        pytest_assert_rewrite_warnings=hot.out.count(
            "Module already imported so cannot be rewritten"
        ),
    )
    assert status == "ok" and not bad, (status, bad)
    assert valid, "the synthpkg entry is missing or stale after the parallel run"
