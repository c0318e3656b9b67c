"""Unit tests for the on-disk store (lazyhook/_store.py): format, merge, corruption, security."""

from __future__ import annotations

import errno
import marshal
import os
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
import types
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


import store_hooks  # noqa: E402
from store_format import layout, refresh_crcs, set_u32, u32  # noqa: E402

from lazyhook import _atomic, _config, _lock, _store_write  # noqa: E402
from lazyhook import _store as F  # noqa: E402
from lazyhook import _store as S  # noqa: E402
from lazyhook import _warn as W  # noqa: E402

Store = _store_write.Store
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

VALUES: dict[str, object] = {
    "pkg": (("alpha", 1), ("beta", 2), ("gamma", 0)),
    "pkg.sub": (("x", 3),),
    "pkg.empty": (),
    "other": ("a" * 300, 2**40, -(2**70), 1.5, None, True, b"raw", frozenset({"f"})),
    "ünïcode.mod": {"k": [1, (2, 3)], (1, 2): {3}},
}


# --------------------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def _isolate(monkeypatch: pytest.MonkeyPatch) -> None:
    # warn_once remembers causes per process; each test starts with a clean slate.
    monkeypatch.setattr(W, "_reported", set())
    monkeypatch.setattr(_store_write, "hooks", _store_write.Hooks())
    # Markers of refused caches go to the user's cache directory: a private one per test.
    monkeypatch.setenv("XDG_CACHE_HOME", tempfile.mkdtemp(prefix="xdg-"))


@contextmanager
def lazy_warnings() -> Iterator[list[str]]:
    """Collect the messages of LazyhookWarnings raised inside the block."""
    got: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield got
    got.extend(str(w.message) for w in caught if issubclass(w.category, W.LazyhookWarning))


@pytest.fixture
def path(tmp_path: object) -> str:
    return os.path.join(str(tmp_path), "cache", "names.cache")


def fake_clocks(monkeypatch: pytest.MonkeyPatch, **fake: object) -> None:
    """Replace the clocks lazyhook reads (``_config.CLOCKS``: never time's own functions,
    which a program's tests may patch)."""
    names = ("perf_counter", "monotonic", "time", "sleep")
    clocks = dict(zip(names, _config.CLOCKS, strict=True), **fake)
    monkeypatch.setattr(_config, "CLOCKS", tuple(clocks[n] for n in names))


def written(path: str, values: dict[str, object] | None = None) -> bytes:
    assert Store(path).write(VALUES if values is None else values)
    with open(path, "rb") as f:
        return f.read()


def put_bytes(path: str, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)


def temps(path: str) -> list[str]:
    prefix = "." + os.path.basename(path) + ".tmp."
    return [n for n in os.listdir(os.path.dirname(path)) if n.startswith(prefix)]


def assert_no_wrong_value(store: object, extra: dict[str, object] | None = None) -> None:
    expected = {**VALUES, **(extra or {})}
    for key in set(store.keys()) | set(expected):
        got = store.get(key)
        assert got is None or got == expected[key], (key, got)


# --------------------------------------------------------------------------- basics


def test_round_trip(path: str) -> None:
    store = Store(path)
    with lazy_warnings() as got:
        assert store.write(VALUES)
    assert got == []
    assert store.status() == "ok"
    assert store.keys() == sorted(VALUES)
    assert len(store) == len(VALUES)
    for key, value in VALUES.items():
        assert key in store
        assert store.get(key) == value
        used = store.last_used(key)
        assert used is not None and abs(used - time.time()) < 5
    assert store.get("absent") is None and "absent" not in store
    assert store.last_used("absent") is None
    assert store.get(42) is None and 42 not in store  # type: ignore[arg-type]


def test_reopen_sees_written_entries(path: str) -> None:
    written(path)
    again = Store(path)
    again.load()
    again.load()  # idempotent
    assert again.status() == "ok"
    assert {k: again.get(k) for k in again.keys()} == VALUES


def test_file_layout_matches_the_documented_header(path: str) -> None:
    data = written(path)
    assert data[:8] == b"\x89LZHS\r\n\x1a"
    assert u32(data, 8) == F.VERSION
    assert data[12:36].rstrip(b"\0") == sys.implementation.cache_tag.encode()
    count, key_len, rec_start, start = layout(data)
    assert count == len(VALUES)
    keys = data[60 : 60 + key_len].decode("utf-8").split("\0")
    assert keys == sorted(VALUES)
    assert u32(data, 44) == len(data)
    assert u32(data, 48) == zlib.crc32(data[60:start])
    assert u32(data, 52) == zlib.crc32(data[start:])
    assert u32(data, 56) == F.check(data[:56])
    for slot, key in enumerate(keys):
        off, length, check, _used = (u32(data, rec_start + 16 * slot + 4 * i) for i in range(4))
        blob = data[start + off : start + off + length]
        assert F.check(key.encode() + b"\0" + blob) == check
        assert marshal.loads(blob) == VALUES[key]


