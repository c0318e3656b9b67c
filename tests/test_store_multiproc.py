"""The store under real concurrent processes: torn reads, lost updates, writers killed mid-write.

Every scenario runs real interpreters (subprocess), never threads: the properties at stake
(atomic replace, flock, SIGKILL in the write window) are about processes and the kernel.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Children import the store without running the package __init__ (written by someone else,
# and not what is under test); the store only needs lazyhook._warn next to it.
PRELUDE = textwrap.dedent(
    f"""
    import os, sys, time, types, warnings
    sys.path.insert(0, {ROOT!r})
    _pkg = types.ModuleType("lazyhook")
    _pkg.__path__ = [{os.path.join(ROOT, "lazyhook")!r}]
    sys.modules["lazyhook"] = _pkg
    from lazyhook._store_write import Store
    sys.path.insert(0, {os.path.join(ROOT, "tests")!r})
    import store_hooks
    store_hooks.install_from_env()
    """
)


from lazyhook import _atomic  # noqa: E402
from lazyhook import _store_write as S  # noqa: E402

Store = S.Store


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAZYHOOK_")}
    env.update(extra)
    return env


def spawn(
    code: str, *args: str, env: dict[str, str] | None = None, **kw: object
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(code), *args],
        env=env or child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,  # type: ignore[arg-type]
    )


def finish(proc: subprocess.Popen[str], timeout: float = 60) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return out


@pytest.fixture
def path(tmp_path: object) -> str:
    return os.path.join(str(tmp_path), "cache", "names.cache")


def temps(path: str) -> list[str]:
    prefix = "." + os.path.basename(path) + ".tmp."
    return sorted(n for n in os.listdir(os.path.dirname(path)) if n.startswith(prefix))


# --------------------------------------------------------------------------- (1) torn reads

WRITER = """
path, wid, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
naive = len(sys.argv) > 4
if naive:
    # Positive control: the 2012 SageMath bug, a replace that is really a copy over the target.
    def copy_over(src, dst):
        with open(src, "rb") as f:
            data = f.read()
        with open(dst, "r+b" if os.path.exists(dst) else "wb") as out:
            out.truncate(0)
            for i in range(0, len(data), 512):
                out.write(data[i:i + 512]); out.flush()
        os.unlink(src)
    os.replace = copy_over
store = Store(path)
deadline, n = time.monotonic() + seconds, 0
while time.monotonic() < deadline:
    key = f"w{wid}-{n % 40}"
    assert store.write({key: (key, n, "x" * (n * 37 % 700))})
    n += 1
print(n)
"""

READER = """
path, seconds = sys.argv[1], float(sys.argv[2])
reads = failures = 0
deadline = time.monotonic() + seconds
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    while time.monotonic() < deadline:
        store = Store(path)
        ok = store.status() == "ok" and len(store) >= 10
        for key in store.keys():
            value = store.get(key)
            ok = ok and isinstance(value, tuple) and value[0] == key
        reads += 1
        failures += not ok
