"""Is a marshal blob plain data that is safe, and bounded, to decode?

Everything the store reads from disk passes ``is_safe`` before ``marshal.loads``: the
checksums prove the bytes are the ones written, not that the writer was honest.  Self-contained
(no imports) and pure: a natural fuzz target (``tests/test_store_fuzz.py``).
"""


def _u32(data: bytes, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 4], "little")


# A dict body has no count: it ends at a '0'. Its frame gets a "remaining" so large that the
# per-object decrement never reaches zero; '0' closes it.
_DICT_FRAME = 1 << 62


def is_safe(blob: bytes) -> bool:
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
    walk = _Walk(len(blob))
    try:
        return walk.run(blob)
    except IndexError:  # ran past the end of the blob
        return False


_SINGLETONS = frozenset((0x4E, 0x54, 0x46, 0x53, 0x2E))  # None True False StopIteration ...
_UNNUMBERED = _SINGLETONS | {0x72, 0x30}  # marshal gives no ref number to these, nor refs/NULL
_FIXED = {0x69: 4, 0x67: 8, 0x49: 8, 0x79: 16}  # int32 'i', float 'g', int64 'I', complex 'y'
_SIZED = frozenset((0x61, 0x41, 0x75, 0x74, 0x73))  # str 'a' 'A' 'u' 't', bytes 's': u32 size
_SHORT = frozenset((0x7A, 0x5A, 0x66))  # short ascii 'z' 'Z', text float 'f': 1-byte size
_CONTAINERS = frozenset((0x29, 0x28, 0x5B, 0x3C, 0x3E, 0x7B))  # tuple x2 list set fset dict


def _skip(blob: bytes, code: int, pos: int) -> int:
    """Where a scalar of type *code* whose payload starts at *pos* ends; -1 if no scalar."""
    if code in _SHORT:
        return pos + 1 + blob[pos]
    if code in _SIZED:
        return pos + 4 + _u32(blob, pos)
    size = _FIXED.get(code)
    if size is not None:
        return pos + size
    if code == 0x6C:  # long 'l': signed 4-byte digit count, 2 bytes per digit
        count = _u32(blob, pos)
        if count >= 0x80000000:
            count = 0x100000000 - count
        return pos + 4 + 2 * count
    if code == 0x78:  # text complex 'x': two short strings
        pos += 1 + blob[pos]
        return pos + 1 + blob[pos]
    return -1  # code objects 'c', unknown '?', garbage


class _Walk:
    """One pass over a blob: open containers, their counts, and marshal's ref numbering."""

    __slots__ = ("end", "left", "opened", "refs", "frames", "open_tuples")

    def __init__(self, end: int) -> None:
        self.end = end
        self.left = 1  # objects still to read in the innermost open container
        self.opened = 0  # sum of the counts of all open containers
        self.refs = 0  # ref numbers marshal has handed out so far
        self.frames: list[tuple[int, int, int]] = []  # enclosing (left, count, tuple ref)
        self.open_tuples: list[int] = []  # ref numbers of tuples still being filled

    def run(self, blob: bytes) -> bool:
        pos = 0
        while True:
            byte = blob[pos]
            code = byte & 0x7F
            pos += 1
            numbered = byte > 0x7F and code not in _UNNUMBERED
            if numbered:
                self.refs += 1
            if code == 0x7A or code == 0x5A:  # short ascii, 1-byte size: most strings here
                pos += 1 + blob[pos]
            elif code == 0x69:  # int32
                pos += 4
            elif code in _CONTAINERS:
                pos = self._open(blob, code, pos, numbered)
                if pos == -1:
                    return False
                if pos > 0:
                    continue  # now inside the container
                pos = -pos  # an empty container: one plain item
            elif code == 0x72:  # back-reference 'r'
                index = _u32(blob, pos)
                pos += 4
                if index >= self.refs or index in self.open_tuples:
                    return False
            elif code == 0x30:  # '0' NULL: only as the end of a dict body
                if self.left < _DICT_FRAME - self.end:
                    return False
                # Back to the parent, whose count already includes the dict: +1 offsets the
                # common decrement below.
                self.left = self.frames.pop()[0] + 1
            elif code not in _SINGLETONS:
                pos = _skip(blob, code, pos)
                if pos < 0:
                    return False
            self.left -= 1
            while not self.left:  # the innermost container is complete
                if not self.frames:
                    return pos == self.end
                self.left, count, tuple_ref = self.frames.pop()
                self.opened -= count
                if tuple_ref >= 0:
                    self.open_tuples.pop()

    def _open(self, blob: bytes, code: int, pos: int, numbered: bool) -> int:
        """Enter a container whose header ends at *pos*: the position of its first item (> 0);
        for an empty one (a plain item), minus the position after it (< -1); -1 if its count
        breaks the bound."""
        if code == 0x29:  # small tuple: 1-byte count
            count = inner = blob[pos]
            pos += 1
        elif code == 0x7B:  # dict: no count, ends at a '0'
            count, inner = 0, _DICT_FRAME
        else:
            count = inner = _u32(blob, pos)
            pos += 4
        if not inner:
            return -pos
        self.opened += count
        if self.opened > self.end:
            return -1
        tuple_ref = -1
        if code in (0x29, 0x28) and numbered:
            tuple_ref = self.refs - 1
            self.open_tuples.append(tuple_ref)
        self.frames.append((self.left - 1, count, tuple_ref))
        self.left = inner
        return pos