def test_missing_file_and_directory_are_silent(path: str) -> None:
    with lazy_warnings() as got:
        store = Store(path)
        assert store.status() == "missing"
        assert store.get("pkg") is None and store.keys() == [] and len(store) == 0
    assert got == []
    assert not os.path.exists(os.path.dirname(path))  # reading never creates anything


def test_load_reads_once_and_write_rereads_disk(path: str) -> None:
    first = Store(path)
    assert first.write({"a": 1})
    other = Store(path)
    assert other.write({"b": 2})
    assert first.keys() == ["a"]  # its view is the file it wrote, not re-read on every call
    assert first.write({"c": 3})  # but a write re-reads: b is kept, not lost
    assert first.keys() == ["a", "b", "c"]
    assert Store(path).keys() == ["a", "b", "c"]


def test_merge_keeps_entries_of_a_store_loaded_earlier(path: str) -> None:
    a, b = Store(path), Store(path)
    a.load()
    b.load()  # both saw "missing"
    assert a.write({"from_a": "A"})
    assert b.write({"from_b": "B"})  # b's in-memory view is stale; the merge must not trust it
    fresh = Store(path)
    assert fresh.get("from_a") == "A" and fresh.get("from_b") == "B"
    assert b.get("from_a") == "A"  # after a write the view is the new file


def test_put_replaces_and_drop_removes(path: str) -> None:
    store = Store(path)
    assert store.write({"a": 1, "b": 2, "c": 3})
    assert store.write({"a": 10}, drop=["b", "never-there"])
    assert {k: store.get(k) for k in store.keys()} == {"a": 10, "c": 3}
    assert store.write({}, drop=["a", "c"])
    assert store.keys() == [] and store.status() == "ok"


def test_touch_updates_last_used_only(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1_000_000]
    fake_clocks(monkeypatch, time=lambda: clock[0])
    store = Store(path)
    assert store.write({"a": 1, "b": 2})
    clock[0] = 1_000_500
    assert store.write({}, touch=["a", "absent"])
    assert store.last_used("a") == 1_000_500 and store.last_used("b") == 1_000_000
    assert store.get("a") == 1 and "absent" not in store


def test_caps_evict_least_recently_used_ties_by_key(
    path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000]
    fake_clocks(monkeypatch, time=lambda: clock[0])
    store = Store(path, max_entries=3)
    assert store.write({"b": 1, "a": 1})  # same time: "a" is older by the tie-break
    clock[0] = 2000
    assert store.write({"c": 1})
    clock[0] = 3000
    assert store.write({"d": 1})
    assert store.keys() == ["b", "c", "d"]
    clock[0] = 4000
    assert store.write({}, touch=["b"])  # b becomes the newest
    clock[0] = 5000
    assert store.write({"e": 1})
    assert store.keys() == ["b", "d", "e"]


def test_max_bytes_cap(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000]
    fake_clocks(monkeypatch, time=lambda: clock[0])
    store = Store(path, max_bytes=4096)
    for i in range(10):
        clock[0] += 1
        assert store.write({f"k{i}": "x" * 1000})
        assert os.path.getsize(path) <= 4096
    assert store.keys() == ["k7", "k8", "k9"]  # the newest that fit
    assert all(store.get(k) == "x" * 1000 for k in store.keys())


def test_random_operations_match_a_model(path: str) -> None:
    # Mixes small writes (splice path: old region kept, blob appended), large ones and
    # compactions (rebuild path) and checks every step against a dict.
    import random

    rng = random.Random(7)
    store = Store(path)
    model: dict[str, object] = {}
    sizes = []
    for step in range(300):
        put = {f"k{rng.randrange(60)}": (step, "v" * rng.randrange(200)) for _ in range(3)}
        if step % 50 == 0:
            put.update({f"bulk{step}-{i}": i for i in range(300)})  # > _SPLICE_MAX: rebuild
        drop = [f"k{rng.randrange(60)}" for _ in range(rng.randrange(3))]
        drop = [k for k in drop if k not in put]
        assert store.write(put, drop=drop)
        for k in drop:
            model.pop(k, None)
        model.update(put)
        sizes.append(os.path.getsize(path))
        if step % 10 == 0:
            store = Store(path)
        assert store.keys() == sorted(model)
        assert all(store.get(k) == v for k, v in model.items())
    region = layout(open(path, "rb").read())[3]
    assert region > 0
    assert any(b < a for a, b in zip(sizes, sizes[1:], strict=False)), "never compacted"


