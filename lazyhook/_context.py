"""What a deferred body sees of the program's state: what it would have seen at the import.

Eagerly a module's body runs at its import statement; deferred, at its first use, after the
program may have changed what the body reads.  Measured in ordinary programs:
``warnings.filterwarnings("ignore")`` or ``simplefilter("error")`` right after the imports
(a notebook's first line) lost a body's import warning or made it an error (exit status 1);
``catch_warnings(record=True)`` around the first use recorded it as the call's; a
``contextlib.redirect_stdout``/``redirect_stderr`` around the first use captured the body's
output, and a ``logging.StreamHandler()`` the body made kept the redirected stream for good.

So when a module is made lazy, ``capture`` records sys.stdout, sys.stderr, a copy of the
warning filters and the functions that show a warning; ``enter`` puts back, for the body's
run, those the program has changed since; ``leave`` gives the program's back, keeping what
the body itself changed: the filters it added go behind the ones the program added after
the import (where eagerly they were), those it removed go, a stream or ``showwarning`` it
replaced stays replaced unless the program had replaced that one too (the program's later
change wins).  With the filters, the modules' ``__warningregistry__`` entries (what was shown
once already) are set aside for the body's run and given back after it (a warning shown
twice, or hidden, in programs that changed the filters after their imports).

Only process-wide state, cheap to compare (~1 us a body), and only while no other thread
runs: one ending its own ``redirect_stdout`` or ``catch_warnings`` meanwhile would be undone
for good by the giving back.  What stays the first use's (the environment,
``sys.path``, the working directory, the thread, the recursion depth) is in the README's
limits, with the reasons.

``capture`` runs when a module is made lazy (``_state``); the rest when a body runs.
"""

import _thread
import _warnings  # built in: ``warnings`` takes its filters list from here
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    Context = tuple[Any, Any, list[Any], list[Any], Any, Any]

_NONE = ("", None)  # showwarning / _showwarnmsg_impl while ``warnings`` is not imported
# One body at a time has its import's state put back, in any thread: a second one (nested,
# or in another thread meanwhile) runs in that state as it is.  Two swaps interleaved across
# threads would each give back what the other had put in place, and the program's filters
# or streams would be lost for good.  ``dict.setdefault`` is the test-and-set (one call
# under the GIL): a lock could deadlock a signal handler whose first use runs a body.
_owner: "dict[int, object]" = {}
# The program's warning registries, set aside while a body runs under the import's filters:
# (registry, its entries).  Only the owner of the swap (_owner) touches it.
_aside: "list[tuple[dict[Any, Any], dict[Any, Any]]]" = []
_ModuleType = type(sys)
_mod_getattr = _ModuleType.__getattribute__  # past a lazy module's class


def capture() -> "Context":
    """The state a body run now would see: (stdout, stderr, the filters list, a copy of it,
    ``warnings.showwarning``, ``warnings._showwarnmsg_impl``)."""
    w: Any = sys.modules.get("warnings")
    filters = w.filters if w is not None else _warnings.filters
    shows = (w.showwarning, w._showwarnmsg_impl) if w is not None else _NONE
    return (sys.stdout, sys.stderr, filters, filters[:], *shows)


def enter(ctx: "Context") -> "Context | None":
    """Put *ctx* (captured at the import) in place where the program changed it since; what
    to give ``leave`` afterwards, or None when nothing was changed."""
    now = capture()
    same = _same_filters(ctx, now)
    if same and now[:2] == ctx[:2] and (ctx[4] == "" or now[4:] == ctx[4:]):
        return None  # the usual case: nothing changed since the import
    if _thread._count():
        # Another thread runs: its redirect or catch_warnings may end while the body runs,
        # and what is given back afterwards would undo that for good (README, Limit 13).
        return None
    token = object()
    if _owner.setdefault(0, token) is not token:
        return None  # another body's swap is in place (see _owner)
    w: Any = sys.modules.get("warnings")
    if w is not None and not same:
        # The body's own filter calls change this copy.  No _filters_mutated(): that empties
        # every module's __warningregistry__, and warnings the program was shown already
        # were shown again (C's warn reads warnings.filters afresh at every call).  Instead
        # the registries are set aside for the body's run (what the program was shown must
        # not hide the body's warnings, nor the body's entries the program's later ones).
        w.filters = ctx[3][:]
        _aside[:] = [(reg, dict(reg)) for reg in _registries()]
        for reg, _ in _aside:
            reg.clear()
    if w is not None and _shows_put_back(ctx):
        w.showwarning, w._showwarnmsg_impl = ctx[4], ctx[5]
    for i, name in ((0, "stdout"), (1, "stderr")):
        if _usable(ctx[i]):
            setattr(sys, name, ctx[i])
    return now


