"""Machinery for the stress tier (``tests/test_stress.py``; CONTRIBUTING.md explains it).

Everything multi-process here is real processes: fresh interpreters started with
``sys.executable``, each running one of the small child scripts below (written to files, so a
failing one can be rerun by hand).  Children get the inherited environment without any
``LAZYHOOK_*`` setting and without ``PYTHONDONTWRITEBYTECODE`` (otherwise every start would
recompile lazyhook and the load would be mostly compilation).

Knobs (environment of the pytest process):

* ``LAZYHOOK_STRESS_SCALE`` (default 1): multiplies interpreter counts.
* ``LAZYHOOK_STRESS_SECONDS`` (default 30): how long each run of the load harness lasts.
"""

from __future__ import annotations

import inspect
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from conftest import ROOT, clean_env
from store_hooks import VARIABLES

# --------------------------------------------------------------------------- knobs


def scale() -> float:
    """``LAZYHOOK_STRESS_SCALE``: a multiplier for interpreter counts (default 1)."""
    value = float(os.environ.get("LAZYHOOK_STRESS_SCALE") or 1)
    if value <= 0:
        raise ValueError(f"LAZYHOOK_STRESS_SCALE must be positive, not {value}")
    return value


def seconds() -> float:
    """``LAZYHOOK_STRESS_SECONDS``: duration of each load-harness run (default 30)."""
    value = float(os.environ.get("LAZYHOOK_STRESS_SECONDS") or 30)
    if value <= 0:
        raise ValueError(f"LAZYHOOK_STRESS_SECONDS must be positive, not {value}")
    return value


def scaled(n: int, minimum: int = 1) -> int:
    return max(minimum, round(n * scale()))


def report(title: str, **counts: object) -> None:
    """Print one test's counts (visible with ``-s`` or ``-rA``)."""
    body = ", ".join(f"{k}={v}" for k, v in counts.items())
    print(f"[stress] {title}: {body}", flush=True)


# --------------------------------------------------------------------------- directories


def shared_dir(basetemp: Path, name: str = "lazyhook-stress-shared") -> Path:
    """One directory shared by every pytest-xdist worker of this session, set up once.

    Under xdist each worker's basetemp is ``<session>/popen-gwN``: the parent is common to all
    workers and private to the session.  Without xdist the basetemp itself is the session's.
    ``mkdir`` is atomic, so exactly one worker initialises; the others wait for ``.ready``.
    """
    root = basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp
    shared = root / name
    ready = shared / ".ready"
    try:
        shared.mkdir()
    except FileExistsError:
        deadline = time.monotonic() + 60
        while not ready.exists():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{shared} was never initialised (no {ready})") from None
            time.sleep(0.01)
        return shared
    (shared / "cache").mkdir(mode=0o700)
    ready.write_text(str(os.getpid()))
    return shared


def lazyhook_cache_file(cache_dir: Path) -> Path:
    """The store file children using *cache_dir* share (same interpreter, same prefix)."""
    from lazyhook import _config

    return Path(_config.cache_file(str(cache_dir)))


def temp_files(cache_dir: Path) -> list[Path]:
    """The store's temp files (``.<cache file>.tmp.<pid>.<random>``) in *cache_dir*."""
    prefix = "." + lazyhook_cache_file(cache_dir).name + ".tmp."
    return sorted(p for p in cache_dir.iterdir() if p.name.startswith(prefix))


def temp_pid(path: Path) -> int:
    return int(path.name.split(".tmp.")[1].split(".")[0])


def check_store(path: Path) -> tuple[str, list[str], list[str]]:
    """Read *path* with a fresh ``Store``: (status, keys, keys whose entry does not decode).

    An entry "decodes" when ``Store.get`` returns it (inside the file, crc ok, safe marshal)
    and it has exactly the shape of a name-cache entry.
    """
    from lazyhook._cache import decode
    from lazyhook._store import Store

    store = Store(str(path))
    store.load()
    keys = store.keys()
    bad = [k for k in keys if decode(store.get(k)) is None]
    return store.status(), keys, bad


# --------------------------------------------------------------------------- processes


