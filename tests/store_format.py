"""The store's byte layout as a forger sees it: read and patch fields, recompute checksums.

Checksums as ``lazyhook/_format.py`` documents them: the header and each entry (with its key)
by ``_format.check``, the index and the entry region by crc32.

Shared by the store's unit and property tests, which mutate real files and must make the
checksums valid again to reach the decoding code behind them.
"""

from __future__ import annotations

import zlib

from lazyhook import _store as F

HEADER = 60  # magic, version, tag, count, key length, file length, crc32 x2, header check


def u32(data: bytes | bytearray, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 4], "little")


def set_u32(data: bytearray, pos: int, value: int) -> None:
    if 0 <= pos and pos + 4 <= len(data):
        data[pos : pos + 4] = (value & 0xFFFFFFFF).to_bytes(4, "little")


def layout(data: bytes | bytearray) -> tuple[int, int, int, int]:
    """(count, key_len, records start, entry region start) per the documented layout."""
    count, key_len = u32(data, 36), u32(data, 40)
    rec_start = HEADER + key_len + (-key_len) % 4
    return count, key_len, rec_start, rec_start + 16 * count


def refresh_crcs(data: bytearray, fix_length: bool = True) -> bytearray:
    """Make every checksum of a mutated file valid again: entries, index, region, header.

    With *fix_length* the length field is also set to the real length, as a forger would.
    """
    if len(data) < HEADER:
        return data
    count, _, rec_start, start = layout(data)
    if fix_length:
        set_u32(data, 44, len(data))
    if start <= len(data):
        keys = bytes(data[HEADER : HEADER + u32(data, 40)]).split(b"\0")
        for slot in range(min(count, len(keys))):
            base = rec_start + 16 * slot
            off, length = u32(data, base), u32(data, base + 4)
            if start + off + length <= len(data):
                blob = bytes(data[start + off : start + off + length])
                set_u32(data, base + 8, F.check(keys[slot] + b"\0" + blob))
        set_u32(data, 48, zlib.crc32(data[HEADER:start]))
        set_u32(data, 52, zlib.crc32(data[start:]))
    set_u32(data, 56, F.check(bytes(data[:56])))
    return data
