"""The on-disk store: one file of checksummed marshal blobs keyed by str, shared by processes.

The store knows nothing about modules: keys are ``str`` and values are marshal-able data.

File layout (all integers unsigned 32-bit little-endian)::

    offset  size  field
    0       8     magic  b"\\x89LZHS\\r\\n\\x1a"
    8       4     format version (_VERSION)
    12      24    interpreter tag (ASCII, NUL-padded; sys.implementation.cache_tag)
    36      4     entry count N
    40      4     K = byte length of the key blob
    44      4     total file length (a shorter or longer file is torn or foreign: corrupt)
    48      4     crc32 of the index (key blob + padding + records)
    52      4     crc32 of the entry region (everything after the records, to end of file)
    56      4     crc32 of bytes 0..56 (the header)
    60      K     key blob: the N keys, sorted, UTF-8 (surrogatepass), joined by NUL
    ..      0-3   NUL padding to a multiple of 4
    R       16*N  records, one per key in key order: offset (from the start of the entry
                  region), length, crc32 of the entry, last_used (unix seconds)
    E=R+16N ...   entry region: marshal.dumps(value) blobs, possibly with holes left by
                  replaced or dropped entries

Why this shape: opening must cost well under 1 ms for 10,000 entries, so nothing per entry is
decoded at open; the keys are split from one blob at C speed and the records are a memoryview
cast, read only for the entries actually used. Readers verify only the entries they use; the
region checksum is for writers, which can then carry every unchanged entry forward as one block
(offsets are relative to the region, so their records do not change either) instead of
re-verifying and re-laying-out 10,000 entries; holes are compacted away once they exceed a
quarter of the region. Keys are not a marshalled tuple because marshal preallocates whatever
element count the data claims (a 5-byte tuple header can ask for 16 GiB); a NUL-joined blob
split with a bounded ``maxsplit`` cannot allocate more than the file justifies. For the same
reason, and because marshal can be crashed by crafted back-references, every entry passes
``_marshal_is_safe`` before ``marshal.loads``: a checksum proves integrity, not honesty.

Concurrency: readers never lock; they open + read one complete file, because writers only ever
``os.replace`` a fully written temp file from the same directory (a rename across devices is a
copy that readers can see half-done). Writers serialize re-read/merge/replace with an advisory
lock on ``<cache>.lock`` so no update is lost; the lock only prevents lost updates, never torn
files, so a writer that cannot get it still writes.
"""

import errno
import marshal
import os
import stat
import sys
import time
import zlib

from lazyhook._warn import warn_once

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import TypeAlias

    # The parsed form of one file: (status, data, sorted keys, records, first entry offset),
    # status one of 'ok' | 'missing' | 'corrupt' | 'foreign' | 'refused'.
    _Snapshot: TypeAlias = tuple[str, bytes, list[str], memoryview | list[int], int]
    _Merged: TypeAlias = dict[str, tuple[memoryview | bytes, int, int]]

__all__ = ["Store"]

_MAGIC = b"\x89LZHS\r\n\x1a"
_VERSION = 1
_HEADER_SIZE = 60
# Header field offsets (see the layout above).
_AT_COUNT, _AT_KEY_LEN, _AT_SIZE, _AT_INDEX_CRC, _AT_REGION_CRC, _AT_HEADER_CRC = range(36, 60, 4)
_TAG_SIZE = 24
_RECORD_SIZE = 16
# Offsets are u32: the format cannot describe a larger file, so caps are clamped to this.
_FORMAT_MAX_BYTES = 0xFFFFFFFF

_IS_WINDOWS = os.name == "nt"
_LITTLE_ENDIAN = sys.byteorder == "little"

# A temp file younger than this may belong to a live writer (one that is paused, swapped out or
# writing a large file), so only older ones are treated as debris of a killed process.
_STALE_TEMP_AGE = 60.0
# An import must never hang on a stuck writer: after this long we write without the lock
# (atomic replace still guarantees readers a complete file; only a concurrent update may be lost).
_LOCK_TIMEOUT = 2.0
# Windows refuses os.replace while another process has the target open; it is usually a reader
# holding it for well under a millisecond, so a short bounded back-off wins almost always.
_REPLACE_DELAYS = (0.001, 0.004, 0.016, 0.05)
# Above this many put+drop keys a write rebuilds instead of splicing: each splice step moves
# the record array (16 bytes x N), so splicing is O(N x changes).
_SPLICE_MAX = 256
# No fsync by default. Measured here (ext4, 10,000 entries = 4.4 MB): write 0.9 ms, then
# rename 2.4 ms without fsync, or fsync 1.8 ms + rename 0.9 ms with it (ext4's auto_da_alloc
# already flushes on rename-over, so +0.3 ms net); on slower disks or network file systems an
# fsync costs 10-100 ms inside someone's import. What it buys is small for a cache: after a power
# loss a torn or zero-filled file fails its checksums, reads as empty and is rebuilt.
_FSYNC = False

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)
# O_NONBLOCK so that a FIFO planted at the cache path cannot block an import in open().
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_READ_FLAGS = os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC | _O_BINARY | _O_NONBLOCK
_SYMLINK_ERRNOS = (errno.ELOOP, errno.EMLINK)  # O_NOFOLLOW on a symlink: Linux ELOOP, BSD EMLINK
# Cannot create files here: a read-only deployment, which is supported and stays silent.
_READONLY_ERRNOS = (errno.EROFS, errno.EACCES, errno.EPERM)


