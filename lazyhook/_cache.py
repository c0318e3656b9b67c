"""The name cache: what each module defines and what ``from m import *`` binds, validated.

An entry for module ``x`` holds the names in ``x``'s namespace at the end of its own
execution, its star list (``__all__``, or ``None`` for "the public names"), flags, and the
stamps of the sources that decide those names (``_sources``: ``x``'s own file plus,
transitively, the files whose names ``x`` takes wholesale).  An entry is used only while every
stamp still matches and ``x`` still comes from the same file; anything else is a miss, and a
miss means "execute for real, then record".  Limits (documented in the README): names made
from data files, environment variables, ``globals()`` tricks, optional dependencies appearing
later, and a module ``__getattr__`` are not tracked.

The interface is narrow on purpose: ``lookup(name, origin, cache_dir)`` answers an entry,
``learn(name, module, cache_dir)`` records a module that has just run, ``invalidate(name)``
forgets one.  Bytes on disk are the store's business (``_store``); this file decides what an
entry means, and batches writes.
"""

import os
import time
from _thread import allocate_lock

from lazyhook import _config, _interp, _sources

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from lazyhook._store import Store

_FLAG_GETATTR = 1  # the module defines a PEP 562 __getattr__
_WRITE_INTERVAL = 1.0  # seconds: coalesce writes during a long run (no timer thread)

if TYPE_CHECKING:
    from typing import Any

    Source = tuple[str, int, int]  # (path, size, mtime_ns)


class Entry:
    """A validated cache entry."""

    __slots__ = ("names", "star", "star_list", "has_getattr")

    def __init__(self, names: "frozenset[str]", star: "tuple[str, ...]", has_getattr: bool) -> None:
        self.names = names
        self.star = star
        # What the lazy module answers for ``__all__`` to the import machinery: a list, as
        # Python would find it, made once (a star import reads it twice).
        self.star_list = list(star)
        self.has_getattr = has_getattr


def _identifiers(value: object) -> bool:
    # map() with the C method: ~30 ns a name, where a generator costs ~4x that (sympy: 1,861).
    return (
        isinstance(value, tuple)
        and all(type(n) is str for n in value)
        and all(map(str.isidentifier, value))
    )


def well_formed(raw: object) -> bool:
    """True if *raw* (decoded from disk) has exactly the shape of an entry value."""
    if not (isinstance(raw, tuple) and len(raw) == 4):
        return False
    names, star, flags, sources = raw
    if not _identifiers(names) or not (star is None or _identifiers(star)):
        return False
    return _well_formed_rest(raw)


def _well_formed_rest(raw: "tuple[Any, ...]") -> bool:
    flags, sources = raw[2], raw[3]
    if type(flags) is not int or not isinstance(sources, tuple) or not sources:
        return False
    for src in sources:
        if not (
            isinstance(src, tuple)
            and len(src) == 3
            and type(src[0]) is str
            and type(src[1]) is int
            and type(src[2]) is int
        ):
            return False
    return True


def encode(value: "tuple[Any, ...]") -> "tuple[Any, ...]":
    """The on-disk form of an entry: names and star list as single newline-joined strings.

    marshal then decodes a handful of objects instead of one per name (the store vets every
    marshal object before decoding: ~0.3 ms for sympy's 940 names as a tuple), and splitting
    one string happens in C.
    """
    names, star, flags, sources = value
    return ("\n".join(names), None if star is None else "\n".join(star), flags, sources)


def decode(stored: object) -> "tuple[Any, ...] | None":
    """The entry value for *stored* (as read from disk), or None if it is not one."""
    if not (isinstance(stored, tuple) and len(stored) == 4):
        return None
    names, star, flags, sources = stored
    if type(names) is not str or not (star is None or type(star) is str):
        return None
    name_list = tuple(names.split("\n")) if names else ()
    star_list = None if star is None else (tuple(star.split("\n")) if star else ())
    # Split strings are strs: only the identifier check is needed (in C, via map).
    if not all(map(str.isidentifier, name_list)):
        return None
    if star_list is not None and not all(map(str.isidentifier, star_list)):
        return None
    value = (name_list, star_list, flags, sources)
    return value if _well_formed_rest(value) else None


def warn_once(cause: str, message: str) -> None:
    from lazyhook._warn import warn_once

    warn_once(cause, message, stacklevel=3)


