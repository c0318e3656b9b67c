"""The on-disk store: its byte format, and reading it.  One file of checksummed marshal
blobs keyed by str, shared by processes; the store knows nothing about modules.

File layout (all integers unsigned 32-bit little-endian)::

    offset  size  field
    0       8     magic  b"\\x89LZHS\\r\\n\\x1a"
    8       4     format version (VERSION)
    12      24    interpreter tag (ASCII, NUL-padded; sys.implementation.cache_tag)
    36      4     entry count N
    40      4     K = byte length of the key blob
    44      4     total file length (a shorter or longer file is torn or foreign: corrupt)
    48      4     crc32 of the index (key blob + padding + records)       -- writers
    52      4     crc32 of the entry region (records end to end of file)  -- writers
    56      4     check of bytes 0..56 (the header)                        -- everyone
    60      K     key blob: the N keys, sorted, UTF-8 (surrogatepass), joined by NUL
    ..      0-3   NUL padding to a multiple of 4
    R       16*N  records, one per key in key order: offset (from the start of the entry
                  region), length, check of (key, NUL, entry), last_used (unix seconds)
    E=R+16N ...   entry region: marshal.dumps(value) blobs, possibly with holes left by
                  replaced or dropped entries

Opening costs well under 1 ms for 10,000 entries: nothing per entry is decoded at open, the
keys are split from one blob at C speed (a bounded ``maxsplit``: unlike a marshalled tuple,
whose header can make marshal preallocate 16 GiB, it cannot allocate more than the file
justifies), and the records are a memoryview, read only for the entries used.

Two checksums for two kinds of reader.  A reader checks the header and, per entry it uses,
``check(key NUL blob)``: the key is inside the check, so a damaged index only makes a lookup
miss, never hands one module another's entry.  ``check`` uses builtins alone because loading
``zlib`` costs ~0.35 ms, a third of a warm star import.  A writer carries every unchanged
entry forward as one block, so it verifies index and region with ``zlib.crc32`` (``_merge``).
Version 2 (this one) replaced version 1's crc32s: a version-1 file is "foreign", a silent miss.

Reading loads this file and ``_marshal_check`` (every blob passes ``is_safe`` before
``marshal.loads``); writing is ``_store_write``'s.  Readers never lock: writers only ever
``os.replace`` a complete temp file from the same directory.  Trust: the file and its
directory must belong to this user (or root: a pre-built shared cache) and not be writable by
group or others; anything else is refused with one warning.
"""

import marshal
import os
import stat
import sys

from lazyhook._marshal_check import is_safe

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypeAlias

    # The parsed form of one file: (status, data, sorted keys, records, first entry offset),
    # status one of 'ok' | 'missing' | 'corrupt' | 'foreign' | 'refused'.
    Snapshot: TypeAlias = tuple[str, bytes, list[str], memoryview | list[int], int]

MAGIC = b"\x89LZHS\r\n\x1a"
VERSION = 2
HEADER_SIZE = 60
# Header field offsets (see the layout above).
AT_VERSION = 8
AT_COUNT, AT_KEY_LEN, AT_SIZE, AT_INDEX_CRC, AT_REGION_CRC, AT_HEADER_CHECK = range(36, 60, 4)
TAG_SIZE = 24
RECORD_SIZE = 16
# Offsets are u32: the format cannot describe a larger file, so caps are clamped to this.
FORMAT_MAX_BYTES = 0xFFFFFFFF

_LITTLE_ENDIAN = sys.byteorder == "little"
# The largest prime below 2**30: one CPython digit, so ``%`` takes the single-digit path.
_PRIME = 1073741789

EMPTY: "Snapshot" = ("missing", b"", [], [], 0)


def check(data: "bytes | memoryview") -> int:
    """The reader's checksum: the bytes as a little-endian integer, modulo a prime.

    Any change of up to one byte's worth, anywhere, changes it (256**i * d is never a multiple
    of the prime); unrelated data collides with probability 2**-30.  Honest data only: the
    marshal validator, not this, protects against crafted files.
    """
    return int.from_bytes(data, "little") % _PRIME


def entry_check(key: str, blob: "bytes | memoryview") -> int:
    """``check`` of the key, a NUL and the entry blob: binds an entry to its key."""
    return check(key.encode("utf-8", "surrogatepass") + b"\0" + bytes(blob))