def _make_tag() -> bytes:
    impl = sys.implementation
    tag = impl.cache_tag or f"{impl.name}-{sys.version_info[0]}{sys.version_info[1]}"
    raw = tag.encode("ascii", "replace")
    if len(raw) > _TAG_SIZE:
        raw = raw[:15] + b"~" + b"%08x" % zlib.crc32(raw)
    return raw.ljust(_TAG_SIZE, b"\0")


_TAG = _make_tag()

# A Store's view is one _Snapshot tuple assigned in one step, so a thread reading the Store never
# sees the keys of one file with the data of another.
_EMPTY: "_Snapshot" = ("missing", b"", [], [], 0)


def _u32(data: "bytes | bytearray", pos: int) -> int:
    return int.from_bytes(data[pos : pos + 4], "little")


def _p32(value: int) -> bytes:
    return value.to_bytes(4, "little")


# A dict body has no count: it ends at a '0'. Its frame gets a "remaining" so large that the
# per-object decrement never reaches zero; '0' closes it.
_DICT_FRAME = 1 << 62


def _marshal_is_safe(blob: bytes) -> bool:
    """Return True if ``marshal.loads(blob)`` is one plain-data object, safe and bounded to decode.

    The checksum proves the bytes are the ones written, not that the writer was honest, and
    marshal trusts its input in two ways that matter (both reproduced on 3.11.7):

    * counts: a tuple/list/set/int header claiming 2**31 elements is preallocated before the
      missing elements are noticed (16 GiB from 5 bytes). Every element takes at least one byte
      and the elements of nested open containers are disjoint, so in valid data the counts of
      all containers open at once sum to at most ``len(blob)``; checking that sum bounds all
      preallocations together to 8 bytes per blob byte.
    * back-references: a ref to a tuple still being filled, placed in a set or used as a dict
      key, is hashed with NULL items and crashes the interpreter (SIGSEGV). A ref to any open
      tuple is rejected; marshal.dumps never emits one (no tuple can contain itself). This needs
      exact ref numbering: marshal numbers every object flagged 0x80 except singletons and refs.

    Code objects and unknown type codes are rejected: the store holds plain data only. Cost is
    ~0.1 us per marshal object (the decode itself is ~0.015 us per object).
    """
    end = len(blob)
    pos = 0
    left = 1  # objects still to read in the innermost open container
    opened = 0  # sum of the counts of all open containers
    refs = 0  # ref numbers marshal has handed out so far
    frames: list[tuple[int, int, int]] = []  # enclosing (left, count, tuple ref or -1)
    open_tuples: list[int] = []  # ref numbers of tuples still being filled
    try:
        while True:
            byte = blob[pos]
            code = byte & 0x7F
            pos += 1
            if byte > 0x7F:
                refs += 1  # undone below for singletons (never numbered)
            if code == 0x7A or code == 0x5A:  # short ascii str 'z' 'Z': 1-byte length
                pos += 1 + blob[pos]
            elif code == 0x69:  # int32 'i'
                pos += 4
            elif code == 0x29 or code == 0x28:  # tuple: ')' 1-byte count, '(' 4-byte count
                if code == 0x29:
                    count = blob[pos]
                    pos += 1
                else:
                    count = _u32(blob, pos)
                    pos += 4
                if count:
                    opened += count
                    if opened > end:
                        return False
                    tuple_ref = refs - 1 if byte > 0x7F else -1
                    if tuple_ref >= 0:
                        open_tuples.append(tuple_ref)
                    frames.append((left - 1, count, tuple_ref))
                    left = count
                    continue
            elif code == 0x72:  # back-reference 'r'
                if byte > 0x7F:
                    refs -= 1
                index = _u32(blob, pos)
                pos += 4
                if index >= refs or index in open_tuples:
                    return False
            elif code in (0x4E, 0x54, 0x46, 0x53, 0x2E):  # None True False StopIteration ...
                if byte > 0x7F:
                    refs -= 1
            elif code in (0x61, 0x41, 0x75, 0x74, 0x73):  # str 'a' 'A' 'u' 't', bytes 's'
                pos += 4 + _u32(blob, pos)
            elif code in (0x5B, 0x3C, 0x3E, 0x7B):  # list set frozenset (4-byte count), dict
                if code == 0x7B:
                    count = 0
                    inner = _DICT_FRAME
                else:
                    count = inner = _u32(blob, pos)
                    pos += 4
                if inner:
                    opened += count
                    if opened > end:
                        return False
                    frames.append((left - 1, count, -1))
                    left = inner
                    continue
            elif code == 0x30:  # '0' NULL: only as the end of a dict body
                if left < _DICT_FRAME - end:
                    return False
                if byte > 0x7F:
                    refs -= 1
                # Back to the parent, whose count already includes the dict: +1 offsets the
                # common decrement below.
                left = frames.pop()[0] + 1
            elif code == 0x6C:  # long 'l': signed 4-byte digit count, 2 bytes per digit
                count = _u32(blob, pos)
                if count >= 0x80000000:
                    count = 0x100000000 - count
                pos += 4 + 2 * count
            elif code == 0x67 or code == 0x49:  # binary float 'g', int64 'I'
                pos += 8
            elif code == 0x79:  # binary complex 'y'
                pos += 16
            elif code == 0x66:  # text float 'f': 1-byte length
                pos += 1 + blob[pos]
            elif code == 0x78:  # text complex 'x': two such strings
                pos += 1 + blob[pos]
                pos += 1 + blob[pos]
            else:  # code objects 'c', unknown '?', garbage
                return False
            left -= 1
            while not left:  # the innermost container is complete
                if not frames:
                    return pos == end
                left, count, tuple_ref = frames.pop()
                opened -= count
                if tuple_ref >= 0:
                    open_tuples.pop()
    except IndexError:  # ran past the end of the blob
        return False