class NameCache:
    """The name cache of one cache directory, shared by every interpreter of this environment.

    ``get(module)`` answers validated entries; ``record(...)`` queues a new one; queued
    entries are written in batches (at exit, or when one is learned and the last write is over
    a second old) by the store's merge-and-replace, so many interpreters may share the file.
    """

    def __init__(self, cache_dir: str) -> None:
        self.cache_dir = cache_dir
        self.path = _config.cache_file(cache_dir)
        self._store: Store | None = None
        self._lock = allocate_lock()
        self._queued: dict[str, tuple[object, ...]] = {}
        # Learned but not yet analysed: (module, names, star, flags).  The source analysis
        # imports ``ast`` and reads files, so it runs at flush time, never inside an import.
        self._learned: dict[str, tuple[object, tuple[str, ...], object, int]] = {}
        self._drop: set[str] = set()
        self._used: set[str] = set()
        self._last_write = time.monotonic()
        self._exit_hook = False
        self.shared = False  # write the file readable by all users (``cache warm --shared``)

    @property
    def store(self) -> "Store":
        """The on-disk store, read (once per process, lock-free) on first use."""
        if self._store is None:
            from lazyhook._store import Store

            store = Store(self.path)
            store.load()
            self._store = store
        return self._store

    def raw(self, module: str) -> "tuple[Any, ...] | None":
        """The stored value for *module* if it is well formed (not validated against sources)."""
        stored = self.store.get(module)
        if stored is None:
            return None
        value = decode(stored)
        if value is None:
            self._drop.add(module)
        return value

    def get(self, module: str, origin: "str | None" = None) -> "Entry | None":
        """The entry for *module* if every source stamp still matches, else None (a miss).

        With *origin*, the entry must also have been recorded for that file: the same name
        found elsewhere on ``sys.path`` (another checkout, another cwd) is another module.
        """
        value = self.raw(module)
        if value is None:
            return None
        names, star, flags, sources = value
        if origin is not None and sources[0][0] != origin:
            return None
        fresh = _sources.unchanged(sources)
        if fresh is None:
            self._drop.add(module)  # its source is gone: drop at the next write
        if not fresh:
            return None
        self._used.add(module)
        if star is None:
            star = tuple(n for n in names if n[0] != "_")
        return Entry(frozenset(names), star, bool(flags & _FLAG_GETATTR))

    def knows(self, module: str) -> bool:
        """True if *module* has a valid entry, or one waiting to be written."""
        with self._lock:
            if module in self._queued or module in self._learned:
                return True
        return self.get(module) is not None

    def valid(self, module: str) -> bool:
        """True if *module*'s entry is present and its sources are unchanged."""
        return self.get(module) is not None

    def record(
        self,
        module: str,
        names: "Iterable[str]",
        star: "Iterable[str] | None",
        sources: "Iterable[Source]",
        has_getattr: bool = False,
    ) -> None:
        """Queue an entry; it reaches the disk at the next batched write."""
        value = (
            tuple(names),
            None if star is None else tuple(star),
            _FLAG_GETATTR if has_getattr else 0,
            tuple(tuple(s) for s in sources),
        )
        if not well_formed(value):
            raise ValueError(f"not a valid name-cache entry for {module!r}")
        with self._lock:
            self._queued[module] = value
            self._drop.discard(module)
        self._schedule()

    def queue(
        self, name: str, module: object, names: "tuple[str, ...]", star: object, flags: int
    ) -> None:
        """Queue the names of *module* as they are now (the end of its execution); which
        sources decide them is worked out at the next flush."""
        with self._lock:
            self._learned[name] = (module, names, star, flags)
            self._queued.pop(name, None)
            self._drop.discard(name)
        self._schedule()

    def _schedule(self) -> None:
        if not self._exit_hook:
            import atexit

            atexit.register(self.flush)
            self._exit_hook = True
        # Coalesce: at exit, or during a long run when the last write is over a second old —
        # but never from inside an import (the analysis imports ast and reads sources).
        if time.monotonic() - self._last_write > _WRITE_INTERVAL and not _interp.inside_import():
            self.flush()

    def invalidate(self, module: str, keep_queued: bool = False) -> None:
        """Forget *module*'s entry (here and, at the next write, on disk).

        With *keep_queued*, an entry learned in this process (so already true) is kept.
        """
        with self._lock:
            if keep_queued and (module in self._queued or module in self._learned):
                return
            self._queued.pop(module, None)
            self._learned.pop(module, None)
            self._drop.add(module)

    def flush(self) -> bool:
        """Write queued entries now (merge-and-replace under the store's lock)."""
        with self._lock:
            learned, self._learned = self._learned, {}
        for name, (module, names, star, flags) in learned.items():
            try:
                sources = _sources.contributors(name, module)
            except OSError:
                continue  # its file is gone (a test's temp module): simply not cached
            except Exception as exc:  # noqa: BLE001 - unanalysable: simply don't cache it
                warn_once(f"analyse:{name}", f"lazyhook could not analyse {name!r}: {exc!r}")
                continue
            if sources:
                with self._lock:
                    self._queued.setdefault(name, (names, star, flags, tuple(sources)))
        with self._lock:
            if not self._queued and not self._drop:
                return True
        dead = self._dead_entries()
        with self._lock:
            self._drop |= dead - self._queued.keys()
            put, drop, touch = self._queued, self._drop, self._used
            self._queued, self._drop, self._used = {}, set(), set()
            self._last_write = time.monotonic()
        try:
            encoded = {key: encode(value) for key, value in put.items()}
            from lazyhook import _store_write

            return _store_write.write(self.store, encoded, drop, touch, shared=self.shared)
        except Exception as exc:  # noqa: BLE001 - a cache fault never breaks a program
            warn_once(
                "cache-write", f"lazyhook could not write its name cache {self.path}: {exc!r}"
            )
            return False

    def _dead_entries(self, sample: int = 64) -> "set[str]":
        """Stored entries whose sources no longer exist, from a rotating sample.

        A write drops them so the file cannot fill up with modules that are gone; sampling
        bounds the cost of a write (~25 us an entry to decode and stat) however large the
        cache, and over successive writes the sample covers every entry.
        """
        keys = self.store.keys()
        if not keys:
            return set()
        start = time.monotonic_ns() % len(keys)
        dead = set()
        for key in (keys[start:] + keys[:start])[:sample]:
            value = self.raw(key)
            if value is not None and not all(os.path.exists(src[0]) for src in value[3]):
                dead.add(key)
        return dead

    def entries(self) -> "list[str]":
        """The module names stored on disk."""
        return sorted(self.store.keys())

    def clear(self) -> bool:
        """Remove the cache file."""
        with self._lock:
            self._queued.clear()
            self._learned.clear()
            self._drop.clear()
        from lazyhook import _store_write

        ok = _store_write.clear(self.store)
        self._store = None
        return ok


