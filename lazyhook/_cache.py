"""The name cache: what each module defines and what ``from m import *`` binds, validated.

An entry for module ``x`` promises, while it is valid, exactly what running ``x`` would bind:
``names`` (what its body bound, not the submodules the import system set on it: those are
answered from ``sys.modules`` when bound); ``star`` (``x.__all__`` if defined, else ``None``);
``kinds`` (one letter per name, ``_learn``'s) and ``details`` (a literal's value, a module's
name, an exception's builtin base...); ``sources`` (stamps of the files that decide the names,
``x``'s own first: ``_deciders``), ``deps`` (where those imports resolved) and ``kind_sources``
(stamps of what decides the kinds).  It is valid while ``x`` comes from the same file, every
stamp holds and every dependency resolves as before; anything else is a miss ("execute for
real, then record").  When a module whose entry was used runs, what it bound (names, literal
values) is compared with the entry (``_truth.ran``): a difference rewrites it and repairs what a
star import filled.  An uncaught NameError, AttributeError, ImportError or KeyError at exit
(``globals()[name]``) makes the
entries used for modules that never ran suspect: relearned by the next run that needs them.  A
relearned entry whose names differ from the one it replaces while that one's files and
dependencies are unchanged marks the module as deciding its names at run time (an environment
variable, a data file); its from-imports then run it at the statement, for good.  So a wrong
entry costs at most one failing run, once per module, not once per switch of what decides it.

Reading needs this file, ``_sources`` and the store reader; learning (``_learn``) and writing
(``_store_write``) load at the first write (at exit, or a second after a learn).
"""

import sys
from _thread import allocate_lock, get_ident

from lazyhook import _config, _interp, _sources

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import CodeType
    from typing import Any

    from lazyhook._store import Store

_FLAG_GETATTR = 1  # the module defines a PEP 562 __getattr__ (as _learn.FLAG_GETATTR)
FLAG_RUN_TIME = 2  # its names changed while its files did not: from-imports run it
FLAG_SUSPECT = 4  # a name error at exit may have come from it: relearn, then compare
_WRITE_INTERVAL = 1.0  # seconds: coalesce writes during a long run (no timer thread)
_LOCK_WAIT = 0.25  # seconds: the longest a cache operation waits for the in-process lock

# The kinds of names, one letter each, as ``_learn`` decides them (see there).
KINDS = frozenset("vmexcfdso")


class Stored:
    """An entry as stored (decoded, well formed, not yet validated against the files)."""

    __slots__ = ("names", "star", "flags", "sources", "deps", "kinds", "details", "kind_sources")

    def __init__(self, *fields: "Any") -> None:
        (self.names, self.star, self.flags, self.sources, self.deps) = fields[:5]
        (self.kinds, self.details, self.kind_sources) = fields[5:]

    def with_flags(self, flags: int) -> "Stored":
        return Stored(self.names, self.star, flags, self.sources, self.deps, self.kinds,
                      self.details, self.kind_sources)  # fmt: skip

    def encode(self) -> "tuple[Any, ...]":
        """The on-disk form (``_learn.encode``: only writers need it)."""
        from lazyhook._learn import encode

        return encode(self)


def decode(stored: object) -> "Stored | None":
    """The entry for *stored* (as read from disk), or None if it is not one."""
    if not (isinstance(stored, tuple) and len(stored) == 8):
        return None
    names, star, flags, sources, deps, kinds, details, kind_sources = stored
    if type(names) is not str or not (star is None or type(star) is str):
        return None
    name_list = tuple(names.split("\n")) if names else ()
    star_list = None if star is None else (tuple(star.split("\n")) if star else ())
    # Split strings are strs: only the identifier check is needed (in C, via map).
    if not all(map(str.isidentifier, name_list)):
        return None
    if star_list is not None and not all(map(str.isidentifier, star_list)):
        return None
    sources, kind_sources = _sources.unpack(sources), _sources.unpack(kind_sources)
    deps = _sources.unpack_deps(deps)
    if type(flags) is not int or not sources or kind_sources is None or deps is None:
        return None
    if type(kinds) is not str or len(kinds) != len(name_list) or not KINDS.issuperset(kinds):
        return None
    by_name = _details(details, name_list)
    if by_name is None:
        return None
    return Stored(name_list, star_list, flags, sources, deps, kinds, by_name, kind_sources)