def _parse(data: bytes) -> "_Snapshot | str":
    """Parse header and index of *data*; return a snapshot tuple, 'foreign', or a corruption reason.

    Nothing here trusts a length without checking it against ``len(data)`` first, and nothing
    per entry is decoded: that happens in ``Store.get`` for the entries actually used.
    """
    size = len(data)
    if size < _HEADER_SIZE:
        return "truncated header"
    if data[:8] != _MAGIC:
        return "bad magic"
    # Version before the header checksum: a future version may lay out its header differently,
    # and it is a silent miss, not corruption.
    if _u32(data, 8) != _VERSION:
        return "foreign"
    if zlib.crc32(data[:_AT_HEADER_CRC]) != _u32(data, _AT_HEADER_CRC):
        return "header checksum mismatch"
    if data[12:36] != _TAG:
        return "foreign"
    # A file of another length is torn (a copy cut short, a crash without fsync) or was
    # appended to; either way nothing in it is known good, so it is all corrupt, not a few misses.
    if size != _u32(data, _AT_SIZE):
        return f"{size} bytes instead of {_u32(data, _AT_SIZE)}"
    count = _u32(data, _AT_COUNT)
    key_len = _u32(data, _AT_KEY_LEN)
    rec_start = _HEADER_SIZE + key_len + (-key_len) % 4
    rec_end = rec_start + _RECORD_SIZE * count
    if rec_end > size:
        return "index larger than the file"
    if zlib.crc32(memoryview(data)[_HEADER_SIZE:rec_end]) != _u32(data, _AT_INDEX_CRC):
        return "index checksum mismatch"
    keys: list[str] = []
    if count:
        try:
            # maxsplit bounds the pieces to the count the records (16 bytes each) paid for.
            text = data[_HEADER_SIZE : _HEADER_SIZE + key_len].decode("utf-8", "surrogatepass")
            keys = text.split("\0", count - 1)
        except UnicodeDecodeError:
            return "undecodable keys"
        if len(keys) != count or "\0" in keys[-1]:
            return "key count mismatch"
    elif key_len:
        return "key count mismatch"
    return ("ok", data, keys, _records(data, rec_start, rec_end), rec_end)


def _records(data: bytes, rec_start: int, rec_end: int) -> "memoryview | list[int]":
    if _LITTLE_ENDIAN:
        return memoryview(data)[rec_start:rec_end].cast("I")
    return [_u32(data, pos) for pos in range(rec_start, rec_end, 4)]


def _find(keys: "list[str]", key: str) -> int:
    # Binary search in Python (~1.5 us for 10,000 keys) instead of building a dict at open
    # (~400 us) or importing bisect (~0.3 ms in a fresh interpreter). A crafted unsorted key
    # list only makes lookups miss: the hit is confirmed by equality.
    lo = _insertion_point(keys, key)
    if lo < len(keys) and keys[lo] == key:
        return lo
    return -1


