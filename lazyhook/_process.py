"""lazyhook and the rest of the process: a fork, an audit hook, the exit.

* A fork (``os.fork()``, multiprocessing's "fork"): eagerly every imported module had run
  before it, so every pending lazy module runs now, once, in the parent (``before_fork``).
  While another thread is inside an import, in the child importlib's lock for that module
  stays held forever (its thread does not exist there).  lazyhook imports its own code at
  unpredictable times (a first lazy use, a cache write at exit), so before a fork it loads
  all of it, and in the child it puts a body another thread was running back to its lazy
  state and drops that lock (``after_fork_in_child``).
* An audit hook (``sys.addaudithook``) is how import blockers such as pip's are installed;
  after it, no new import may happen.  Eagerly every pending lazy module would have run by
  then: they all run now, and lazyhook loads its own code (``before_audit_hook``).
* The exit: after the program's atexit handlers, lazyhook calls those a body registered
  while they ran, too late for CPython (``at_exit``).

Called through stubs ``_module`` registers with the first lazy module; loaded when needed.
"""

import os
import sys
from _thread import get_ident

from lazyhook import _interp
from lazyhook._execute import reset
from lazyhook._state import LazyState, _pending, execute, reports

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType, TracebackType
    from typing import Any

    _Noted = tuple[list[bool], Callable[..., object], tuple[Any, ...], dict[str, Any]]

_mod_getattr = type(sys).__getattribute__


def run_all_pending() -> None:
    """Run every lazy module not run yet, in import order (parents first), as eager imports
    would have by now; one that fails stays lazy and raises at its first use as usual.

    The bodies run here defer imports of their own (compileall's ``import filecmp`` under
    pip), which eager imports would have run too: go on until nothing new is pending.  Each
    module is tried once, so a failing one cannot loop; one that failed before is not run
    again here (it raises at its next use)."""
    _run_pending(set(), at_import=False)


def pending_states() -> "set[LazyState]":
    """The lazy modules not run yet (held: an id could be reused by a later module)."""
    return set(_pending.values())


def run_new_pending(before: "set[LazyState]", namespace: "dict[str, object]") -> None:
    """Run the lazy modules made since *before* (``pending_states``), in import order, and
    those their bodies defer in turn, as the eager imports would have; the first that fails
    raises (pytest: a test module's collection error, as eagerly at its import).  One whose
    body failed before and that *namespace* (the importing module's) holds runs again: an
    eager import of a module whose body failed runs it again."""
    held = {id(v) for v in namespace.values()}
    _run_pending({st for st in before if id(st.module) not in held or not _failed(st)}, True)


def _run_pending(tried: "set[LazyState]", at_import: bool) -> None:
    """Run what is pending and not in *tried*, until nothing new is.  *at_import*: as the
    import statements that made them would have, a failure raises (see ``run_new_pending``);
    else failures are set aside, and bodies that failed before are skipped."""
    while todo := [st for st in list(_pending.values()) if st not in tried]:
        for st in todo:
            tried.add(st)
            if _pending.get(id(st.module)) is not st or st.owner is not None:
                continue
            if not at_import and _failed(st):
                continue
            try:
                execute(st, None)
            except BaseException as exc:  # noqa: BLE001 - pytest's skip is a BaseException too
                if not at_import:
                    if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                        raise
                    continue  # its own next use raises it again
                # It failed where eagerly it did, at the import, which takes a failed module
                # out of sys.modules: the next importer runs it again, and nothing that walks
                # sys.modules meanwhile (inspect.getmodule, formatting this very error) runs
                # it once more.
                if sys.modules.get(st.name) is st.module:
                    del sys.modules[st.name]
                    _pending.pop(id(st.module), None)  # no sweep runs it again
                _unnote(exc)
                # (Not ``from``: that would hide the body's own cause and context.)
                raise exc.with_traceback(_as_at_import(st.site, exc.__traceback__))  # noqa: B904


def _as_at_import(site: "tuple[str, int]", tb: "TracebackType | None") -> "TracebackType | None":
    """*tb*, of a body that failed, as eagerly at its import statement: the statement's line,
    after those of the imports that led there (pytest starts a test module's collection error
    at its own line), then the body's own frames, none of lazyhook's or importlib's (an eager
    import's error leaves them behind in C)."""
    if tb is None:
        return None
    kept, tb_type = [], type(tb)
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if not name.startswith(_OWN):
            kept.append(tb)
        tb = tb.tb_next
    new = None
    for tb in reversed(kept):
        new = tb_type(new, tb.tb_frame, tb.tb_lasti, tb.tb_lineno)
    for file, line in _import_chain(site):
        # The importing module has run: a frame of its file at that line stands for its own.
        code = compile("\n" * (line - 1) + "frame = _getframe()", file, "exec")
        names: dict[str, object] = {"_getframe": sys._getframe}
        exec(code, names)
        frame: FrameType = names.pop("frame")  # type: ignore[assignment]
        names.clear()  # (its locals, which pytest --showlocals lists: none of ours)
        new = tb_type(new, frame, -1, line)  # -1: no columns (no carets shown)
    return new


def _import_chain(site: "tuple[str, int]") -> "list[tuple[str, int]]":
    """*site*, then the import site of the lazy module whose file holds it, and so on: a
    body a pending body imported fails as eagerly below its importer's own import line."""
    by_file = {}
    for name, rep in list(reports.items()):
        spec = getattr(sys.modules.get(name), "__spec__", None)  # (a lazy module answers)
        origin = getattr(spec, "origin", None)
        if isinstance(origin, str):
            by_file[origin] = rep.site
    chain = [site]
    while chain[-1][0] in by_file and len(chain) < 100:
        chain.append(by_file.pop(chain[-1][0]))
    return [(file, line) for file, line in chain if line >= 1]