def _same_filters(ctx: "Context", now: "Context") -> bool:
    """The same list, with the same filters (inside ``catch_warnings``: a copy, not the same)."""
    return now[2] is ctx[2] and now[3] == ctx[3]


def _shows_put_back(ctx: "Context") -> bool:
    """Are the import's ``showwarning`` functions put back for the body?  Not without
    ``warnings`` then, nor a ``catch_warnings(record=True)`` recorder: its block has ended by
    the first use, its list read (pytest's, of the collection or a conftest's import), and
    the warning would be lost; the one in place now shows or records it."""
    return ctx[4] != "" and type(getattr(ctx[5], "__self__", None)) is not list


def _usable(stream: object) -> bool:
    """Is the stream captured at the import still open?  (The program may have closed it, or
    detached its buffer to rewrap it: ``closed`` then raises ValueError.)"""
    try:
        return not getattr(stream, "closed", False)
    except Exception:  # noqa: BLE001 - any stream that cannot say: leave the program's
        return False


def leave(ctx: "Context", now: "Context") -> None:
    """The body ran in *ctx*: give the program's state *now* back, with the body's changes."""
    try:
        _give_back(ctx, now)
    finally:
        del _owner[0]


def _give_back(ctx: "Context", now: "Context") -> None:
    w: Any = sys.modules.get("warnings")
    if w is not None and not _same_filters(ctx, now):
        _merge_filters(w, ctx, w.filters, now[2])
        # Eagerly the body's entries were made before the program changed the filters, which
        # voided them; the program's own stand.
        for reg in _registries():
            reg.clear()
        for reg, entries in _aside:
            reg.update(entries)
        _aside.clear()
    if w is not None and _shows_put_back(ctx):
        for i, name in ((4, "showwarning"), (5, "_showwarnmsg_impl")):
            if getattr(w, name) is ctx[i] or now[i] is not ctx[i]:
                setattr(w, name, now[i])  # unchanged by the body, or changed by the program
    for i, name in ((0, "stdout"), (1, "stderr")):
        if getattr(sys, name) is ctx[i] or now[i] is not ctx[i]:
            setattr(sys, name, now[i])


def _registries() -> "list[dict[Any, Any]]":
    """The non-empty ``__warningregistry__`` of every module (~20 us for 500 modules)."""
    out = []
    for module in list(sys.modules.values()):
        if isinstance(module, _ModuleType):
            reg = _mod_getattr(module, "__dict__").get("__warningregistry__")
            if type(reg) is dict and reg:
                out.append(reg)
    return out


def _merge_filters(w: "Any", ctx: "Context", after: "list[Any]", program: "list[Any]") -> None:
    """The body turned the import's filters (``ctx[3]``) into *after*: eagerly that happened at
    the import, before what the program changed since.  So the filters the body removed
    (``resetwarnings()``) go from the program's list, those it added in front go behind the
    ones the program added since (in front of the first of the import's still there), those
    it appended go at the end; the same in the import's own list if the program's is a copy
    made since (a ``catch_warnings`` block, whose end puts the import's list back)."""
    before = ctx[3]
    kept = [i for i, f in enumerate(after) if f in before]
    first = kept[0] if kept else len(after)
    last = kept[-1] if kept else len(after)
    front = [f for f in after[:first] if f not in before]
    back = [f for f in after[last + 1 :] if f not in before]
    removed = [f for f in before if f not in after]
    if before and not any(f in program for f in before):
        front = back = []  # the program reset them since (resetwarnings()): eagerly, theirs too
    for target in (program,) if ctx[2] is program else (program, ctx[2]):
        for f in removed:
            if f in target:
                target.remove(f)
        at = next((i for i, f in enumerate(target) if f in before), len(target))
        target[at:at] = [f for f in front if f not in target]
        target.extend(f for f in back if f not in target)
    w.filters = program
    if front or back or removed:
        w._filters_mutated()  # as the body's own filter calls did (a registry may be stale)
