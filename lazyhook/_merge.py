"""A writer's merge: the file on disk plus this process's changes, as the bytes of a new file.

Pure functions over a parsed snapshot (``_format``): no I/O, no locking (``_store`` does those
around this).  Loaded by writers only.
"""

from lazyhook import _store as F
from lazyhook._stdlib import module as _stdlib_module

zlib = _stdlib_module("zlib")  # never a program's zlib.py: see _stdlib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from array import array
    from collections.abc import Iterable
    from typing import TypeAlias

    # key -> (blob, check, last_used)
    _Merged: TypeAlias = dict[str, tuple[memoryview | bytes, int, int]]

# Above this many put+drop keys a write rebuilds instead of splicing: each splice step moves
# the record array (16 bytes x N), so splicing is O(N x changes).
SPLICE_MAX = 256


def merge(
    snap: "F.Snapshot",
    fresh: "dict[str, bytes]",
    removed: "set[str]",
    touched: "set[str]",
    now: int,
    max_entries: int,
    max_bytes: int,
) -> "tuple[bytes, list[str]]":
    """The new file's bytes and keys: *snap*'s entries, *removed* dropped, *fresh* (key ->
    marshal blob) added or replaced, *fresh* and *touched* stamped *now*, caps enforced."""
    region_ok = region_intact(snap)
    # Splicing inserts by binary search: only into a strictly sorted key list.  A forged index
    # (checksums recomputed) may list keys out of order; the rebuild sorts them.
    keys = snap[2]
    in_order = all(a < b for a, b in zip(keys, keys[1:], strict=False))
    if region_ok and in_order and len(fresh) + len(removed) <= SPLICE_MAX:
        spliced = _splice(snap, fresh, removed, touched, now, max_entries, max_bytes)
        if spliced is not None:
            return spliced
    return _rebuild(snap, fresh, removed, touched, now, region_ok, max_entries, max_bytes)


def _splice(
    snap: "F.Snapshot",
    fresh: "dict[str, bytes]",
    removed: "set[str]",
    touched: "set[str]",
    now: int,
    max_entries: int,
    max_bytes: int,
) -> "tuple[bytes, list[str]] | None":
    """The common write: a few keys change in a verified file; None if a rebuild is due.

    The old entry region is kept byte for byte (its crc32 was just verified as a whole) and
    new blobs are appended, so unchanged records are copied, not recomputed.
    """
    data, start = snap[1], snap[4]
    keys = list(snap[2])
    records = bytearray(memoryview(data)[start - F.RECORD_SIZE * len(keys) : start])
    region_len = len(data) - start
    live = sum(column(snap[3], 1))
    for key in removed.union(fresh):
        slot = F.find(keys, key)
        if slot >= 0:
            base = F.RECORD_SIZE * slot
            live -= F.u32(records, base + 4)
            del keys[slot]
            del records[base : base + F.RECORD_SIZE]
    tail: list[bytes] = []
    for key in sorted(fresh):
        blob = fresh[key]
        slot = F.insertion_point(keys, key)
        keys.insert(slot, key)
        base = F.RECORD_SIZE * slot
        check = F.entry_check(key, blob)
        records[base:base] = F.p32(region_len) + F.p32(len(blob)) + F.p32(check) + F.p32(now)
        tail.append(blob)
        region_len += len(blob)
        live += len(blob)
    stamp = F.p32(now)
    for key in touched:
        slot = F.find(keys, key)
        if slot >= 0:
            base = F.RECORD_SIZE * slot + 12
            records[base : base + 4] = stamp
    # Holes over a quarter of the region: compact (the rebuild also re-verifies every entry).
    if region_len - live > region_len // 4 or len(keys) > max_entries:
        return None
    tail_bytes = b"".join(tail)
    # crc32 continues over appended bytes.
    region_crc = zlib.crc32(tail_bytes, F.u32(data, F.AT_REGION_CRC))
    region: list[memoryview | bytes] = [memoryview(data)[start:], tail_bytes]
    out = serialize(keys, bytes(records), region, region_crc)
    return None if len(out) > max_bytes else (out, keys)


