"""Running a lazy module's body: once, parents first, under importlib's module lock.

The still-lazy parents run first, outermost first (the order invariant); the body runs under
importlib's own per-module lock, so importlib's deadlock detection applies as for a circular
import and lazyhook holds no lock of its own; a body that raises leaves the module in its
lazy state on the same object, ready to run again (its error raised as ``_attribution``
says); a body that completes gets back the submodules the import system bound on it
meanwhile, settles its lazy names and, if the cache had no entry, teaches the cache its
names.

The state it works on is ``_state``'s.  Loaded with the first body that runs (``_module``
puts ``execute`` in ``_state.runner``): a lazy import that is never used does not load it.
This file does not import ``_module``.  Calls ``_state.body_hooks`` around each body.
"""

import sys
from _thread import get_ident

from lazyhook import _config, _context, _interp
from lazyhook._config import startup
from lazyhook._state import (
    LazyState,
    ParentOfPending,
    _mod_getattr,
    _pending,
    _put,
    bind_on_running_parent,
    body_hooks,
    execute_parents,
    names_support,
    reports,
    settle_package,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import CodeType, FrameType
    from types import ModuleType as _ModuleType
else:
    _ModuleType = type(sys)


def execute(st: LazyState, frame: "FrameType | None") -> None:
    """Run the body of *st*'s module once, parents first, under importlib's module lock."""
    if st.owner == get_ident():
        return
    name = st.name
    execute_parents(name, frame)
    lock = _interp.ModuleLock(name)
    try:
        lock.__enter__()
    except _interp.DeadlockError:
        return  # importlib's rule for a concurrent circular import: use the partial module
    try:
        if _pending.get(id(st.module)) is not st:
            return  # another thread ran it while this one waited for the lock
        for hook in body_hooks:
            hook(st, False)
        st.owner = get_ident()
        try:
            if st.placed:
                _finish(st, st.module, ())  # forwarded to what its parent put there
                return
            body_names = _run(st, frame)
        finally:
            st.owner = None
    finally:
        lock.__exit__()
    # Set only if the cache was consulted.  A body that replaced its entry: another's names.
    if st.learn_on_run and sys.modules.get(name) is st.module:
        from lazyhook import _cache

        _cache.learn(name, st.module, st.settings.cache_dir, body_names, _code(st))


def _code(st: LazyState) -> "CodeType | None":
    """The module's code object, from its loader (what the cache reads star imports from)."""
    try:
        return st.loader.get_code(st.name)  # type: ignore[attr-defined,no-any-return]
    except Exception:  # noqa: BLE001 - no code: the cache does without it
        return None


def _first_use_site(frame: "FrameType | None") -> "tuple[str, int] | None":
    """file:line of the user code whose use resolved a module (past importlib and lazyhook)."""
    user = _interp.importer_frame(frame)
    while user is not None and user.f_globals.get("__name__", "").startswith("lazyhook"):
        user = user.f_back
    return None if user is None else (user.f_code.co_filename, user.f_lineno)


def _run(st: LazyState, frame: "FrameType | None") -> "tuple[str, ...]":
    """Run the body; the names it bound (before the set-aside submodules are added back)."""
    module = st.module
    d: dict[str, object] = _mod_getattr(module, "__dict__")
    spec = d.get("__spec__")
    rep = reports.get(st.name)
    if rep is not None:
        rep.used_at = _first_use_site(frame)
        if startup["strict"] and not startup["finished"] and rep.used_at is not None:
            from lazyhook import _warn

            _warn.resolved_during_startup(st.name, rep.used_at)
    # Only from-imports wanting lazy names consult the name cache (learning on a miss): looking
    # up every module that ran cost a CLI ~3 ms.  Imports made while a body to be learned runs
    # are stamped by the finder before they are read: they may decide its cached names.
    st.snapshot = dict(d)
    _swap_early_writes(st, d, 0)  # the body sees what the import system set, as eagerly
    entry_before = sys.modules.get(st.name)  # mock.patch.dict(sys.modules) may hold a fake
    if spec is not None:
        spec._initializing = True  # type: ignore[attr-defined]
    t0 = _config.CLOCKS[0]()  # perf_counter (see _config.CLOCKS)
    from lazyhook import _attribution

    _attribution.enter(sys._getframe(), st.site, st.importer)
    state, learning, now = _interp.state, int(st.learn_on_run), None
    state.running += 1  # (right before the try: nothing in between can fail)
    state.learning += learning
    try:
        now = _context.enter(st.context)  # (in the try: the finally gives back what it put)
        st.loader.exec_module(module)  # type: ignore[attr-defined]
    except BaseException as exc:  # noqa: BLE001 - surface re-raises it
        # Back to the lazy state on the same object (never a half-initialised module, never a
        # second module object for one name): the next use runs the body again.
        reset(st, d)
        sys.modules[st.name] = entry_before if entry_before is not None else module
        if rep is not None:
            rep.failed += 1
        _attribution.surface(exc, st.name, st.site, frame is not None and _at_from_import(frame))
    finally:
        if now is not None:
            _context.leave(st.context, now)
        _attribution.leave()
        state.running -= 1
        state.learning -= learning
        if spec is not None:
            spec._initializing = False  # type: ignore[attr-defined]
        st.snapshot = {}
    if rep is not None:
        rep.seconds = _config.CLOCKS[0]() - t0
    body_names = tuple(d)
    _swap_early_writes(st, d, 1)
    st.early_writes.clear()
    _finish(st, entry_before, body_names)
    return body_names


def _at_from_import(frame: "FrameType") -> bool:  # its IMPORT_FROM, or its __path__ read
    return _interp.from_import_read(frame) != _interp.NOT_FROM_IMPORT or _interp.at_from_list(frame)


def _swap_early_writes(st: LazyState, d: "dict[str, object]", which: int) -> None:
    """Put the early-written attributes to their originals (*which* 0: before the body) or to
    the values written (1: after it)."""
    for name, values in st.early_writes.items():
        _put(d, name, values[which])


def reset(st: LazyState, d: "dict[str, object]") -> None:
    """Put a module whose body did not complete back to what it was before the body ran."""
    if st.snapshot:
        d.clear()
        d.update(st.snapshot)
    spec = d.get("__spec__")
    if spec is not None:
        spec._initializing = False  # type: ignore[attr-defined]


def _finish(st: LazyState, entry_before: object, body_names: "tuple[str, ...]") -> None:
    module = st.module
    now = sys.modules.get(st.name)
    # Only the body itself can replace the module's entry: a fake put there around the first
    # use (mock.patch.dict(sys.modules)) is not the module's doing and is not forwarded to.
    replacement = now if now is not None and now is not entry_before else module
    if type(module) is st.lazy_class:
        if replacement is not module:
            from lazyhook import _forwarding

            _forwarding.forward(module, replacement, st.importer)
        else:
            # Only if the body left its class alone (gh-117182: it may assign its own).
            module.__class__ = ParentOfPending if st.pending_submodule() else _ModuleType
    # The hooks first: another thread that finds this module no longer pending goes on to its
    # submodules, whose state a hook may set (``_refind``: one this body put elsewhere).
    for hook in body_hooks:
        hook(st, True)
    del _pending[id(module)]
    st.statement = None
    bind_on_running_parent(st)  # running a submodule means importing it
    settle_package(st.name.rpartition(".")[0])
    d = _mod_getattr(module, "__dict__")
    st.bind_submodules(d)
    if st.stand_ins:
        missing, resolved = names_support().settle(st.stand_ins, st.namespaces, replacement)
        rep = reports.get(st.name)
        if rep is not None:
            rep.resolved_names = resolved
        if missing:
            st.learn_on_run = True  # the cache promised a name the module does not define
    if st.entry is not None and st.placed:
        from lazyhook import _cache

        _cache.invalidate(st.name)  # its file's names: not what its parent put there
    elif st.entry is not None:
        # Did the entry tell the truth?  If not: relearn it, repair what a star import bound.
        from lazyhook import _truth

        # A submodule is in the namespace or not depending on when (if at all) this process
        # imported it (during the body, before it, never in mode "all"): no difference.
        kinds, details, prefix = st.entry.kinds, st.entry.details, st.name + "."
        subs = {n for n in st.entry.names if kinds[n] == "m" and details.get(n) == prefix + n}
        for n in body_names:  # type(), not getattr: a stand-in would resolve
            if (
                issubclass(type(d.get(n)), _ModuleType)
                and _mod_getattr(d[n], "__name__") == prefix + n
            ):
                subs.add(n)
        seen = [n for n in body_names if n not in subs] + [n for n in subs if n in st.entry.names]
        if _truth.ran(st.name, st.entry, replacement, tuple(seen), st.namespaces):
            st.learn_on_run = True
    st.namespaces.clear()


_interp.hide_module_from_warnings()