def _make_tag() -> bytes:
    impl = sys.implementation
    tag = impl.cache_tag or f"{impl.name}-{sys.version_info[0]}{sys.version_info[1]}"
    raw = tag.encode("ascii", "replace")
    if len(raw) > TAG_SIZE:
        raw = raw[:15] + b"~" + b"%08x" % check(raw)
    return raw.ljust(TAG_SIZE, b"\0")


TAG = _make_tag()


def u32(data: "bytes | bytearray | memoryview", pos: int) -> int:
    return int.from_bytes(data[pos : pos + 4], "little")


def p32(value: int) -> bytes:
    return value.to_bytes(4, "little")


def index_bounds(key_len: int, count: int) -> "tuple[int, int]":
    """(start, end) of the records: after the key blob and its padding to 4 bytes."""
    start = HEADER_SIZE + key_len + (-key_len) % 4
    return start, start + RECORD_SIZE * count


def check_header(head: bytes, size: int) -> "str | None":
    """None if the first HEADER_SIZE bytes *head* describe a usable file of *size* bytes;
    else 'foreign' or the reason it is corrupt.  Read before the rest of the file, so that a
    huge or foreign file is never read whole."""
    if len(head) < HEADER_SIZE:
        return "truncated header"
    if head[:8] != MAGIC:
        return "bad magic"
    # Version before the header checksum: a future version may lay out its header differently,
    # and it is a silent miss, not corruption.
    if u32(head, AT_VERSION) != VERSION:
        return "foreign"
    if check(head[:AT_HEADER_CHECK]) != u32(head, AT_HEADER_CHECK):
        return "header checksum mismatch"
    if head[12:36] != TAG:
        return "foreign"
    # A file of another length is torn (a copy cut short, a crash without fsync) or was
    # appended to; either way nothing in it is known good, so it is all corrupt.
    if size != u32(head, AT_SIZE):
        return f"{size} bytes instead of {u32(head, AT_SIZE)}"
    return None


def parse(data: bytes, verify_index: bool = False) -> "Snapshot | str":
    """Parse header and index of *data*: a snapshot, 'foreign', or the reason it is corrupt.

    Nothing here trusts a length without checking it against ``len(data)`` first, and nothing
    per entry is decoded: that happens in ``Store.get`` for the entries actually used.  With
    *verify_index* (writers, ``status()``), the index's crc32 is checked too.
    """
    size = len(data)
    problem = check_header(data[:HEADER_SIZE], size)
    if problem is not None:
        return problem
    count = u32(data, AT_COUNT)
    key_len = u32(data, AT_KEY_LEN)
    rec_start, rec_end = index_bounds(key_len, count)
    if rec_end > size:
        return "index larger than the file"
    if verify_index:
        from lazyhook._stdlib import module

        if module("zlib").crc32(memoryview(data)[HEADER_SIZE:rec_end]) != u32(data, AT_INDEX_CRC):
            return "index checksum mismatch"
    keys: list[str] = []
    if count:
        try:
            # maxsplit bounds the pieces to the count the records (16 bytes each) paid for.
            text = data[HEADER_SIZE : HEADER_SIZE + key_len].decode("utf-8", "surrogatepass")
            keys = text.split("\0", count - 1)
        except UnicodeDecodeError:
            return "undecodable keys"
        if len(keys) != count or "\0" in keys[-1]:
            return "key count mismatch"
    elif key_len:
        return "key count mismatch"
    return ("ok", data, keys, records(data, rec_start, rec_end), rec_end)


def own_snapshot(data: bytes, keys: "list[str]") -> "Snapshot":
    """The view of a file this process just built: no need to re-check or re-split."""
    rec_start, rec_end = index_bounds(u32(data, AT_KEY_LEN), len(keys))
    return ("ok", data, keys, records(data, rec_start, rec_end), rec_end)


def records(data: bytes, rec_start: int, rec_end: int) -> "memoryview | list[int]":
    if _LITTLE_ENDIAN:
        return memoryview(data)[rec_start:rec_end].cast("I")
    return [u32(data, pos) for pos in range(rec_start, rec_end, 4)]