_HERE = os.path.dirname(__file__)
# lazyhook's own files, also as _interp.hide_* names them, and frozen importlib's.
_OWN = (_HERE + os.sep, "<" + _HERE + os.sep, "<frozen importlib")


def _failed(st: LazyState) -> bool:
    rep = reports.get(st.name)
    return rep is not None and rep.failed > 0


def _unnote(exc: BaseException) -> None:
    """Take off the note that says a body failed at its first use (``_attribution``)."""
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, list):
        notes[:] = [n for n in notes if not (isinstance(n, str) and n.startswith("lazyhook: "))]
    cause = exc.__cause__  # 3.10, no notes: the note is the cause
    if type(cause) is ImportError and str(cause).startswith("lazyhook: "):
        exc.__cause__ = None


def before_audit_hook() -> None:
    """``sys.addaudithook`` is about to add a hook: import blockers (pip's, since 26.3) install
    one before they refuse new imports.  Eagerly every pending module would have run already,
    so they all run now, and lazyhook loads what it needs later (at exit: writing the cache),
    which the blocker would refuse."""
    run_all_pending()
    _load_own_code()


def _load_own_code() -> None:
    """Import now every module lazyhook may import later in this process (running a body,
    binding lazy names, writing the cache at exit, reporting): after a fork, a module another
    thread was importing would stay locked forever in the child; after an import blocker's
    audit hook, no import is possible."""
    import _operator  # noqa: F401 - each of these is imported somewhere in lazyhook, later
    import atexit  # noqa: F401
    import copyreg  # noqa: F401
    import errno  # noqa: F401
    import itertools  # noqa: F401
    import warnings  # noqa: F401

    from lazyhook._stdlib import module

    module("array")
    module("zlib")
    from lazyhook import (  # noqa: F401
        _atomic,
        _attribution,
        _bind,
        _bytecode,
        _cache,
        _deciders,
        _forwarding,
        _learn,
        _lock,
        _merge,
        _module_names,
        _names,
        _pickling,
        _refind,
        _refused,
        _report,
        _sources,
        _store,
        _store_write,
        _truth,
        _uses,
        _uses_ref,
        _warn,  # noqa: F401
    )

    _lock.prepare()


def before_fork() -> None:
    # Eagerly every imported module had run before the fork: its state (a token, a
    # connection, a counter) is shared by parent and child and its side effects happen once.
    # Deferred past the fork, a body would run once per process.
    #
    # The bodies run inside the fork's own "before" hooks, though.  A hook a body registers
    # now (logging's lock acquire) is missed by this fork, while its "after" twin (the
    # release) is not: it is called here instead, in the order the fork would have (the
    # last registered first).  What a body prints now stays in the stdout buffer, as the
    # program's own unflushed output does (flushing both changed what a program that prints
    # before a fork printed, and in which order; README, Limit 12).
    before_hooks: list[Callable[[], object]] = []
    register = os.register_at_fork

    def register_at_fork(**hooks: "Callable[[], object]") -> None:
        register(**hooks)
        if "before" in hooks:
            before_hooks.append(hooks["before"])

    os.register_at_fork = register_at_fork  # type: ignore[assignment]
    try:
        run_all_pending()
        _load_own_code()
    finally:
        os.register_at_fork = register
    for hook in reversed(before_hooks):
        try:
            hook()
        except Exception as exc:  # noqa: BLE001 - reported as the fork reports its own hooks'
            _interp.report_unraisable(exc, hook)


# Handlers lazy bodies registered with atexit: (ran, handler, args, kwargs); ``ran`` is
# appended to by a marker registered right after the handler (see note_exit_handler).
_exit_handlers: "list[_Noted]" = []


def note_exit_handler(
    register: "Callable[..., object]",
    func: "Callable[..., object]",
    args: "tuple[Any, ...]",
    kwargs: "dict[str, Any]",
) -> None:
    """A body registered *func* with atexit.  CPython calls only the handlers registered
    before its atexit handlers began: one a body registered while they run (its module first
    used by a handler: logging's ``shutdown``) is never called, where eagerly it was, at the
    end.  A marker registered right after *func* runs right before it (last registered,
    first called); ``at_exit``, which runs after the program's handlers, calls each handler
    whose marker never ran."""
    ran: list[bool] = []
    _exit_handlers.append((ran, func, args, kwargs))
    register(ran.append, True)


def at_exit() -> None:
    """The program's own atexit handlers have run (``install()`` registered this one before
    them): call the handlers bodies registered too late for CPython (``note_exit_handler``),
    and those that the handlers called here register in turn."""
    while _exit_handlers:
        ran, func, args, kwargs = _exit_handlers.pop()
        if not ran:
            try:
                func(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - reported as atexit reports its own
                _interp.report_unraisable(exc, func, atexit=True)


def after_fork_in_child() -> None:
    # A body running in another thread at fork time will never finish in the child (that
    # thread does not exist there), and importlib's lock for it stays held forever: put the
    # module back to its lazy state and drop that lock so the child can run the body itself.
    me = get_ident()
    for st in list(_pending.values()):
        if st.owner is not None and st.owner != me:
            reset(st, _mod_getattr(st.module, "__dict__"))
            st.owner = None
            _interp.release_module_lock(st.name)