def test_small_write_appends_and_compaction_reclaims_holes(path: str) -> None:
    store = Store(path)
    assert store.write({f"k{i}": "x" * 100 for i in range(20)})
    before = open(path, "rb").read()
    assert store.write({"k0": "y" * 100})  # splice: old region kept byte for byte
    after = open(path, "rb").read()
    old_start, new_start = layout(before)[3], layout(after)[3]
    assert after[new_start : new_start + len(before) - old_start] == before[old_start:]
    for i in range(1, 8):  # replacing more and more: holes pass a quarter, then compaction
        assert store.write({f"k{i}": "y" * 100})
    assert os.path.getsize(path) < len(after) + 7 * 110
    assert all(store.get(f"k{i}") == ("y" if i < 8 else "x") * 100 for i in range(20))


def test_unstorable_put_is_skipped_with_a_warning(path: str) -> None:
    store = Store(path)
    with lazy_warnings() as got:
        ok = store.write(
            {"good": 1, "bad\0key": 2, "code": compile("1", "f", "eval"), "obj": object()}
        )  # type: ignore[dict-item]
    assert ok and store.keys() == ["good"]
    assert len(got) == 2  # one per cause: the key, the values (two bad values: one warning)


def test_clear(path: str) -> None:
    store = Store(path)
    assert store.clear()  # absent: fine
    written(path)
    assert store.clear()
    assert not os.path.exists(path)
    assert store.status() == "missing" and Store(path).status() == "missing"


# --------------------------------------------------------------------------- corruption


def test_truncation_at_every_offset(path: str) -> None:
    # A short file is a torn write (a copy cut off, a crash before the data reached the disk):
    # wherever the cut falls, the whole file is corrupt, with one warning, and is rebuilt.
    data = written(path)
    for cut in range(len(data)):
        put_bytes(path, data[:cut])
        W._reported.clear()
        with lazy_warnings() as got:
            store = Store(path)
            store.load()
            assert_no_wrong_value(store)
            assert store.get("pkg") is None
        assert store.status() == "corrupt", cut
        assert store.keys() == []
        assert len(got) == 1 and path in got[0], (cut, got)
    index_end = layout(data)[3]
    for cut in (0, 7, 60, index_end - 1, index_end + 3, len(data) - 1):
        put_bytes(path, data[:cut])
        with lazy_warnings():
            assert Store(path).write({"new": 1})
        fresh = Store(path)
        assert fresh.status() == "ok" and fresh.keys() == ["new"] and fresh.get("new") == 1


def test_trailing_bytes_make_the_file_corrupt(path: str) -> None:
    data = written(path)
    put_bytes(path, data + b"\0")
    with lazy_warnings() as got:
        assert Store(path).status() == "corrupt"
    assert len(got) == 1


def test_bit_flips_everywhere(path: str) -> None:
    data = written(path)
    statuses = set()
    for pos in range(len(data)):
        for bit in (0, 3, 7):
            flipped = bytearray(data)
            flipped[pos] ^= 1 << bit
            put_bytes(path, bytes(flipped))
            W._reported.clear()
            with lazy_warnings() as got:
                store = Store(path)
                assert_no_wrong_value(store)
                statuses.add(store.status())
            assert len(got) <= 1
            # A flip in an entry costs that entry only; anywhere else, the whole file.
            if pos >= layout(data)[3]:
                assert store.status() == "ok" and len(store) == len(VALUES)
                assert sum(store.get(k) is None for k in VALUES) == 1
    assert statuses == {"ok", "corrupt", "foreign"}  # version-field flips read as foreign


@pytest.mark.parametrize("garbage", [b"", b"\0" * 100, b"not a cache at all" * 10, b"\x89LZHS"])
def test_garbage_is_corrupt_with_one_warning(path: str, garbage: bytes) -> None:
    os.makedirs(os.path.dirname(path))
    put_bytes(path, garbage)
    with lazy_warnings() as got:
        store = Store(path)
        assert store.status() == "corrupt" and store.get("pkg") is None
        store.keys()
        Store(path).load()  # a second Store in the same process: still one warning
    assert len(got) == 1 and path in got[0]
    with lazy_warnings():
        assert store.write({"x": 1})
    assert Store(path).get("x") == 1


@pytest.mark.parametrize(
    "field, value",
    [("version", F.VERSION + 1), ("tag", b"cpython-399"), ("tag", b"pypy39_pp73")],
)
def test_other_version_or_interpreter_is_a_silent_miss(
    path: str, field: str, value: object
) -> None:
    data = bytearray(written(path))
    if field == "version":
        set_u32(data, 8, value)  # type: ignore[arg-type]
    else:
        data[12:36] = value.ljust(24, b"\0")  # type: ignore[union-attr]
    put_bytes(path, bytes(refresh_crcs(data)))
    with lazy_warnings() as got:
        store = Store(path)
        assert store.status() == "foreign"
        assert store.keys() == [] and store.get("pkg") is None
        assert store.write({"mine": 1})  # rebuilt for this interpreter
    assert got == []
    assert Store(path).keys() == ["mine"]