def _details(details: object, names: "tuple[str, ...]") -> "dict[str, Any] | None":
    """The details by name from their on-disk form (see ``Stored.encode``), None if malformed."""
    if not (isinstance(details, tuple) and len(details) == 3):
        return None
    table, refs, special = details
    if not (type(table) is tuple and all(type(t) is str for t in table)):
        return None
    if type(refs) is not str or len(refs) != len(names) or (refs and ord(max(refs)) > len(table)):
        return None
    if type(special) is not dict or not all(type(k) is str for k in special):
        return None
    full = (None, *table)
    by_name: dict[str, Any] = dict(zip(names, map(full.__getitem__, map(ord, refs)), strict=True))
    by_name.update(special)
    return by_name


class Entry:
    """A validated entry, as lazy modules use it."""

    __slots__ = ("names", "star", "star_list", "explicit_star", "has_getattr", "kinds",
                 "details", "sources", "at_statement", "suspect")  # fmt: skip

    def __init__(self, stored: Stored) -> None:
        names = stored.names
        self.names = frozenset(names)
        self.explicit_star = stored.star is not None
        star = stored.star  # () is an explicit, empty __all__
        self.star = star if star is not None else tuple(n for n in names if n[0] != "_")
        # ``__all__`` as answered to the import machinery: a list, made once (read twice).
        self.star_list = list(self.star)
        self.has_getattr = bool(stored.flags & _FLAG_GETATTR)
        # No lazy names from it: its from-imports run it at the statement (see the flags).
        self.at_statement = bool(stored.flags & (FLAG_RUN_TIME | FLAG_SUSPECT))
        self.suspect = bool(stored.flags & FLAG_SUSPECT)  # and relearn it when it runs
        self.kinds: dict[str, str] = dict(zip(names, stored.kinds, strict=True))
        self.details: dict[str, Any] = stored.details
        self.sources = stored.sources


def warn_once(cause: str, message: str) -> None:
    from lazyhook._warn import warn_once

    warn_once(cause, message, stacklevel=3)