def find(keys: "list[str]", key: str) -> int:
    """The slot of *key* in sorted *keys*, or -1.  Binary search in Python (~1.5 us for
    10,000 keys) rather than a dict built at open (~400 us) or bisect (~0.3 ms to import).
    A crafted unsorted key list only makes lookups miss: a hit is confirmed by equality."""
    lo = insertion_point(keys, key)
    if lo < len(keys) and keys[lo] == key:
        return lo
    return -1


def insertion_point(keys: "list[str]", key: str) -> int:
    lo = 0
    hi = len(keys)
    while lo < hi:
        mid = (lo + hi) // 2
        if keys[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


# O_NONBLOCK so that a FIFO planted at the cache path cannot block an import in open().
_READ_FLAGS = os.O_RDONLY | sum(
    getattr(os, flag, 0) for flag in ("O_NOFOLLOW", "O_CLOEXEC", "O_BINARY", "O_NONBLOCK")
)


# One definition per platform; the module picks its platform's at import.  (Both exist on
# every platform so that the tests can simulate Windows on Linux.)


def _trusted_posix(st: "os.stat_result") -> bool:
    if st.st_uid != os.getuid() and st.st_uid != 0:
        return False
    return not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _trusted_windows(st: "os.stat_result") -> bool:
    return True  # no uid/mode bits to check


def _symlink_windows(path: str) -> bool:
    # No O_NOFOLLOW on Windows: look before opening.
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return False


def _symlink_posix(path: str) -> bool:
    return False  # O_NOFOLLOW refuses a symbolic link at open


if os.name == "nt":
    _trusted, _symlink = _trusted_windows, _symlink_windows
else:
    _trusted, _symlink = _trusted_posix, _symlink_posix


def trusted(st: "os.stat_result") -> bool:
    """May this user trust a file or directory with this stat: owned by the user or root,
    and not writable by group or others?  (Windows has no uid/mode bits to check.)"""
    return _trusted(st)


def _warn(path: str, message: str) -> None:
    """One warning per cache file and process, shown as the file's (no line of code is why)."""
    from lazyhook._warn import warn_once

    warn_once(f"store-corrupt:{path}", message, origin=path)


def _unusable(path: str, problem: str) -> None:
    _warn(path, f"lazyhook: ignoring unusable name cache {path} ({problem}); it will be rebuilt")


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
        self.max_bytes = max(0, min(max_bytes, FORMAT_MAX_BYTES))
        self._snap: Snapshot | None = None
        self._verified = False  # has the loaded file's index crc been checked?

    # ----------------------------------------------------------------- reading

    def _read(self, verify_index: bool = False) -> "Snapshot":
        """Read and parse the file as it is on disk now; warn once if it is refused or corrupt."""
        status, detail, data = self._read_bytes()
        if status == "ok":
            parsed = parse(data, verify_index)
            if not isinstance(parsed, str):
                return parsed
            if parsed == "foreign":
                return ("foreign", b"", [], [], 0)
            status, detail = "corrupt", parsed
        if status == "refused":
            # Not ours to trust: moved aside (then rebuilt) where that is safe, else reported
            # once across runs (_refused).
            from lazyhook import _refused

            if _refused.move_aside(self.path, detail):
                return EMPTY
            _refused.report(self.path, detail)
            return ("refused", b"", [], [], 0)
        if status == "corrupt":
            _unusable(self.path, detail)
        return (status, b"", [], [], 0)

    def _read_bytes(self) -> "tuple[str, str, bytes]":
        # open()+read() without a prior exists() check: the file may be replaced between the
        # two, and the fd pins one complete version (os.replace swaps the name, not the inode).
        try:
            dir_st = os.stat(os.path.dirname(self.path))
        except OSError:
            return ("missing", "", b"")
        if not trusted(dir_st):
            return ("refused", "its directory is writable by others or owned by another user", b"")
        if _symlink(self.path):
            return ("refused", "it is a symbolic link", b"")
        try:
            fd = os.open(self.path, _READ_FLAGS)
        except (FileNotFoundError, NotADirectoryError):
            return ("missing", "", b"")
        except OSError as exc:
            import errno

            if exc.errno in (errno.ELOOP, errno.EMLINK):  # O_NOFOLLOW: Linux ELOOP, BSD EMLINK
                return ("refused", "it is a symbolic link", b"")
            return ("corrupt", f"cannot read it: {exc.strerror}", b"")
        try:
            return self._read_fd(fd)
        except OSError as exc:
            return ("corrupt", f"cannot read it: {exc.strerror}", b"")
        finally:
            os.close(fd)

    def _read_fd(self, fd: int) -> "tuple[str, str, bytes]":
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return ("refused", "not a regular file", b"")
        if not trusted(st):
            return ("refused", "writable by other users or owned by another user", b"")
        size = st.st_size
        if size > self.max_bytes:
            # Never read it: memory and time stay bounded whatever sits at the path.
            return ("corrupt", f"{size} bytes, over the cache's limit of {self.max_bytes}", b"")
        data = os.read(fd, size + 1)
        if len(data) != size:
            # Short read or a file that changed size since fstat (not one of ours: ours are
            # never modified in place): read on to the limit rather than trust either number.
            chunks = [data]
            total = len(data)
            while total <= self.max_bytes and (chunk := os.read(fd, 65536)):
                chunks.append(chunk)
                total += len(chunk)
            data = b"".join(chunks)
            if total > self.max_bytes:
                return ("corrupt", "it grew over the cache's limit while being read", b"")
        return ("ok", "", data)

    def load(self) -> None:
        """Read and index the file once per Store (lock-free); later calls do nothing.

        Invariant after the call: the in-memory view is one complete version of the file as it
        was at some instant, or empty (missing, foreign, corrupt or refused file).
        """
        if self._snap is None:
            self._snap = self._read()

    def _view(self) -> "Snapshot":
        snap = self._snap
        if snap is None:
            snap = self._snap = self._read()
        return snap

    def get(self, key: str) -> object | None:
        """Return the value stored for *key*, or None.

        A value is only returned if its bytes lie inside the file, match their check (which
        covers the key too), and form a marshal object that is safe to decode; anything else
        is a miss.
        """
        _, data, keys, records, start = self._view()
        if type(key) is not str:
            return None
        slot = find(keys, key)
        if slot < 0:
            return None
        base = 4 * slot
        offset = start + records[base]
        end = offset + records[base + 1]
        if end > len(data):
            return None
        blob = data[offset:end]
        if entry_check(key, blob) == records[base + 2] and is_safe(blob):
            try:
                return marshal.loads(blob)  # type: ignore[no-any-return]
            except (ValueError, EOFError, TypeError):
                pass
        # A damaged entry in a sound file (a flipped bit, a hostile edit): a miss, said once;
        # the next write drops it (_merge), and its module is learned again.
        _warn(self.path, f"lazyhook: ignoring a damaged entry ({key!r}) of name cache {self.path}")
        return None

    def keys(self) -> "list[str]":
        """Return the keys of the loaded file, sorted (entries are verified only by ``get``)."""
        return list(self._view()[2])

    def __len__(self) -> int:
        """Return the number of keys in the loaded file."""
        return len(self._view()[2])

    def __contains__(self, key: object) -> bool:
        """Return True if the loaded file's index lists *key* (its entry may still be bad)."""
        return type(key) is str and find(self._view()[2], key) >= 0

    def last_used(self, key: str) -> int | None:
        """Return the unix time *key* was last written or touched, or None if absent."""
        _, _, keys, records, _ = self._view()
        slot = find(keys, key) if type(key) is str else -1
        return None if slot < 0 else records[4 * slot + 3]

    def status(self) -> str:
        """Return 'ok', 'missing', 'corrupt', 'foreign' (other version/interpreter) or 'refused'.

        Unlike a lookup, this verifies the whole index (a damaged index only makes lookups
        miss, so readers do not pay for that check): a file that fails it reads as corrupt.
        """
        snap = self._view()
        if snap[0] == "ok" and not self._verified:
            problem = parse(snap[1], verify_index=True)
            self._verified = True
            if isinstance(problem, str):
                _unusable(self.path, problem)
                self._snap = ("corrupt", b"", [], [], 0)
        return self._view()[0]

    # ------------------------------------------------------- for _store_write

    def adopt(self, data: bytes, keys: "list[str]") -> None:
        """The writer's hook: this store's view is now the file *data* it just put in place."""
        self._snap = own_snapshot(data, keys)
        self._verified = True

    def forget(self, gone: bool) -> None:
        """The writer's hook: the view is stale (*gone*: the file was removed)."""
        self._snap = EMPTY if gone else None

    def lock_path(self) -> str:
        return self.path + ".lock"