def _rebuild(
    snap: "F.Snapshot",
    fresh: "dict[str, bytes]",
    removed: "set[str]",
    touched: "set[str]",
    now: int,
    region_ok: bool,
    max_entries: int,
    max_bytes: int,
) -> "tuple[bytes, list[str]]":
    """Write every entry afresh: compacts holes, drops damaged entries, enforces the caps."""
    _, data, keys, records, start = snap
    view = memoryview(data)
    size = len(data)
    # Old blobs stay memoryview slices: never decoded, and copied only once, by the final join.
    merged: _Merged = {}
    blob_bytes = 0
    if keys:
        cols = [column(records, j) for j in range(4)]
        for i, (key, off, length, check, used) in enumerate(zip(keys, *cols, strict=True)):
            if key in fresh or key in removed:
                continue
            if key in merged and F.find(keys, key) != i:
                continue  # a forged index's duplicate key: keep the entry readers were given
            off += start
            if off + length > size:
                continue
            blob = view[off : off + length]
            # A damaged entry is dropped rather than carried forward.  Per-entry checks are
            # skipped when the whole region's crc32 already matched.
            if not region_ok and F.entry_check(key, blob) != check:
                continue
            merged[key] = (blob, check, now if key in touched else used)
            blob_bytes += length
    for key, new in fresh.items():
        merged[key] = (new, F.entry_check(key, new), now)
        blob_bytes += len(new)
    total = file_size(merged, blob_bytes)
    if len(merged) > max_entries or total > max_bytes:
        _evict(merged, total, max_entries, max_bytes)
    out_keys = sorted(merged)
    flat: list[int] = []
    blobs: list[memoryview | bytes] = []
    offset = 0
    for key in out_keys:
        entry, check, used = merged[key]
        flat += (offset, len(entry), check, used)
        blobs.append(entry)
        offset += len(entry)
    region = b"".join(blobs)
    return serialize(out_keys, pack_records(flat), [region], zlib.crc32(region)), out_keys


def _evict(merged: "_Merged", size: int, max_entries: int, max_bytes: int) -> None:
    count = len(merged)
    # Least recently used first, ties by key, so every process evicts the same entries.
    for key in sorted(merged, key=lambda k: (merged[k][2], k)):
        if count <= max_entries and size <= max_bytes:
            break
        blob = merged.pop(key)[0]
        count -= 1
        size -= len(key.encode("utf-8", "surrogatepass")) + 1 + F.RECORD_SIZE + len(blob)


def region_intact(snap: "F.Snapshot") -> bool:
    """Does the entry region's crc32 match (a writer may then carry it forward whole)?"""
    data, start = snap[1], snap[4]
    return bool(snap[2]) and zlib.crc32(memoryview(data)[start:]) == F.u32(data, F.AT_REGION_CRC)


def column(recs: "memoryview | list[int]", j: int) -> "list[int]":
    col = recs[j::4]
    return col.tolist() if isinstance(col, memoryview) else col


def serialize(
    keys: "list[str]", recs: bytes, region: "list[memoryview | bytes]", region_crc: int
) -> bytes:
    """A whole file from sorted *keys*, their packed records and the entry region.
    ``OverflowError`` if it would exceed what the format can describe."""
    key_blob = "\0".join(keys).encode("utf-8", "surrogatepass")
    pad = b"\0" * ((-len(key_blob)) % 4)
    size = F.HEADER_SIZE + len(key_blob) + len(pad) + len(recs) + sum(map(len, region))
    if size > F.FORMAT_MAX_BYTES:
        raise OverflowError("the file would exceed the format's 4 GiB limit")
    index_crc = zlib.crc32(recs, zlib.crc32(pad, zlib.crc32(key_blob)))
    head = F.MAGIC + F.p32(F.VERSION) + F.TAG
    head += F.p32(len(keys)) + F.p32(len(key_blob)) + F.p32(size)
    head += F.p32(index_crc) + F.p32(region_crc)
    head += F.p32(F.check(head))
    return b"".join([head, key_blob, pad, recs, *region])


def pack_records(flat: "list[int]") -> bytes:
    packed: "array[int]" = _stdlib_module("array").array("I", flat)
    if packed.itemsize != 4:  # array('I') is 4 bytes on every supported platform; be sure
        return b"".join(v.to_bytes(4, "little") for v in flat)
    if not F._LITTLE_ENDIAN:
        packed.byteswap()
    return packed.tobytes()


def file_size(keys: "Iterable[str]", blob_bytes: int) -> int:
    """The size of a file holding *keys* and *blob_bytes* of entries (padding at most)."""
    keys = list(keys)
    key_bytes = len("\0".join(keys).encode("utf-8", "surrogatepass"))
    return F.HEADER_SIZE + key_bytes + 3 + F.RECORD_SIZE * len(keys) + blob_bytes