def _insertion_point(keys: "list[str]", key: str) -> int:
    lo = 0
    hi = len(keys)
    while lo < hi:
        mid = (lo + hi) // 2
        if keys[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _trusted(st: "os.stat_result") -> bool:
    # A file another user could have written may feed us anything; root-owned and not
    # group/other-writable is a pre-built shared cache. Windows has no uid/mode bits to check.
    if _IS_WINDOWS:
        return True
    if st.st_uid != os.getuid() and st.st_uid != 0:
        return False
    return not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


class _WriteFailed(Exception):
    """Internal: a write step failed; ``warn`` is False for silent (read-only) failures."""

    def __init__(self, cause: str, detail: str, warn: bool = True) -> None:
        super().__init__(cause)
        self.cause = cause
        self.detail = detail
        self.warn = warn


def _oserror_failure(exc: OSError, step: str) -> _WriteFailed:
    code = exc.errno or 0
    name = errno.errorcode.get(code, str(code))
    # EROFS anywhere is a read-only deployment: supported, so no warning.
    return _WriteFailed(name, f"{step}: {name} {exc.strerror}", warn=code != errno.EROFS)


class Store:
    """A key -> marshal-able value file, read lock-free, updated by atomic replace under a lock.

    Public methods never raise for I/O or data problems: a damaged file reads as empty (one
    ``LazyhookWarning`` naming it), a damaged entry as a miss, and a failed write returns False.
    """

    path: str

    def __init__(
        self, path: str, *, max_entries: int = 20_000, max_bytes: int = 64 * 1024 * 1024
    ) -> None:
        """Create a Store for *path*; nothing is read until first use."""
        self.path = os.path.abspath(path)
        self.max_entries = max(0, max_entries)
        self.max_bytes = max(0, min(max_bytes, _FORMAT_MAX_BYTES))
        self._snap: "_Snapshot | None" = None

    # ----------------------------------------------------------------- reading

    def _read(self) -> "_Snapshot":
        """Read and parse the file as it is on disk now; warn once if it is refused or corrupt."""
        status, detail, data = self._read_bytes()
        if status == "ok":
            parsed = _parse(data)
            if not isinstance(parsed, str):
                return parsed
            if parsed == "foreign":
                return ("foreign", b"", [], [], 0)
            status, detail = "corrupt", parsed
        if status == "corrupt":
            warn_once(
                f"store-corrupt:{self.path}",
                f"lazyhook: ignoring unusable name cache {self.path} ({detail}); "
                "it will be rebuilt on the next write",
            )
        elif status == "refused":
            warn_once(
                f"store-refused:{self.path}",
                f"lazyhook: refusing to use name cache {self.path} ({detail})",
            )
        return (status, b"", [], [], 0)

    def _read_bytes(self) -> "tuple[str, str, bytes]":
        # open()+read() without a prior exists() check: the file may be replaced between the two,
        # and the fd pins one complete version (os.replace swaps the name, not the inode).
        try:
            dir_st = os.stat(os.path.dirname(self.path))
        except OSError:
            return ("missing", "", b"")
        if not _trusted(dir_st):
            return (
                "refused",
                "its directory is writable by other users or owned by another user",
                b"",
            )
        if _IS_WINDOWS:
            try:
                if stat.S_ISLNK(os.lstat(self.path).st_mode):
                    return ("refused", "it is a symbolic link", b"")
            except OSError:
                pass
        try:
            fd = os.open(self.path, _READ_FLAGS)
        except (FileNotFoundError, NotADirectoryError):
            return ("missing", "", b"")
        except OSError as exc:
            if exc.errno in _SYMLINK_ERRNOS:
                return ("refused", "it is a symbolic link", b"")
            return ("corrupt", f"cannot read it: {exc.strerror}", b"")
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return ("corrupt", "not a regular file", b"")
            if not _trusted(st):
                return ("refused", "writable by other users or owned by another user", b"")
            if st.st_size > _FORMAT_MAX_BYTES:
                return ("corrupt", "larger than the format allows", b"")
            size = st.st_size
            data = os.read(fd, size + 1)
            if len(data) != size:
                # Short read or a file that changed size since fstat (not one of ours: ours are
                # never modified in place): read on to EOF rather than trust either number.
                chunks = [data]
                while chunk := os.read(fd, 65536):
                    chunks.append(chunk)
                data = b"".join(chunks)
        except OSError as exc:
            return ("corrupt", f"cannot read it: {exc.strerror}", b"")
        finally:
            os.close(fd)
        return ("ok", "", data)

    def load(self) -> None:
        """Read and index the file once per Store (lock-free); later calls do nothing.

        Invariant after the call: the in-memory view is one complete version of the file as it
        was at some instant, or empty (missing, foreign, corrupt or refused file).
        """
        if self._snap is None:
            self._snap = self._read()

    def _view(self) -> "_Snapshot":
        snap = self._snap
        if snap is None:
            snap = self._snap = self._read()
        return snap

    def get(self, key: str) -> object | None:
        """Return the value stored for *key*, or None.

        A value is only returned if its bytes lie inside the file, match their crc32, and form a
        marshal object that is safe to decode (``_marshal_is_safe``); anything else is a miss.
        """
        _, data, keys, records, start = self._view()
        if type(key) is not str:
            return None
        slot = _find(keys, key)
        if slot < 0:
            return None
        base = 4 * slot
        offset = start + records[base]
        end = offset + records[base + 1]
        if end > len(data):
            return None
        blob = data[offset:end]
        if zlib.crc32(blob) != records[base + 2] or not _marshal_is_safe(blob):
            return None
        try:
            value: object = marshal.loads(blob)
        except (ValueError, EOFError, TypeError):
            return None
        return value

    def keys(self) -> "list[str]":
        """Return the keys of the loaded file, sorted (entries are verified only by ``get``)."""
        return list(self._view()[2])

    def __len__(self) -> int:
        """Return the number of keys in the loaded file."""
        return len(self._view()[2])

    def __contains__(self, key: object) -> bool:
        """Return True if the loaded file's index lists *key* (its entry may still be bad)."""
        return type(key) is str and _find(self._view()[2], key) >= 0

    def last_used(self, key: str) -> int | None:
        """Return the unix time *key* was last written or touched, or None if absent."""
        _, _, keys, records, _ = self._view()
        slot = _find(keys, key) if type(key) is str else -1
        return None if slot < 0 else records[4 * slot + 3]

    def status(self) -> str:
        """Return 'ok', 'missing', 'corrupt', 'foreign' (other version/interpreter) or 'refused'."""
        return self._view()[0]

    # ----------------------------------------------------------------- writing

    def write(
        self,
        put: "Mapping[str, object]",
        drop: "Iterable[str]" = (),
        touch: "Iterable[str]" = (),
        *,
        shared: bool = False,
    ) -> bool:
        """Merge *put*/*drop*/*touch* into the file on disk; True if the new file is in place.

        Under the writer lock the current file is re-read from disk (another process may have
        written since ``load``), its verified entries are kept as raw bytes, *drop* keys removed,
        *put* added or replaced (a key in both *put* and *drop* is put), *put* and *touch* keys
        stamped with the current time, the caps enforced (least recently used first, ties by
        key), and a temp file in the same directory is written and ``os.replace``-d over the
        cache. On False the old file is intact and no temp file is left. On True this Store's
        view is the new file. *shared* writes the file 0o644 in a 0o755 directory (a cache
        prepared by root for all users).

        Test-only environment switches, read on every call: ``LAZYHOOK_TEST_NO_LOCK=1`` skips
        the lock (lost-update positive control); ``LAZYHOOK_TEST_PAUSE_BEFORE_REPLACE=<s>``
        sleeps between the complete temp file and the replace, first appending ``<pid>\\n`` to
        the file named by ``LAZYHOOK_TEST_WINDOW_MARKER`` if set.
        """
        try:
            self._write(put, drop, touch, shared)
        except _WriteFailed as exc:
            if exc.warn:
                warn_once(
                    f"store-write:{exc.cause}",
                    f"lazyhook: could not update the name cache {self.path} ({exc.detail}); "
                    "continuing without it",
                )
            return False
        return True

    def clear(self) -> bool:
        """Remove the cache file under the writer lock; True if it is gone (or was never there)."""
        self._snap = None
        try:
            lock = self._lock(self._lock_path())
        except _WriteFailed:
            return False
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        except OSError:
            return False
        finally:
            if lock is not None:
                os.close(lock)
        self._snap = _EMPTY
        return True

    def _lock_path(self) -> str:
        return self.path + ".lock"

    def _write(
        self,
        put: "Mapping[str, object]",
        drop: "Iterable[str]",
        touch: "Iterable[str]",
        shared: bool,
    ) -> None:
        now = min(max(int(time.time()), 0), 0xFFFFFFFF)
        fresh: dict[str, bytes] = {}
        for key, value in put.items():
            if type(key) is not str or "\0" in key:
                warn_once("store-bad-key", f"lazyhook: cache key {key!r} is not storable")
                continue
            try:
                blob = marshal.dumps(value)  # type: ignore[arg-type]
            except ValueError:
                warn_once(
                    "store-bad-value", f"lazyhook: cache value for {key!r} is not marshal-able"
                )
                continue
            if not _marshal_is_safe(blob):  # e.g. a code object: it would never read back
                warn_once("store-bad-value", f"lazyhook: cache value for {key!r} is not plain data")
                continue
            fresh[key] = blob
        removed = set(drop)
        touched = set(touch)

        directory = os.path.dirname(self.path)
        self._prepare_directory(directory, shared)
        lock = None
        if os.environ.get("LAZYHOOK_TEST_NO_LOCK") != "1":
            lock = self._lock(self._lock_path())
        try:
            # Re-read under the lock: our own view may be stale, and merging into it would
            # silently undo another process's update.
            snap = self._read()
            if snap[0] == "refused":
                raise _WriteFailed("refused", "already reported", warn=False)
            if snap[0] == "corrupt" and os.path.isdir(self.path):
                # No replace can put a file where a directory is; the read already warned.
                raise _WriteFailed("directory", "already reported", warn=False)
            _remove_stale_temps(directory, os.path.basename(self.path))
            data, keys = self._merge(snap, fresh, removed, touched, now)
            self._replace(directory, data, shared)
        finally:
            if lock is not None:
                os.close(lock)  # closing releases flock/msvcrt locks
        self._snap = _own_snapshot(data, keys)

    def _prepare_directory(self, directory: str, shared: bool) -> None:
        try:
            os.makedirs(directory, mode=0o755 if shared else 0o700, exist_ok=True)
            st = os.stat(directory)
        except OSError as exc:
            if exc.errno in _READONLY_ERRNOS:
                raise _WriteFailed("readonly", str(exc), warn=False) from None
            raise _oserror_failure(exc, "creating its directory") from None
        if not _trusted(st):
            warn_once(
                f"store-refused:{self.path}",
                f"lazyhook: refusing to use name cache {self.path} (its directory is writable by "
                "other users or owned by another user)",
            )
            raise _WriteFailed("refused", "untrusted directory", warn=False)
        if shared and not _IS_WINDOWS and st.st_mode & 0o055 != 0o055:
            try:
                os.chmod(directory, stat.S_IMODE(st.st_mode) | 0o755)
            except OSError:
                pass  # readers of other users will then miss: not worth failing the write

    def _lock(self, lock_path: str) -> int | None:
        """Take the writer lock; None means "write without it" (timeout or no lock support)."""
        if _IS_WINDOWS:
            try:
                if stat.S_ISLNK(os.lstat(lock_path).st_mode):
                    raise self._refuse_lock("it is a symbolic link")
            except OSError:
                pass
        flags = os.O_RDWR | os.O_CREAT | _O_NOFOLLOW | _O_CLOEXEC | _O_BINARY
        try:
            fd = os.open(lock_path, flags, 0o600)
        except OSError as exc:
            if exc.errno in _SYMLINK_ERRNOS:
                raise self._refuse_lock("it is a symbolic link") from None
            return None  # e.g. read-only directory: the temp file step decides what that means
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or not _trusted(st):
                raise self._refuse_lock("not a regular file that only this user can write")
            if self._acquire(fd):
                return fd
        except OSError:
            pass
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
        return None

    def _refuse_lock(self, why: str) -> _WriteFailed:
        warn_once(
            f"store-refused:{self._lock_path()}",
            f"lazyhook: refusing to use lock file {self._lock_path()} ({why})",
        )
        return _WriteFailed("refused", why, warn=False)

    def _acquire(self, fd: int) -> bool:
        deadline = time.monotonic() + _LOCK_TIMEOUT
        delay = 0.001
        if _IS_WINDOWS:
            import msvcrt

            def attempt() -> None:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined,unused-ignore]

            busy: tuple[type[OSError], ...] = (PermissionError, BlockingIOError)
        else:
            import fcntl

            def attempt() -> None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

            busy = (BlockingIOError,)
        while True:
            try:
                attempt()
                return True
            except busy:
                if time.monotonic() >= deadline:
                    warn_once(
                        "store-lock-timeout",
                        f"lazyhook: waited {_LOCK_TIMEOUT:g} s for {self._lock_path()}; "
                        "writing without the lock",
                    )
                    return False
                time.sleep(delay)
                delay = min(delay * 2, 0.02)
            # Any other OSError (ENOLCK on NFS, EOPNOTSUPP) propagates: no lock support here.

    def _merge(
        self,
        snap: "_Snapshot",
        fresh: "dict[str, bytes]",
        removed: "set[str]",
        touched: "set[str]",
        now: int,
    ) -> "tuple[bytes, list[str]]":
        data, keys, start = snap[1], snap[2], snap[4]
        region_ok = bool(keys) and zlib.crc32(memoryview(data)[start:]) == _u32(
            data, _AT_REGION_CRC
        )
        if region_ok and len(fresh) + len(removed) <= _SPLICE_MAX:
            spliced = self._splice(snap, fresh, removed, touched, now)
            if spliced is not None:
                return spliced
        return self._rebuild(snap, fresh, removed, touched, now, region_ok)

    def _splice(
        self,
        snap: "_Snapshot",
        fresh: "dict[str, bytes]",
        removed: "set[str]",
        touched: "set[str]",
        now: int,
    ) -> "tuple[bytes, list[str]] | None":
        """The common write: a few keys change in a verified file; None if a rebuild is due.

        The old entry region is kept byte for byte (its checksum was just verified as a whole) and
        new blobs are appended, so unchanged records are copied, not recomputed.
        """
        data, start = snap[1], snap[4]
        keys = list(snap[2])
        records = bytearray(memoryview(data)[start - _RECORD_SIZE * len(keys) : start])
        region_len = len(data) - start
        live = sum(_column(snap[3], 1))
        for key in removed.union(fresh):
            slot = _find(keys, key)
            if slot >= 0:
                base = _RECORD_SIZE * slot
                live -= _u32(records, base + 4)
                del keys[slot]
                del records[base : base + _RECORD_SIZE]
        tail: list[bytes] = []
        for key in sorted(fresh):
            blob = fresh[key]
            slot = _insertion_point(keys, key)
            keys.insert(slot, key)
            base = _RECORD_SIZE * slot
            record = _p32(region_len) + _p32(len(blob)) + _p32(zlib.crc32(blob)) + _p32(now)
            records[base:base] = record
            tail.append(blob)
            region_len += len(blob)
            live += len(blob)
        stamp = _p32(now)
        for key in touched:
            slot = _find(keys, key)
            if slot >= 0:
                base = _RECORD_SIZE * slot + 12
                records[base : base + 4] = stamp
        # Holes over a quarter of the region: compact (the rebuild also re-verifies every entry).
        if region_len - live > region_len // 4:
            return None
        if len(keys) > self.max_entries:
            return None
        tail_bytes = b"".join(tail)
        region_crc = zlib.crc32(
            tail_bytes, _u32(data, _AT_REGION_CRC)
        )  # crc32 continues over appended bytes
        region: list[memoryview | bytes] = [memoryview(data)[start:], tail_bytes]
        out = _serialize(keys, bytes(records), region, region_crc)
        return None if len(out) > self.max_bytes else (out, keys)

    def _rebuild(
        self,
        snap: "_Snapshot",
        fresh: "dict[str, bytes]",
        removed: "set[str]",
        touched: "set[str]",
        now: int,
        region_ok: bool,
    ) -> "tuple[bytes, list[str]]":
        """Write every entry afresh: compacts holes, drops damaged entries, enforces the caps."""
        _, data, keys, records, start = snap
        view = memoryview(data)
        size = len(data)
        crc32 = zlib.crc32
        # key -> (blob, crc, last_used); old blobs stay memoryview slices: never decoded, and
        # copied only once, by the final join.
        merged: _Merged = {}
        blob_bytes = 0
        if keys:
            cols = [_column(records, j) for j in range(4)]
            for key, off, length, crc, used in zip(keys, *cols, strict=True):
                if key in fresh or key in removed:
                    continue
                off += start
                if off + length > size:
                    continue
                blob = view[off : off + length]
                # A damaged entry is dropped rather than carried forward. Per-entry crcs are
                # skipped when the whole region's crc already matched.
                if not region_ok and crc32(blob) != crc:
                    continue
                merged[key] = (blob, crc, now if key in touched else used)
                blob_bytes += length
        for key, new in fresh.items():
            merged[key] = (new, crc32(new), now)
            blob_bytes += len(new)
        total = _file_size(merged, blob_bytes)
        if len(merged) > self.max_entries or total > self.max_bytes:
            self._evict(merged, total)
        out_keys = sorted(merged)
        flat: list[int] = []
        blobs: list[memoryview | bytes] = []
        offset = 0
        for key in out_keys:
            entry, crc, used = merged[key]
            flat += (offset, len(entry), crc, used)
            blobs.append(entry)
            offset += len(entry)
        region = b"".join(blobs)
        region_crc = crc32(region)
        return _serialize(out_keys, _pack_records(flat), [region], region_crc), out_keys

    def _evict(self, merged: "_Merged", size: int) -> None:
        count = len(merged)
        # Least recently used first, ties by key, so every process evicts the same entries.
        for key in sorted(merged, key=lambda k: (merged[k][2], k)):
            if count <= self.max_entries and size <= self.max_bytes:
                break
            blob = merged.pop(key)[0]
            count -= 1
            size -= len(key.encode("utf-8", "surrogatepass")) + 1 + _RECORD_SIZE + len(blob)

    def _replace(self, directory: str, data: bytes, shared: bool) -> None:
        base = os.path.basename(self.path)
        tmp = os.path.join(directory, f".{base}.tmp.{os.getpid()}.{os.urandom(4).hex()}")
        mode = 0o644 if shared else 0o600
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC | _O_BINARY
        try:
            fd = os.open(tmp, flags, mode)
        except OSError as exc:
            if exc.errno in _READONLY_ERRNOS:
                raise _WriteFailed("readonly", str(exc), warn=False) from None
            raise _oserror_failure(exc, "creating a temp file") from None
        try:
            try:
                if not _IS_WINDOWS:
                    os.fchmod(fd, mode)  # exact mode whatever the umask
                view = memoryview(data)
                written = 0
                while written < len(data):
                    written += os.write(fd, view[written:])
                if _FSYNC:
                    os.fsync(fd)
            finally:
                os.close(fd)
            _test_pause()
            _replace_with_retry(tmp, self.path)
        except OSError as exc:
            _unlink_quietly(tmp)
            if _IS_WINDOWS and isinstance(exc, PermissionError):
                # The target stayed open in another process through every retry: give up
                # silently, the next write will try again.
                raise _WriteFailed("busy", str(exc), warn=False) from None
            raise _oserror_failure(exc, "writing") from None
        except BaseException:
            _unlink_quietly(tmp)
            raise