def test_length_fields_larger_than_the_file(path: str) -> None:
    data = written(path)
    count, _, rec_start, _ = layout(data)
    for slot in range(count):
        for field, value in ((0, len(data)), (1, len(data)), (0, 0xFFFFFFF0), (1, 0xFFFFFFFF)):
            bad = bytearray(data)
            set_u32(bad, rec_start + 16 * slot + 4 * field, value)
            put_bytes(path, bytes(refresh_crcs(bad)))
            with lazy_warnings() as got:
                store = Store(path)
                assert store.status() == "ok"
                assert_no_wrong_value(store)
                assert sum(store.get(k) is None for k in VALUES) >= 1
            assert got == []
    for pos, value in ((36, 0xFFFFFFFF), (36, count + 1), (40, 0xFFFFFFF0), (40, len(data))):
        bad = bytearray(data)
        set_u32(bad, pos, value)
        put_bytes(path, bytes(refresh_crcs(bad)))
        W._reported.clear()
        with lazy_warnings() as got:
            store = Store(path)
            assert store.status() == "corrupt" and store.keys() == []
        assert len(got) == 1
    for value in (len(data) - 1, len(data) + 1, 0xFFFFFFFF):  # the length field itself
        bad = bytearray(data)
        set_u32(bad, 44, value)
        set_u32(bad, 56, F.check(bytes(bad[:56])))
        put_bytes(path, bytes(bad))
        W._reported.clear()
        with lazy_warnings() as got:
            store = Store(path)
            assert store.status() == "corrupt" and store.keys() == []
        assert len(got) == 1


def _forge_entry(path: str, blob: bytes) -> None:
    """Replace the value of "pkg" by *blob*, with every checksum made valid again."""
    data = bytearray(written(path))
    count, _, rec_start, start = layout(data)
    keys = sorted(VALUES)
    slot = keys.index("pkg")
    set_u32(data, rec_start + 16 * slot, len(data) - start)
    set_u32(data, rec_start + 16 * slot + 4, len(blob))
    data += blob
    put_bytes(path, bytes(refresh_crcs(data)))


@pytest.mark.parametrize(
    "blob",
    [
        b"[" + (2**31 - 1).to_bytes(4, "little") + b"N",  # list of 2**31 slots, 1 present
        b"(" + (2**31 - 1).to_bytes(4, "little") + b"N",  # same for a tuple
        b"l" + (2**31 - 1).to_bytes(4, "little") + b"\1\0",  # int with 2**31 digits
        b")\xff" * 2000,  # nested small tuples preallocating 2 KB each
        marshal.dumps(compile("1", "f", "eval")),  # code objects are not data
        marshal.dumps(("ok",)) + b"trailing",
        b"\xa9\x02" + b"{" + b"r" + bytes(4) + b"N0" + b"N",  # segfaults marshal (see below)
    ],
    ids=[
        "list-count",
        "tuple-count",
        "long-digits",
        "nested-small-tuples",
        "code",
        "trailing",
        "ref-to-open-tuple",
    ],
)
def test_forged_entries_with_valid_checksums_are_misses(path: str, blob: bytes) -> None:
    _forge_entry(path, blob)
    import tracemalloc

    tracemalloc.start()
    try:
        store = Store(path)
        with lazy_warnings() as got:
            assert store.get("pkg") is None
            assert store.get("pkg") is None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10 * os.path.getsize(path) + 256 * 1024
    assert store.get("pkg.sub") == VALUES["pkg.sub"]
    assert len(got) == 1 and "damaged entry ('pkg')" in got[0]  # hostile: said once


