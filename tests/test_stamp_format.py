"""The on-disk form of an entry's stamps and dependencies (``_deciders.pack``/``unpack``).

Packed, an entry's stamps are two marshal objects instead of seven per stamp; the form earlier
versions wrote is still read.  A round trip must give back exactly the stamps written — any
number a ``stat`` can return, any path — and anything else read from disk must be refused,
never half-decoded.
"""

from __future__ import annotations

import marshal

from hypothesis import example, given
from hypothesis import strategies as st

from lazyhook import _cache, _deciders, _sources
from lazyhook._marshal_check import is_safe

INT64 = st.integers(-(2**63), 2**63 - 1)
STAMP = st.tuples(
    st.text(),
    INT64,  # size
    INT64,  # mtime_ns: before 1970 too
    INT64,  # ctime_ns
    st.integers(0, 2**64 - 1),  # inode: unsigned, up to 2**64 - 1 on some file systems
    st.one_of(st.just(-1), st.integers(0, 2**32 - 1)),  # digest, -1: unreadable
)
ANY_INT = st.integers(-(2**70), 2**70)


@given(st.lists(STAMP, max_size=30).map(tuple))
@example(())
@example((("", 1, 2, 3, 4, 5),))  # one empty path: stored unpacked (see pack)
@example((("a\0b", 1, 2, 3, 4, 5),))  # a NUL cannot be joined: stored unpacked
@example((("/x.py", 0, -1, 2**63 - 1, 2**64 - 1, -1), ("/y.py", 1, 2, 3, 0, 2**32 - 1)))
def test_stamps_round_trip_exactly(stamps: tuple[tuple[str, int, int, int, int, int], ...]) -> None:
    disk = marshal.loads(marshal.dumps(_deciders.pack(stamps)))
    assert is_safe(marshal.dumps(_deciders.pack(stamps)))
    assert _sources.unpack(disk) == stamps


@given(st.lists(st.tuples(st.text(), ANY_INT, ANY_INT, ANY_INT, ANY_INT, ANY_INT), max_size=5))
def test_numbers_that_do_not_fit_are_stored_unpacked(stamps: list[tuple[object, ...]]) -> None:
    value = tuple(stamps)
    assert _sources.unpack(marshal.loads(marshal.dumps(_deciders.pack(value)))) == value  # type: ignore[arg-type]


@given(st.lists(st.tuples(st.text(), st.text()), max_size=30).map(tuple))
@example((("a", ""), ("b", "/b.py")))  # "" is "resolves nowhere"
@example((("a\0", "x"),))
def test_dependencies_round_trip_exactly(deps: tuple[tuple[str, str], ...]) -> None:
    disk = marshal.loads(marshal.dumps(_deciders.pack_deps(deps)))
    assert _sources.unpack_deps(disk) == deps


def test_many_stamps_are_a_handful_of_marshal_objects() -> None:
    stamps = tuple(
        (f"/site/pkg/mod{i}.py", 4000 + i, 10**18 + i, 10**18 + i, 2**40 + i, i) for i in range(200)
    )
    deps = tuple((f"pkg.mod{i}", f"/site/pkg/mod{i}.py") for i in range(180))
    packed = marshal.dumps((_deciders.pack(stamps), _deciders.pack_deps(deps)))
    plain = marshal.dumps((stamps, deps))
    # Counted as the validator counts: one object per marshal type code read.
    assert marshal.loads(packed)[0][0].count("\0") == 199
    assert len(marshal.loads(packed)[0]) == 2 and type(marshal.loads(packed)[1]) is str
    assert len(packed) < len(plain)


def test_malformed_packed_forms_are_refused() -> None:
    good = _deciders.pack((("/a.py", 1, 2, 3, 4, 5), ("/b.py", 6, 7, 8, 9, 10)))
    paths, numbers = good  # type: ignore[misc]
    for bad in (
        (paths, numbers[:-1]),  # one byte short
        (paths, numbers + bytes(8)),  # a column too long
        (paths + "\0/c.py", numbers),  # a path more than numbers
        (paths, bytearray(numbers)),  # not bytes
        (paths, list(numbers)),
        ("", bytes(8)),  # numbers for no stamp
        (paths, numbers, b""),  # wrong shape
        ((paths,), numbers),
        "just a string",
        ((("/a.py", "1", 2, 3, 4, 5),)),  # unpacked, wrong type
    ):
        assert _sources.unpack(bad) is None, bad
    for bad_deps in ("a\0b\0c", ("a", "b"), (("a", 1),), [("a", "b")], 3):
        assert _sources.unpack_deps(bad_deps) is None, bad_deps


def test_an_entry_in_the_earlier_unpacked_form_is_still_read() -> None:
    stored = _cache.Stored(
        ("A", "f"), None, 0, (("/m.py", 1, 2, 3, 4, 5),), (("dep", "/dep.py"),), "vf",
        {"A": 1, "f": ""}, (),
    )  # fmt: skip
    packed = stored.encode()
    unpacked = (*packed[:3], stored.sources, stored.deps, *packed[5:7], stored.kind_sources)
    assert type(packed[3]) is tuple and type(packed[3][0]) is str  # written packed
    for disk in (packed, unpacked):
        again = _cache.decode(marshal.loads(marshal.dumps(disk)))
        assert again is not None
        assert (again.sources, again.deps, again.kind_sources) == (
            stored.sources,
            stored.deps,
            stored.kind_sources,
        )