def _column(records: "memoryview | list[int]", j: int) -> "list[int]":
    col = records[j::4]
    return col.tolist() if isinstance(col, memoryview) else col


def _serialize(
    keys: "list[str]", records: bytes, region: "list[memoryview | bytes]", region_crc: int
) -> bytes:
    key_blob = "\0".join(keys).encode("utf-8", "surrogatepass")
    pad = b"\0" * ((-len(key_blob)) % 4)
    size = _HEADER_SIZE + len(key_blob) + len(pad) + len(records) + sum(map(len, region))
    if size > _FORMAT_MAX_BYTES:
        raise _WriteFailed("too-large", "the file would exceed the format's 4 GiB limit")
    index_crc = zlib.crc32(records, zlib.crc32(pad, zlib.crc32(key_blob)))
    head = _MAGIC + _p32(_VERSION) + _TAG + _p32(len(keys)) + _p32(len(key_blob)) + _p32(size)
    head += _p32(index_crc) + _p32(region_crc)
    head += _p32(zlib.crc32(head))
    return b"".join([head, key_blob, pad, records, *region])


def _pack_records(flat: "list[int]") -> bytes:
    from array import array

    packed = array("I", flat)
    if packed.itemsize != 4:  # array('I') is 4 bytes on every supported platform; be sure
        return b"".join(v.to_bytes(4, "little") for v in flat)
    if not _LITTLE_ENDIAN:
        packed.byteswap()
    return packed.tobytes()