print(reads, failures)
"""


def _readers_vs_writers(path: str, seconds: float, naive: bool) -> tuple[int, int, int]:
    assert Store(path).write({f"seed-{i}": (f"seed-{i}", 0, "") for i in range(10)})
    extra = ["naive"] if naive else []
    writers = [spawn(WRITER, path, str(w), str(seconds), *extra) for w in range(2)]
    readers = [spawn(READER, path, str(seconds)) for _ in range(2)]
    writes = sum(int(finish(p)) for p in writers)
    counts = [tuple(map(int, finish(p).split())) for p in readers]
    return writes, sum(c[0] for c in counts), sum(c[1] for c in counts)


def test_readers_never_see_a_torn_file(path: str) -> None:
    writes, reads, failures = _readers_vs_writers(path, 3.0, naive=False)
    print(f"atomic replace: {writes} writes, {reads} reads, {failures} failed reads")
    assert writes > 50 and reads > 50
    assert failures == 0


def test_torn_reads_are_detected_with_a_copying_writer(path: str) -> None:
    # Positive control for the test above: same harness, a writer that copies over the target.
    writes, reads, failures = _readers_vs_writers(path, 2.0, naive=True)
    print(f"copy-over writer: {writes} writes, {reads} reads, {failures} failed reads")
    assert failures > 0


# --------------------------------------------------------------------------- (2) lost updates

BARRIER_WRITER = """
path, key, ready, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
store = Store(path)
os.write(ready, b"r")
os.read(go, 1)  # every writer blocks here until the parent releases all of them at once
sys.exit(0 if store.write({key: key}) else 1)
"""


def _race(path: str, n: int, no_lock: bool) -> int:
    if os.path.exists(path):
        os.unlink(path)
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    env = child_env(**({"LAZYHOOK_TEST_NO_LOCK": "1"} if no_lock else {}))
    try:
        procs = [
            spawn(BARRIER_WRITER, path, f"k{i}", str(ready_w), str(go_r), env=env,
                  pass_fds=(ready_w, go_r))
            for i in range(n)
        ]  # fmt: skip
        got = 0
        while got < n:
            got += len(os.read(ready_r, n))
        os.write(go_w, b"g" * n)
        for proc in procs:
            finish(proc)
    finally:
        for fd in (ready_r, ready_w, go_r, go_w):
            os.close(fd)
    return len(Store(path).keys())


def test_concurrent_writers_lose_nothing_with_the_lock(path: str) -> None:
    kept = _race(path, 32, no_lock=False)
    print(f"with lock: {kept}/32 kept")
    assert kept == 32


def test_concurrent_writers_lose_updates_without_the_lock(path: str) -> None:
    # Positive control: the same race with the lock disabled must lose entries, which shows
    # the test above exercises real contention.
    rounds = []
    for _ in range(5):
        rounds.append(_race(path, 32, no_lock=True))
        if rounds[-1] < 32:
            break
    print(f"without lock: kept per round {rounds} of 32")
    assert min(rounds) < 32


# --------------------------------------------------------------------------- (3) SIGKILL

PAUSED_WRITER = """
path, gen = sys.argv[1], int(sys.argv[2])
Store(path).write({"gen": gen, f"key{gen}": ("value", gen)})
"""


def test_writers_killed_in_the_write_window(path: str) -> None:
    assert Store(path).write({"gen": 0, "key0": ("value", 0)})
    rng = random.Random(3)
    kills = landed = 0
    for gen in range(1, 61):
        before = open(path, "rb").read()
        marker = f"{path}.marker{gen}"
        env = child_env(
            LAZYHOOK_TEST_PAUSE_BEFORE_REPLACE="30",
            LAZYHOOK_TEST_WINDOW_MARKER=marker,
        )
        proc = spawn(PAUSED_WRITER, path, str(gen), env=env)
        if gen % 6 == 0:  # every sixth kill at an arbitrary moment (start-up, merge, write...)
            time.sleep(rng.uniform(0, 0.08))
        else:
            deadline = time.monotonic() + 20
            while not os.path.exists(marker) and time.monotonic() < deadline:
                time.sleep(0.001)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        kills += 1
        landed += os.path.exists(marker)  # written only once the temp file is complete
        # Absent, old or new: never anything else. With a 30 s pause it can only be the old.
        store = Store(path)
        assert store.status() == "ok"
        assert open(path, "rb").read() == before
        assert store.get("gen") == 0 and store.get("key0") == ("value", 0)
    left = temps(path)
    print(f"{kills} kills, {landed} inside the write window, {len(left)} temp files left")
    assert kills >= 50 and landed >= 0.75 * kills
    assert landed <= len(left) <= kills
    # A later write leaves young temp files alone (their writer might be alive) ...
    assert Store(path).write({"after": 1})
    assert temps(path) == left
    # ... and removes them once they are older than the stale age.
    past = time.time() - _atomic.STALE_TEMP_AGE - 5
    for name in left:
        os.utime(os.path.join(os.path.dirname(path), name), (past, past))
    assert Store(path).write({"later": 1})
    assert temps(path) == []
    assert Store(path).get("gen") == 0 and Store(path).get("later") == 1