def test_ref_to_unfinished_tuple_would_crash_marshal_but_not_the_store(path: str) -> None:
    # Positive control in a child: marshal.loads itself dies on this (hashing a tuple whose
    # items are still NULL), so the store must never hand it to marshal.
    blob = b"\xa8" + (2).to_bytes(4, "little") + b">" + (1).to_bytes(4, "little")
    blob += b"r" + bytes(4) + b"N"
    crash = subprocess.run([sys.executable, "-c", f"import marshal; marshal.loads({blob!r})"])
    assert crash.returncode != 0
    _forge_entry(path, blob)
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {ROOT!r})
        from lazyhook._store import Store
        print(Store({path!r}).get("pkg"))
        """
    )
    safe = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert safe.returncode == 0, safe.stderr
    assert safe.stdout.strip() == "None"


def aside(path: str) -> list[str]:
    """What was moved aside from *path* (``<name>.refused.<time>.<pid>``)."""
    directory, base = os.path.split(path)
    return [n for n in os.listdir(directory) if n.startswith(base + ".refused.")]


def test_directory_in_place_of_the_file(path: str) -> None:
    # In this user's own directory, moving it aside is safe: moved, and the cache rebuilt.
    os.makedirs(path)
    with lazy_warnings() as got:
        store = Store(path)
        assert store.status() == "missing" and store.get("x") is None
        assert store.write({"x": 1}) is True
    assert len(got) == 1 and "moved aside" in got[0] and "not a regular file" in got[0]
    assert os.path.isfile(path) and len(aside(path)) == 1 and temps(path) == []
    assert Store(path).get("x") == 1


def test_directory_appearing_before_the_replace(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    written(path)
    real_replace = os.replace

    def swap_in_directory(src: str, dst: str) -> None:
        os.unlink(dst)
        os.makedirs(dst)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", swap_in_directory)
    with lazy_warnings() as got:
        assert Store(path).write({"x": 1}) is False
    assert len(got) == 1 and "EISDIR" in got[0]
    assert temps(path) == []


def test_fifo_in_place_of_the_file_does_not_block(path: str) -> None:
    os.makedirs(os.path.dirname(path))
    os.mkfifo(path)
    with lazy_warnings() as got:
        assert Store(path).status() == "missing"  # opened without blocking, moved aside
    assert len(got) == 1 and len(aside(path)) == 1


def test_unreadable_file(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    written(path)
    real_open = os.open

    def deny(p: str, flags: int, *args: int) -> int:
        if p == path:
            raise PermissionError(errno.EACCES, "Permission denied", p)
        return real_open(p, flags, *args)

    monkeypatch.setattr(os, "open", deny)
    with lazy_warnings() as got:
        store = Store(path)
        assert store.status() == "corrupt" and store.get("pkg") is None
    assert len(got) == 1 and path in got[0]
    monkeypatch.undo()
    if not IS_ROOT:  # the real thing, where chmod binds
        os.chmod(path, 0)
        W._reported.clear()
        with lazy_warnings() as got:
            assert Store(path).status() == "corrupt"
        assert len(got) == 1
        os.chmod(path, 0o600)


# --------------------------------------------------------------------------- security


def test_created_directory_and_file_modes(path: str) -> None:
    written(path)
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path + ".lock").st_mode) == 0o600


def test_shared_modes_and_trust_by_other_users(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert Store(path).write(VALUES, shared=True)
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o755
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    if IS_ROOT:  # a root-built shared cache is trusted by every user
        monkeypatch.setattr(os, "getuid", lambda: 4242)
        with lazy_warnings() as got:
            assert Store(path).get("pkg") == VALUES["pkg"]
        assert got == []


@pytest.mark.parametrize("target", ["dir", "file"])
@pytest.mark.parametrize("bits", [0o020, 0o002])
def test_group_or_other_writable(path: str, target: str, bits: int) -> None:
    data = written(path)
    victim = os.path.dirname(path) if target == "dir" else path
    os.chmod(victim, stat.S_IMODE(os.stat(victim).st_mode) | bits)
    with lazy_warnings() as got:
        store = Store(path)
        if target == "file":  # in this user's own directory: moved aside, rebuilt
            assert store.status() == "missing" and store.write({"x": 1}) is True
            assert len(aside(path)) == 1 and Store(path).get("x") == 1
        else:  # a directory others can write to: nothing in it can be trusted or moved
            assert store.status() == "refused" and store.get("pkg") is None
            assert store.write({"x": 1}) is False
            assert Store(path).write({"x": 1}) is False
            assert open(path, "rb").read() == data and aside(path) == []
    assert len(got) == 1 and path in got[0] and temps(path) == []


def test_untrusted_lock_file_is_moved_aside(path: str) -> None:
    written(path)
    os.chmod(path + ".lock", 0o666)
    with lazy_warnings() as got:
        store = Store(path)
        assert store.get("pkg") == VALUES["pkg"]  # readers never touch the lock
        assert store.write({"x": 1}) is True
        assert store.write({"y": 1}) is True
    assert len(got) == 1 and path + ".lock" in got[0] and "moved aside" in got[0]
    assert stat.S_IMODE(os.stat(path + ".lock").st_mode) == 0o600
    assert len(aside(path + ".lock")) == 1 and temps(path) == []


def test_owned_by_another_user(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = written(path)
    if IS_ROOT:
        # As root the file can really belong to someone else: in root's own directory it
        # is moved aside and the cache rebuilt.
        os.chown(path, 4242, 4242)
        with lazy_warnings() as got:
            assert Store(path).status() == "missing"  # neither ours nor root's: moved aside
            assert Store(path).write({"x": 1}) is True
        assert len(got) == 1 and path in got[0] and len(aside(path)) == 1
    else:
        # Pretend to be another user: the real user's file and directory are foreign, and
        # nothing in someone else's directory is moved.
        monkeypatch.setattr(os, "getuid", lambda: os.stat(path).st_uid + 1)
        with lazy_warnings() as got:
            assert Store(path).status() == "refused"
            assert Store(path).write({"x": 1}) is False
        assert len(got) == 1 and path in got[0]
        assert open(path, "rb").read() == data


def test_a_refused_cache_is_reported_once_across_runs(path: str) -> None:
    written(path)
    directory = os.path.dirname(path)
    os.chmod(directory, 0o777)  # nothing in it can be trusted, nor moved
    try:
        with lazy_warnings() as got:
            assert Store(path).status() == "refused"
        assert len(got) == 1 and "remembered in" in got[0]
        W._reported.clear()  # a later run: a fresh process would have an empty set
        with lazy_warnings() as got:
            assert Store(path).status() == "refused"
            assert Store(path).write({"x": 2}) is False  # the writer reports it the same way
        assert got == []  # the marker in this user's cache directory remembers it
        os.chmod(path, 0o640)  # the refused file changed: worth one more warning
        W._reported.clear()
        with lazy_warnings() as got:
            Store(path).status()
        assert len(got) == 1
    finally:
        os.chmod(directory, 0o700)


def test_symlink_in_place_of_the_cache_is_moved_aside(path: str, tmp_path: object) -> None:
    real = os.path.join(str(tmp_path), "elsewhere.cache")
    data = written(real)
    os.makedirs(os.path.dirname(path))
    os.symlink(real, path)
    with lazy_warnings() as got:
        store = Store(path)
        assert store.status() == "missing" and store.get("pkg") is None
        assert store.write({"x": 1}) is True
    assert len(got) == 1 and "symbolic link" in got[0]
    assert not os.path.islink(path) and open(real, "rb").read() == data
    assert os.path.islink(os.path.join(os.path.dirname(path), aside(path)[0]))


def test_symlink_in_place_of_the_lock_is_moved_aside(path: str, tmp_path: object) -> None:
    data = written(path)
    victim = os.path.join(str(tmp_path), "victim")
    os.unlink(path + ".lock")
    os.symlink(victim, path + ".lock")
    with lazy_warnings() as got:
        assert Store(path).write({"x": 1}) is True
        assert Store(path).write({"y": 1}) is True
    assert len(got) == 1 and "lock" in got[0]
    assert not os.path.exists(victim)  # not created through the link
    assert not os.path.islink(path + ".lock") and temps(path) == []
    assert Store(path).get("pkg") == VALUES["pkg"] and len(data) > 0


# --------------------------------------------------------------------------- write failures


def test_read_only_directory_real_chmod(path: str) -> None:
    data = written(path)
    directory = os.path.dirname(path)
    os.chmod(directory, 0o555)
    try:
        with lazy_warnings() as got:
            store = Store(path)
            assert store.get("pkg") == VALUES["pkg"]
            result = store.write({"x": 1})
        if IS_ROOT:  # root ignores the mode bits: the write goes through
            assert result is True
        else:
            assert result is False and got == []
            assert open(path, "rb").read() == data
    finally:
        os.chmod(directory, 0o700)


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES, errno.EPERM])
def test_read_only_directory_simulated_is_silent(
    path: str, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    data = written(path)
    real_open = os.open
    directory = os.path.dirname(path)

    def ro_open(p: str, flags: int, *args: int) -> int:
        if os.path.dirname(p) == directory and flags & os.O_CREAT:
            raise OSError(code, os.strerror(code), p)
        return real_open(p, flags, *args)

    monkeypatch.setattr(os, "open", ro_open)
    with lazy_warnings() as got:
        store = Store(path)
        assert store.get("pkg") == VALUES["pkg"]  # used silently
        assert store.write({"x": 1}) is False  # skipped silently
    assert got == []
    assert open(path, "rb").read() == data and temps(path) == []


def test_erofs_on_replace_is_silent(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = written(path)

    def fail(*args: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(os, "replace", fail)
    with lazy_warnings() as got:
        assert Store(path).write({"x": 1}) is False
    assert got == [] and temps(path) == [] and open(path, "rb").read() == data


@pytest.mark.parametrize("step", ["write", "replace"])
@pytest.mark.parametrize(
    "code", [errno.ENOSPC, errno.EIO, errno.EACCES, errno.EXDEV], ids=errno.errorcode.get
)
def test_injected_failures_leave_old_file_and_no_temp(
    path: str, monkeypatch: pytest.MonkeyPatch, step: str, code: int
) -> None:
    data = written(path)
    real_write = os.write

    def fail(*args: object) -> None:
        exc = PermissionError if code == errno.EACCES else OSError
        raise exc(code, os.strerror(code))

    def fail_write(fd: int, buf: bytes) -> int:
        if len(buf) > 100:  # the temp file, not the test's own small writes
            fail()
        return real_write(fd, buf)

    if step == "write":
        monkeypatch.setattr(os, "write", fail_write)
    else:
        monkeypatch.setattr(os, "replace", fail)
    with lazy_warnings() as got:
        for _ in range(3):
            assert Store(path).write({"x": 1}) is False
    assert open(path, "rb").read() == data
    assert temps(path) == []
    assert len(got) == 1 and errno.errorcode[code] in got[0]
    assert Store(path).get("pkg") == VALUES["pkg"]


def test_each_failure_cause_warns_once(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    written(path)
    current = [errno.ENOSPC]

    def fail(*args: object) -> None:
        raise OSError(current[0], os.strerror(current[0]))

    monkeypatch.setattr(os, "replace", fail)
    with lazy_warnings() as got:
        for code in (errno.ENOSPC, errno.ENOSPC, errno.EIO, errno.EIO, errno.ENOSPC):
            current[0] = code
            assert Store(path).write({"x": 1}) is False
    assert len(got) == 2


class _FakeMsvcrt(types.ModuleType):
    LK_NBLCK = 2
    LK_UNLCK = 0

    def __init__(self) -> None:
        super().__init__("msvcrt")
        self.calls: list[int] = []

    def locking(self, fd: int, mode: int, nbytes: int) -> None:
        self.calls.append(mode)


@pytest.fixture
def windows(monkeypatch: pytest.MonkeyPatch) -> tuple[_FakeMsvcrt, list[float]]:
    fake = _FakeMsvcrt()
    monkeypatch.setitem(sys.modules, "msvcrt", fake)
    # Every platform has both definitions; select Windows' (see _lock, _atomic, _store).
    monkeypatch.setattr(_lock, "_try", _lock._try_msvcrt)
    monkeypatch.setattr(_lock, "_check_path", _lock._check_path_windows)
    monkeypatch.setattr(_lock, "BUSY", (PermissionError, BlockingIOError))
    monkeypatch.setattr(_atomic, "_replace", _atomic._replace_windows)
    monkeypatch.setattr(_atomic, "_set_mode", _atomic._set_mode_windows)
    monkeypatch.setattr(S, "_trusted", S._trusted_windows)
    monkeypatch.setattr(S, "_symlink", S._symlink_windows)
    sleeps: list[float] = []
    fake_clocks(monkeypatch, sleep=sleeps.append)
    return fake, sleeps


def test_windows_replace_retries_then_succeeds(
    path: str, monkeypatch: pytest.MonkeyPatch, windows: tuple[_FakeMsvcrt, list[float]]
) -> None:
    fake, sleeps = windows
    written(path)
    fake.calls.clear()
    real_replace = os.replace
    failures = [3]

    def busy_replace(src: str, dst: str) -> None:
        if failures[0]:
            failures[0] -= 1
            raise PermissionError(errno.EACCES, "in use by another process")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", busy_replace)
    with lazy_warnings() as got:
        assert Store(path).write({"x": 1}) is True
    assert got == [] and len(sleeps) == 3 and all(0.001 <= s <= 0.05 for s in sleeps)
    assert fake.calls == [fake.LK_NBLCK]
    assert Store(path).get("x") == 1 and temps(path) == []


def test_windows_replace_gives_up_silently(
    path: str, monkeypatch: pytest.MonkeyPatch, windows: tuple[_FakeMsvcrt, list[float]]
) -> None:
    _, sleeps = windows
    data = written(path)
    tries = [0]

    def busy_replace(src: str, dst: str) -> None:
        tries[0] += 1
        raise PermissionError(errno.EACCES, "in use by another process")

    monkeypatch.setattr(os, "replace", busy_replace)
    with lazy_warnings() as got:
        assert Store(path).write({"x": 1}) is False
    assert got == [] and tries[0] == 5 and sum(sleeps) <= 0.1
    assert open(path, "rb").read() == data and temps(path) == []


# --------------------------------------------------------------------------- locking


def test_lock_timeout_writes_anyway(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import fcntl

    written(path)
    holder = os.open(path + ".lock", os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX)
    monkeypatch.setattr(_lock, "TIMEOUT", 0.2)
    try:
        t0 = time.monotonic()
        with lazy_warnings() as got:
            assert Store(path).write({"x": 1}) is True
        assert 0.2 <= time.monotonic() - t0 < 1.5
        assert len(got) == 1 and "without the lock" in got[0]
    finally:
        os.close(holder)
    assert Store(path).get("x") == 1


def test_lock_unsupported_writes_anyway(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import fcntl

    def no_locks(fd: int, op: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    with lazy_warnings() as got:
        assert Store(path).write({"x": 1}) is True
    assert got == [] and Store(path).get("x") == 1


def test_lock_is_held_during_the_replace(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import fcntl

    seen = []
    real_replace = os.replace

    def probe(src: str, dst: str) -> None:
        fd = os.open(path + ".lock", os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            seen.append("free")
        except BlockingIOError:
            seen.append("held")
        finally:
            os.close(fd)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", probe)
    assert Store(path).write({"x": 1})
    monkeypatch.setattr(_store_write.hooks, "lock", False)
    assert Store(path).write({"y": 1})
    assert seen == ["held", "free"]


def test_pause_switch_marks_the_window(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = path + ".marker"
    written(path)
    monkeypatch.setenv("LAZYHOOK_TEST_PAUSE_BEFORE_REPLACE", "0.05")
    monkeypatch.setenv("LAZYHOOK_TEST_WINDOW_MARKER", marker)
    store_hooks.install_from_env()
    seen_temps = []
    real_sleep = time.sleep

    def spy(seconds: float) -> None:
        seen_temps.append(len(temps(path)))  # the temp file is complete while we sleep
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", spy)  # the test hook's own sleep (store_hooks)
    assert Store(path).write({"x": 1})
    assert open(marker).read() == f"{os.getpid()}\n"
    assert seen_temps == [1] and temps(path) == []


def test_stale_temp_files_are_removed_by_age(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    written(path)
    directory = os.path.dirname(path)
    base = os.path.basename(path)
    old = os.path.join(directory, f".{base}.tmp.123.deadbeef")
    young = os.path.join(directory, f".{base}.tmp.456.cafef00d")
    unrelated = os.path.join(directory, ".other.cache.tmp.1.00")
    for name in (old, young, unrelated):
        put_bytes(name, b"half-written")
    past = time.time() - 120
    os.utime(old, (past, past))
    os.utime(unrelated, (past, past))
    assert Store(path).write({"x": 1})
    assert not os.path.exists(old)
    assert os.path.exists(young) and os.path.exists(unrelated)
    monkeypatch.setattr(_atomic, "STALE_TEMP_AGE", 0.0)  # the age is the only criterion
    time.sleep(0.01)
    assert Store(path).write({"y": 1})
    assert not os.path.exists(young) and os.path.exists(unrelated)


def test_a_file_in_the_way_of_the_directory_is_reported_once_across_runs(tmp_path: Path) -> None:
    # LAZYHOOK_CACHE_DIR naming a file: every run that learned something warned again
    # ("creating its directory: EEXIST"), so stderr differed from eager for good.
    blocker = tmp_path / "cache-file"
    blocker.write_text("not a directory")
    for inner in ("", "deeper"):
        path = os.path.join(str(blocker), inner, "names.cache")
        with lazy_warnings() as got:
            assert Store(path).write({"x": 1}) is False
        assert len(got) == 1 and "a file is in the way" in got[0] and "remembered in" in got[0]
        W._reported.clear()  # a later run
        with lazy_warnings() as got:
            assert Store(path).write({"x": 1}) is False
        assert got == []
    assert blocker.read_text() == "not a directory"


def test_no_home_directory_is_made_for_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # HOME=/nonexistent (a service account): the default cache made the home directory
    # itself, which Python never does.  No cache then, silently, as for a read-only one.
    home = tmp_path / "nonexistent"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CACHE_HOME")
    path = os.path.join(_config.default_cache_dir(), "names.cache")
    assert path.startswith(str(home))
    with lazy_warnings() as got:
        assert Store(path).write({"x": 1}) is False
        assert Store(path).get("x") is None
    assert got == [] and not home.exists()


def test_a_refusal_that_cannot_be_remembered_says_so(
    path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ``su`` keeping another user's HOME: the marker cannot be written, and the warning,
    # which said "not repeated ..., remembered in <marker>", came at every run.
    written(path)
    os.chmod(os.path.dirname(path), 0o777)  # refused
    (tmp_path / "home-file").write_text("")
    monkeypatch.setenv("HOME", str(tmp_path / "home-file"))  # nothing can be made under it
    monkeypatch.delenv("XDG_CACHE_HOME")
    try:
        with lazy_warnings() as got:
            assert Store(path).status() == "refused"
        assert len(got) == 1 and "repeated at each run" in got[0], got
        assert "not repeated" not in got[0]
    finally:
        os.chmod(os.path.dirname(path), 0o700)