def _file_size(merged: "_Merged", blob_bytes: int) -> int:
    key_bytes = len("\0".join(merged).encode("utf-8", "surrogatepass"))
    return _HEADER_SIZE + key_bytes + 3 + _RECORD_SIZE * len(merged) + blob_bytes


def _own_snapshot(data: bytes, keys: "list[str]") -> "_Snapshot":
    # The view of a file this process just built: no need to re-check or re-split (~0.35 ms).
    key_len = _u32(data, _AT_KEY_LEN)
    rec_start = _HEADER_SIZE + key_len + (-key_len) % 4
    rec_end = rec_start + _RECORD_SIZE * len(keys)
    return ("ok", data, keys, _records(data, rec_start, rec_end), rec_end)


def _replace_with_retry(tmp: str, path: str) -> None:
    if not _IS_WINDOWS:
        os.replace(tmp, path)
        return
    for delay in _REPLACE_DELAYS:
        try:
            os.replace(tmp, path)
            return
        except PermissionError:
            time.sleep(delay)
    os.replace(tmp, path)


def _test_pause() -> None:
    pause = os.environ.get("LAZYHOOK_TEST_PAUSE_BEFORE_REPLACE")
    if not pause:
        return
    marker = os.environ.get("LAZYHOOK_TEST_WINDOW_MARKER")
    if marker:
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, b"%d\n" % os.getpid())
        finally:
            os.close(fd)
    time.sleep(float(pause))


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _remove_stale_temps(directory: str, base: str) -> None:
    """Delete temp files of this cache older than _STALE_TEMP_AGE (debris of killed writers)."""
    prefix = f".{base}.tmp."
    cutoff = time.time() - _STALE_TEMP_AGE
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if not name.startswith(prefix):
            continue
        full = os.path.join(directory, name)
        try:
            st = os.lstat(full)
            if st.st_mtime < cutoff and not stat.S_ISDIR(st.st_mode):
                os.unlink(full)
        except OSError:
            pass