def child_env(paths: list[Path], cache: Path | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in clean_env(**extra).items() if not k.startswith("PYTEST_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    hooks = [str(ROOT / "tests" / "hooksite")] if any(k in extra for k in VARIABLES) else []
    env["PYTHONPATH"] = os.pathsep.join([*(str(p) for p in paths), str(ROOT), *hooks])
    if cache is not None:
        env["LAZYHOOK_CACHE_DIR"] = str(cache)
    return env


@dataclass
class Ran:
    """One finished child interpreter."""

    args: list[str]
    pid: int
    returncode: int
    out: str
    err: str

    @property
    def clean(self) -> bool:
        """Exit 0 and nothing at all on stderr (no traceback, no LazyhookWarning)."""
        return self.returncode == 0 and not self.err.strip()

    @property
    def failure(self) -> str:
        """A short label for a failure: the exception type of the last traceback line."""
        lines = [ln for ln in self.err.strip().splitlines() if ln.strip()]
        if not lines:
            return f"exit {self.returncode}"
        last = lines[-1]
        if "Warning" in self.err and "Traceback" not in self.err:
            return "warning"
        return last.split(":")[0].strip() or f"exit {self.returncode}"

    def results(self, tag: str = "RESULT") -> list[dict]:
        out = []
        for line in self.out.splitlines():
            if line.startswith(tag + " "):
                out.append(json.loads(line[len(tag) + 1 :]))
        return out

    def result(self, tag: str = "RESULT") -> dict:
        found = self.results(tag)
        if len(found) != 1:
            raise AssertionError(f"expected one {tag} line from pid {self.pid}:\n{self.describe()}")
        return found[0]

    def describe(self) -> str:
        return (
            f"{' '.join(self.args)}\nexit {self.returncode} pid {self.pid}\n"
            f"--- stdout\n{self.out[-3000:]}\n--- stderr\n{self.err[-3000:]}"
        )


def start(
    script: Path | str, args: list[str], env: dict[str, str], cwd: Path | None = None
) -> subprocess.Popen[str]:
    """Start ``python <script> <args>`` (*script* may be ``"-m"``)."""
    return subprocess.Popen(
        [sys.executable, str(script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=str(cwd) if cwd else None,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 180) -> Ran:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        err += f"\n[stress] killed after {timeout} s (hung)"
    return Ran(list(map(str, proc.args)), proc.pid, proc.returncode, out, err)  # type: ignore[arg-type]


def run(
    script: Path | str,
    args: list[str],
    env: dict[str, str],
    cwd: Path | None = None,
    timeout: float = 180,
) -> Ran:
    return finish(start(script, args, env, cwd), timeout)


def write_script(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


# --------------------------------------------------------------------------- synthetic package

HEAVY = "stress_heavy"  # the synthetic heavy package of the load harness
HEAVY_NAMES = 1000  # about sympy's 921 star names; also what makes naive tears reliable


def heavy_sources(version: int = 0, names: int = HEAVY_NAMES) -> dict[str, str]:
    """``stress_heavy``: ~*names* public names, most from star-imported submodules.

    ``stress_heavy/edited.py`` is the contributing source the editors rewrite: version *n*
    defines ``VERSION = n`` and ``V_<n>``, so the names a star import binds identify the
    version they came from.
    """
    core = ['"""Most of the heavy package\'s names."""']
    for i in range(names - 20):
        core.append(f"N_{i:04d} = {i}")
    for i in range(10):
        core.append(f"def func_{i}(x):\n    return x + {i}")
        core.append(f"class Class{i}:\n    value = {i}")
    init = textwrap.dedent(
        f"""
        \"\"\"A synthetic heavy package (no __all__: star-import binds the public names).\"\"\"
        from {HEAVY}.core import *
        from {HEAVY}.edited import *


        def compute(x):
            return func_3(x) + N_0007 + Class2.value
        """
    ).lstrip()
    return {
        f"{HEAVY}/__init__.py": init,
        f"{HEAVY}/core.py": "\n".join(core) + "\n",
        f"{HEAVY}/edited.py": edited_source(version),
    }


def edited_source(version: int) -> str:
    """Version *version* of the edited submodule.  Its size grows strictly with the version,
    so neither lazyhook's (size, mtime_ns) stamps nor CPython's (size, mtime-in-seconds) pyc
    check can mistake one version for another."""
    return (
        f"VERSION = {version}\nV_{version} = {version}\nEDIT_{version % 7} = {version}\n"
        f"# {'x' * version}\n"
    )


def write_tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


# --------------------------------------------------------------------------- child scripts

EDITOR = """
# Rewrites (or touches) the star-imported submodule until the deadline, atomically, so that
# the cache entry of the package keeps going stale and keeps being rewritten.  Load-adaptive:
# after each edit it waits until some application has rewritten the cache for it (d seconds,
# at most 3), then leaves the entry warm for max(interval, 2 d), so every load level gets
# both stale (rewriting) and warm (lazy) starts.
import json, os, pickle, sys, time
path, deadline, interval = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
kind, cache = sys.argv[4], sys.argv[5]


def rewritten(version):
    if kind == "lazyhook":
        from lazyhook._cache import NameCache
        return NameCache(cache).valid("stress_heavy")
    try:
        with open(cache, "rb") as f:
            return f"V_{version}" in pickle.load(f).get("stress_heavy", ())
    except Exception:  # noqa: BLE001 - absent or torn (the naive store): not yet
        return False


with open(path) as f:
    version = int(f.readline().split("=")[1])
edits = touches = waits = 0
while time.time() < deadline:
    if (edits + touches) % 3 == 2:
        os.utime(path)  # same names, new stamp: a rewrite of an identical entry
        touches += 1
    else:
        version += 1
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(edited_source(version))
        os.replace(tmp, path)  # readers never see a half-written source
        edits += 1
    t = time.time()
    while time.time() - t < 3 and time.time() < deadline and not rewritten(version):
        time.sleep(0.005)
    d = time.time() - t
    waits += d
    time.sleep(max(interval, 2 * d))
mean_wait = waits / max(1, edits + touches)
print("RESULT " + json.dumps({"edits": edits, "touches": touches, "mean_wait": mean_wait}))
"""

LAZYHOOK_APP = """
# An application start: lazyhook on, star import and from-import of the heavy package, use.
import json as _json, os as _os, sys as _sys
_edited = _sys.argv[1]


def _disk_version():
    with open(_edited) as f:
        return int(f.readline().split("=")[1])


_pre = _disk_version()
import lazyhook as _lh

_lh.install()
_before = set(globals())
from stress_heavy import *

_bound = sorted(k for k in globals() if k not in _before and k != "_before")
# (Names are read through globals() below: a name this code used as a value would be bound
# real at the statement, and the star import would run the module there.)
from stress_heavy import compute as _compute
_lazy = sum(1 for k in _bound if _lh.is_lazy(globals()[k]))
_value = _compute(2)  # first use: the body runs now (if it was lazy)
_exec = _sys.modules["stress_heavy"].VERSION
_left = [k for k in _bound if _lh.is_lazy(globals()[k])]
print("RESULT " + _json.dumps({
    "pid": _os.getpid(), "pre": _pre, "exec": _exec, "bound": _bound, "lazy": _lazy,
    "value": _value, "n7": globals()["N_0007"], "unresolved": len(_left),
}), flush=True)
"""

NAIVE_APP = """
# SageMath's pre-fix star-import cache: pickle.load without validation (a torn file crashes
# the start-up with EOFError, as on Sage's patch bot), eager import, and when the names
# differ from the cached ones the whole dict is pickled to a temp file on another file system
# (/dev/shm) and shutil.move'd over the cache: a copy across devices, not an atomic rename.
import json, os, pickle, shutil, sys, tempfile
edited, path, shm = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    with open(path, "rb") as f:
        cache = pickle.load(f)
except FileNotFoundError:
    cache = {}
with open(edited) as f:
    pre = int(f.readline().split("=")[1])
ns = {}
exec("from stress_heavy import *", ns)
ns.pop("__builtins__")
names = tuple(sorted(ns))
wrote = cache.get("stress_heavy") != names
if wrote:
    cache["stress_heavy"] = names
    fd, tmp = tempfile.mkstemp(dir=shm)
    with os.fdopen(fd, "wb") as f:
        pickle.dump(cache, f)
    shutil.move(tmp, path)
exec_version = sys.modules["stress_heavy"].VERSION
print("RESULT " + json.dumps({
    "pid": os.getpid(), "pre": pre, "exec": exec_version, "bound": list(names),
    "lazy": 0, "value": ns["compute"](2), "n7": ns["N_0007"], "unresolved": 0, "wrote": wrote,
}), flush=True)
"""

NAIVE_READER = """
# Reads the naive cache in a loop, as every Sage start-up did: pickle.load, no validation.
import json, os, pickle, sys, time
path, deadline = sys.argv[1], float(sys.argv[2])
reads = ok = missing = 0
torn = {}
seen = set()
while time.time() < deadline:
    reads += 1
    try:
        st = os.stat(path)
        seen.add((st.st_ino, st.st_mtime_ns, st.st_size))
        with open(path, "rb") as f:
            value = pickle.load(f)
        if not isinstance(value, dict):
            raise TypeError("not a dict")
        ok += 1
    except FileNotFoundError:
        missing += 1
    except Exception as exc:  # noqa: BLE001 - every decode error is a torn read
        torn[type(exc).__name__] = torn.get(type(exc).__name__, 0) + 1
print("RESULT " + json.dumps({
    "reads": reads, "ok": ok, "missing": missing, "torn": torn, "versions": len(seen),
}))
"""

LAZYHOOK_READER = """
# Reads the lazyhook cache in a loop with lazyhook's own Store: every file must be complete
# (status 'ok' or 'missing', never 'corrupt') and every listed entry must decode.
import json, os, sys, time, warnings
from lazyhook._cache import decode
from lazyhook._store import Store
path, deadline = sys.argv[1], float(sys.argv[2])
reads = ok = missing = entries = 0
torn = {}
seen = set()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    while time.time() < deadline:
        reads += 1
        try:
            st = os.stat(path)
            seen.add((st.st_ino, st.st_mtime_ns, st.st_size))
        except FileNotFoundError:
            pass
        store = Store(path)
        store.load()
        status = store.status()
        if status == "missing":
            missing += 1
            continue
        if status != "ok":
            torn[status] = torn.get(status, 0) + 1
            continue
        good = True
        for key in store.keys():
            entries += 1
            if decode(store.get(key)) is None:
                torn["bad-entry"] = torn.get("bad-entry", 0) + 1
                good = False
        ok += good
warned = [str(w.message) for w in caught]
if warned:
    torn["warnings"] = len(warned)
print("RESULT " + json.dumps({
    "reads": reads, "ok": ok, "missing": missing, "torn": torn, "versions": len(seen),
    "entries": entries, "warned": warned[:3],
}))
"""

EAGER_REFERENCE = """
# What plain, eager Python binds for `from stress_heavy import *` at each version (one
# directory per version, so no module or pyc of one version can stand in for another).
import importlib, json, sys
root = sys.argv[1]
out = {}
for name in sorted(sys.argv[2:]):
    for mod in [m for m in sys.modules if m.split(".")[0] == "stress_heavy"]:
        del sys.modules[mod]
    sys.path.insert(0, f"{root}/{name}")
    importlib.invalidate_caches()
    ns = {}
    exec("from stress_heavy import *", ns)
    ns.pop("__builtins__")
    out[name] = sorted(ns)
    sys.path.pop(0)
print("RESULT " + json.dumps(out))
"""


# --------------------------------------------------------------------------- the load harness


@dataclass
class Load:
    """The load both stores get: the same editors, readers and application interpreters."""

    seconds: float
    concurrency: int  # application interpreters running at any moment
    readers: int = 2  # long-running interpreters reading the cache file in a tight loop
    edit_interval: float = 0.2  # minimum warm time after each rewrite (every third edit: touch)


@dataclass
class HarnessResult:
    kind: str
    apps: list[Ran] = field(default_factory=list)
    readers: list[Ran] = field(default_factory=list)
    editor: Ran | None = None
    wall: float = 0.0

    @property
    def failed_apps(self) -> list[Ran]:
        return [r for r in self.apps if not r.clean]

    @property
    def app_results(self) -> list[dict]:
        return [r.result() for r in self.apps if r.clean]

    def reader_counts(self) -> dict[str, object]:
        reads = ok = missing = versions = 0
        torn: Counter[str] = Counter()
        for r in self.readers:
            d = r.result() if r.returncode == 0 else {}
            reads += d.get("reads", 0)
            ok += d.get("ok", 0)
            missing += d.get("missing", 0)
            versions += d.get("versions", 0)
            torn.update(d.get("torn", {}))
        return {"reads": reads, "ok": ok, "missing": missing, "torn": torn, "versions": versions}

    def torn_app_reads(self) -> Counter[str]:
        """Applications that died of a decode error while reading the cache at start-up."""
        decode = ("EOFError", "_pickle.UnpicklingError", "UnpicklingError", "pickle.Unpickling")
        return Counter(r.failure for r in self.failed_apps if r.failure.startswith(decode))

    def summary(self) -> dict[str, object]:
        rc = self.reader_counts()
        ed = self.editor.result() if self.editor and self.editor.returncode == 0 else {}
        results = self.app_results
        return {
            "interpreters": len(self.apps) + len(self.readers) + 1,
            "apps": len(self.apps),
            "app_failures": len(self.failed_apps),
            "failure_kinds": dict(Counter(r.failure for r in self.failed_apps)),
            "reader_reads": rc["reads"],
            "reads": rc["reads"] + len(self.apps),
            "torn_reader_reads": sum(rc["torn"].values()),  # type: ignore[attr-defined]
            "torn_app_reads": sum(self.torn_app_reads().values()),
            "torn_kinds": dict(rc["torn"] + self.torn_app_reads()),  # type: ignore[operator]
            "file_versions_seen": rc["versions"],
            "edits": ed.get("edits"),
            "touches": ed.get("touches"),
            "mean_rewrite_wait_s": round(ed.get("mean_wait", 0), 2),
            "lazy_apps": sum(1 for r in results if r["lazy"]),
            "rewrites": sum(1 for r in results if r.get("wrote", not r["lazy"])),
            "wall_s": round(self.wall, 1),
        }


def run_harness(
    kind: str, load: Load, *, src: Path, cache_dir: Path, scripts: Path, shm: Path | None = None
) -> HarnessResult:
    """Run *load* against the *kind* store (``"naive"`` or ``"lazyhook"``).

    One editor rewrites ``stress_heavy/edited.py`` (load-adaptive, see ``EDITOR``); ``readers``
    interpreters read the cache file in a loop with the kind's reader; ``concurrency``
    application interpreters run back to back for ``seconds`` (each: read the cache, star-
    and from-import the heavy package, use it, write the cache if it learned something).
    """
    edited = src / HEAVY / "edited.py"
    env = child_env([src], cache_dir)
    if kind == "lazyhook":
        app = write_script(scripts, "app_lazyhook.py", LAZYHOOK_APP)
        reader = write_script(scripts, "reader_lazyhook.py", LAZYHOOK_READER)
        cache_file = lazyhook_cache_file(cache_dir)
        app_args = [str(edited)]
    elif kind == "naive":
        assert shm is not None
        app = write_script(scripts, "app_naive.py", NAIVE_APP)
        reader = write_script(scripts, "reader_naive.py", NAIVE_READER)
        cache_file = cache_dir / "naive-names.pickle"
        app_args = [str(edited), str(cache_file), str(shm)]
    else:
        raise ValueError(kind)
    editor = write_script(scripts, "editor.py", inspect.getsource(edited_source) + EDITOR)
    result = HarnessResult(kind)
    t0 = time.time()
    deadline = t0 + load.seconds
    editor_args = [str(edited), str(deadline), str(load.edit_interval), kind]
    editor_proc = start(
        editor, [*editor_args, str(cache_dir if kind == "lazyhook" else cache_file)], env
    )
    reader_procs = [
        start(reader, [str(cache_file), str(deadline)], env) for _ in range(load.readers)
    ]
    lock = threading.Lock()

    def slot() -> None:
        while time.time() < deadline:
            ran = run(app, app_args, env)
            with lock:
                result.apps.append(ran)

    threads = [threading.Thread(target=slot) for _ in range(load.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.editor = finish(editor_proc)
    result.readers = [finish(p) for p in reader_procs]
    result.wall = time.time() - t0
    return result


def eager_reference(versions: set[int], root: Path, scripts: Path) -> dict[int, list[str]]:
    """The names eager Python binds for ``from stress_heavy import *`` at each version."""
    for v in versions:
        write_tree(root / f"v{v}", heavy_sources(v))
    script = write_script(scripts, "eager_reference.py", EAGER_REFERENCE)
    env = clean_env(PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH", None)
    ran = run(script, [str(root), *(f"v{v}" for v in versions)], env)
    assert ran.clean, ran.describe()
    return {int(k[1:]): v for k, v in ran.result().items()}


# --------------------------------------------------------------------------- barrier and kills

BARRIER_SNIPPET = """
def _barrier(directory, name, count, timeout=120.0):
    # A file barrier across processes: each arrives by creating a file, then waits until
    # `count` files exist.
    import os, time
    open(os.path.join(directory, name), "w").close()
    deadline = time.monotonic() + timeout
    while len(os.listdir(directory)) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"barrier timeout: {len(os.listdir(directory))}/{count}")
        time.sleep(0.0005)
"""


def marker_pid(marker: Path) -> int | None:
    """The pid a writer appended to its window marker, or None (not there or not complete)."""
    try:
        text = marker.read_text()
    except FileNotFoundError:
        return None
    return int(text.split()[0]) if text.endswith("\n") else None


def kill_in_window(proc: subprocess.Popen[str], pid_in_marker: int) -> bool:
    """SIGKILL *proc*, whose window marker names *pid_in_marker*; True if the kill landed in the
    write window (it was still running, the marker is its own, and it died of the SIGKILL)."""
    alive = proc.poll() is None
    if alive:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    return alive and pid_in_marker == proc.pid and proc.returncode == -signal.SIGKILL