_caches: dict[str, NameCache] = {}


def for_dir(cache_dir: str) -> NameCache:
    """The process's one ``NameCache`` for *cache_dir*."""
    cache = _caches.get(cache_dir)
    if cache is None:
        cache = _caches[cache_dir] = NameCache(cache_dir)
    return cache


def lookup(name: str, origin: "str | None", cache_dir: str) -> "Entry | None":
    """The valid entry for module *name* found at *origin*, or None (a miss)."""
    try:
        return for_dir(cache_dir).get(name, origin)
    except Exception as exc:  # noqa: BLE001 - e.g. an unreadable cache: behave eagerly
        warn_once("cache-read", f"lazyhook could not read its name cache: {exc!r}")
        return None


def invalidate(module: str, keep_queued: bool = False) -> None:
    for cache in _caches.values():
        cache.invalidate(module, keep_queued)


def learn(name: str, module: object, cache_dir: str) -> None:
    """Record the names of *module*, which has just run, into the cache of *cache_dir*."""
    d = module.__dict__
    names = tuple(k for k in d if type(k) is str and k.isidentifier())
    if len(names) != len(d) and any(
        not (type(k) is str and k.isidentifier()) and not str(k).startswith("_") for k in d
    ):
        return  # a public key that is no identifier: star-import can't be reproduced
    star = d.get("__all__")
    if star is not None:
        if not isinstance(star, (list, tuple)) or not all(
            type(n) is str and n.isidentifier() for n in star
        ):
            return  # eager star-import would raise or bind oddly: leave it eager
        star = tuple(star)
    for_dir(cache_dir).queue(name, module, names, star, _FLAG_GETATTR if "__getattr__" in d else 0)