class NameCache:
    """The name cache of one cache directory, shared by every interpreter of this environment.

    ``get(module)`` answers validated entries; ``learn(...)`` queues a module that ran; queued
    entries are written in batches (at exit, or when one is learned and the last write is over
    a second old) by the store's merge-and-replace, so many interpreters may share the file.
    """

    def __init__(self, cache_dir: str) -> None:
        self.cache_dir = cache_dir
        self.path = _config.cache_file(cache_dir)
        self._store: Store | None = None
        # Not re-entrant: a signal handler inside the lock treats the cache as a miss.
        self._lock = allocate_lock()
        self._owner: int | None = None
        self._queued: dict[str, Stored] = {}
        # Learned, to be analysed at the next flush (reads files: never inside an import).
        self._learned: dict[
            str, tuple[object, tuple[str, ...], dict[str, object], CodeType | None]
        ] = {}
        self._drop: set[str] = set()
        self._used: set[str] = set()  # entries answered in this process
        self._ran: set[str] = set()  # modules of those that have run since
        self._last_write = _config.CLOCKS[1]()  # monotonic (see _config.CLOCKS)
        self.shared = False  # write the file readable by all users (``cache warm --shared``)

    def _locked(self) -> bool:
        """Take the lock, or return False and the caller skips its work (treats it as a
        miss: the module is learned another time).  False when this thread holds it already
        (a signal handler interrupted it inside), and after a bounded wait: a handler can
        interrupt between ``acquire`` and the owner being noted, and no holder keeps the lock
        longer than a few dict operations."""
        if self._owner == get_ident():
            return False
        if not self._lock.acquire(True, _LOCK_WAIT):
            return False
        self._owner = get_ident()
        return True

    def _unlock(self) -> None:
        self._owner = None
        self._lock.release()

    @property
    def store(self) -> "Store":
        """The on-disk store, read (once per process, lock-free) on first use."""
        if self._store is None:
            from lazyhook._store import Store

            store = Store(self.path)
            store.load()
            self._store = store
        return self._store

    def raw(self, module: str) -> "Stored | None":
        """The stored entry for *module* if well formed (not validated against the files)."""
        value = self.store.get(module)
        if value is None:
            return None
        stored = decode(value)
        if stored is None:
            self._drop.add(module)
        return stored

    def get(self, module: str, origin: "str | None" = None) -> "Entry | None":
        """The entry for *module* if valid (see the module docstring), else None (a miss).

        With *origin*, the entry must also have been recorded for that file: the same name
        found elsewhere on ``sys.path`` (another checkout, another cwd) is another module.
        """
        stored = self.raw(module)
        if stored is None or (origin is not None and stored.sources[0][0] != origin):
            return None
        if not self._still_true(module, stored):
            return None
        self._used.add(module)
        return Entry(stored)

    def _still_true(self, module: str, stored: Stored) -> bool:
        fresh, sources = _sources.unchanged(stored.sources)
        if fresh is None:
            self._drop.add(module)  # a file is gone: drop at the next write
        if not fresh:
            return False
        fresh, kind_sources = _sources.unchanged(stored.kind_sources)
        if not fresh or not _sources.resolves(stored.deps, stored.sources):
            return False
        if sources or kind_sources:
            # Moved, not changed (an image copied, a chmod -R): refresh where writable.
            refreshed = Stored(stored.names, stored.star, stored.flags, sources or stored.sources,
                               stored.deps, stored.kinds, stored.details,
                               kind_sources or stored.kind_sources)  # fmt: skip
            self._queue(module, refreshed)  # decoded just now: no round trip through put's check
        return True

    def knows(self, module: str) -> bool:
        """True if *module* has a valid entry, or one waiting to be written."""
        if module in self._queued or module in self._learned:
            return True
        return self.get(module) is not None

    def valid(self, module: str) -> bool:
        """True if *module*'s entry is present and still true, for the file *module* would be
        imported from now (``cache verify``'s rule: the rule every import applies)."""
        return self.get(module, _sources.where(module)) is not None

    def put(self, module: str, stored: Stored) -> None:
        """Queue *stored* as *module*'s entry; it reaches the disk at the next batched write."""
        if decode(stored.encode()) is None:
            raise ValueError(f"not a valid name-cache entry for {module!r}")
        self._queue(module, stored)

    def _queue(self, module: str, stored: Stored) -> None:
        if not self._locked():
            return
        try:
            self._queued[module] = stored
            self._drop.discard(module)
        finally:
            self._unlock()
        self._schedule()

    def learn(
        self, name: str, module: object, names: "tuple[str, ...]", code: "CodeType | None"
    ) -> None:
        """Queue *module*, whose body just bound *names*; what decides them and their kinds
        is worked out at the next flush, from the values as they are now."""
        d = getattr(module, "__dict__", {})
        values = {n: d[n] for n in names if n in d}
        if type(star := values.get("__all__")) is list:  # as now (numpy extends numpy.dtypes')
            values["__all__"] = list(star)
        if not self._locked():
            return  # a signal handler interrupted this thread here: learn it another time
        try:
            self._learned[name] = (module, names, values, code)
            self._queued.pop(name, None)  # (a drop stays until an analysed entry replaces it)
        finally:
            self._unlock()
        self._schedule()

    def _schedule(self) -> None:
        # At exit, or when the last write is over a second old; never inside an import.
        if _config.CLOCKS[1]() - self._last_write > _WRITE_INTERVAL and not _interp.inside_import():
            self.flush()

    def invalidate(self, module: str, keep_queued: bool = False) -> None:
        """Forget *module*'s entry (here and, at the next write, on disk).

        With *keep_queued*, an entry learned in this process (so already true) is kept.
        """
        if not self._locked():
            return
        try:
            if keep_queued and (module in self._queued or module in self._learned):
                return
            self._queued.pop(module, None)
            self._learned.pop(module, None)
            self._drop.add(module)
        finally:
            self._unlock()

    def note_ran(self, module: str) -> None:
        """*module*, whose entry was used, has now run (see ``exit_evidence``)."""
        self._ran.add(module)

    def exit_evidence(self) -> None:
        """At exit: an uncaught NameError, AttributeError, ImportError or KeyError (read from
        ``globals()``) may come from a name
        the cache omitted; entries used for modules that never ran are then relearned."""
        exc = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
        if isinstance(exc, (NameError, AttributeError, ImportError, KeyError)):
            for module in self._used - self._ran - self._drop:
                stored = self.raw(module)
                if stored is not None and not stored.flags & (FLAG_RUN_TIME | FLAG_SUSPECT):
                    # Kept, flagged, not dropped: its relearning compares with it.
                    self._queue(module, stored.with_flags(stored.flags | FLAG_SUSPECT))

    def flush(self) -> bool:
        """Write queued entries now (merge-and-replace under the store's lock)."""
        if not self._locked():
            return False
        try:
            learned, self._learned = self._learned, {}
        finally:
            self._unlock()
        from lazyhook import _learn, _store_write

        if learned:
            for name, analysed in _learn.analyse(learned, Stored).items():
                if self._run_time(self.raw(name), analysed):
                    analysed.flags |= FLAG_RUN_TIME
                self._queued.setdefault(name, analysed)
        if not self._queued and not self._drop:
            return True
        dead = _learn.dead_entries(self)
        if not self._locked():
            return False
        try:
            # An analysed entry supersedes a drop; a relearn that could not be analysed (files
            # too recent to trust) leaves it: no lie stays on disk.
            self._drop = (self._drop | dead) - self._queued.keys()
            put, drop, touch = self._queued, self._drop, self._used
            self._queued, self._drop = {}, set()
            self._last_write = _config.CLOCKS[1]()  # monotonic (see _config.CLOCKS)
        finally:
            self._unlock()
        try:
            encoded = {key: value.encode() for key, value in put.items()}
            return _store_write.write(self.store, encoded, drop, touch, shared=self.shared)
        except Exception as exc:  # noqa: BLE001 - a cache fault never breaks a program
            message = f"lazyhook could not write its name cache {self.path}: {exc!r}"
            warn_once("cache-write", message)
            return False

    @staticmethod
    def _run_time(old: "Stored | None", new: Stored) -> bool:
        """Does *new*, just learned, show that its module decides its names at run time: do
        its names, star list or literals differ from *old*'s (the entry it replaces), all of
        whose files are unchanged and dependencies resolve as before?"""
        if old is None or old.sources[0][0] != new.sources[0][0]:
            return False  # another file of that name (another project sharing the cache)
        if not _sources.unchanged(old.sources)[0]:
            return False
        if not _sources.resolves(old.deps, old.sources):
            return False
        if old.flags & FLAG_RUN_TIME:
            return True
        if set(old.names) != set(new.names) or (old.star is None) != (new.star is None):
            return True
        if set(old.star or ()) != set(new.star or ()):
            return True
        kinds = dict(zip(new.names, new.kinds, strict=True))
        for name in (n for n, k in zip(old.names, old.kinds, strict=True) if k == "v"):
            was, now = old.details.get(name), new.details.get(name)
            if kinds[name] != "v" or not (type(was) is type(now) and (was == now or was != was)):
                return True
        return False

    def entries(self) -> "list[str]":
        """The module names stored on disk."""
        return sorted(self.store.keys())

    def clear(self) -> bool:
        """Remove the cache file."""
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
        if not _caches:
            import atexit  # built in

            atexit.register(_at_exit)
        cache = _caches[cache_dir] = NameCache(cache_dir)
    return cache


def caches() -> "list[NameCache]":
    """The caches this process has used."""
    return list(_caches.values())


def _at_exit() -> None:
    for cache in list(_caches.values()):
        cache.exit_evidence()
        if cache._queued or cache._learned or cache._drop:
            try:
                cache.flush()
            except ImportError as exc:  # lazyhook uninstalled meanwhile (pip uninstall lazyhook)
                if exc.name != "lazyhook" and not (exc.name or "").startswith("lazyhook."):
                    raise
                return  # its writing code is gone, and with it any use of what was learned


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


def learn(
    name: str,
    module: object,
    cache_dir: str,
    names: "tuple[str, ...] | None" = None,
    code: "CodeType | None" = None,
) -> None:
    """Record *module*, which has just run, into the cache of *cache_dir*: *names* are those
    its body bound (default: its namespace now), *code* its code object if known."""
    if names is None:
        names = tuple(getattr(module, "__dict__", {}))
    for_dir(cache_dir).learn(name, module, names, code)
