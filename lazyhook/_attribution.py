"""Warnings and errors of a deferred body, attributed to its import statement.

A body's exception is raised as eager Python would have raised it at the import, with the
import site noted (``surface``); an ``AttributeError`` becomes an ``ImportError`` chained to
it, so that ``hasattr`` and ``getattr(m, x, default)`` cannot mistake it for a missing
attribute.

A module body that warns at its importer (``warnings.warn(..., stacklevel=2)``,
``warnings._deprecated``: ``import imghdr``) is attributed, eagerly, to the import statement —
its file, line, module and warning registry, so ``-W`` filters keyed on that module match and
the default filters show a DeprecationWarning for an import made in ``__main__``.  Deferred,
the importer's frame is gone: the stack holds the code that used the module first.

So while a lazy body runs, ``warnings.warn`` is wrapped: a warning whose attribution would
land outside the running body is given to ``warnings.warn_explicit`` with the import
statement recorded when the module was made lazy and the importer's registry and module name
(the line shown is linecache's, as for ``warn``).  A warning attributed inside the body, and
every warning while no lazy body runs in the thread, goes to the real ``warn`` unchanged.
Warnings raised from C (``PyErr_WarnEx``) and through a ``warn`` imported before the first
lazy body ran cannot be seen here: they are attributed past lazyhook's frames, to the first
use (``_interp.hide_from_warnings``), which is documented.

Loaded when the first lazy body runs; the wrapper is installed only while bodies run.
"""

# ``_warnings`` is what ``warnings`` re-exports warn and warn_explicit from, built in:
# importing ``warnings`` here cost a process that never warns ~0.3 ms.
import _warnings
import sys

from lazyhook import _interp

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType
    from typing import Any

    Body = tuple[FrameType, tuple[str, int], dict[str, object] | None]

_real_warn = _warnings.warn
_running = [0]  # bodies running in all threads: the wrapper is installed while > 0


def enter(
    run_frame: "FrameType", site: "tuple[str, int]", globals_: "dict[str, object] | None"
) -> None:
    """A lazy body is about to run in *run_frame* (the frame that runs it)."""
    state = _interp.state
    state.bodies = (*state.bodies, (run_frame, site, globals_))
    _running[0] += 1
    if _running[0] == 1:
        _swap(_real_warn, _warn)


def leave() -> None:
    state = _interp.state
    state.bodies = state.bodies[:-1]
    _running[0] -= 1
    if _running[0] == 0:
        _swap(_warn, _real_warn)
        if sys.getrefcount(_warn) > _REFS:
            _release_captured()


def _swap(old: object, new: object) -> None:
    """``warn`` of ``_warnings`` (which ``warnings``, imported while a body runs, takes it
    from) and of ``warnings`` if it is imported."""
    if _warnings.warn is old:
        _warnings.warn = new  # type: ignore[assignment]
    if "warnings" in sys.modules:
        import warnings

        if warnings.warn is old:
            warnings.warn = new  # type: ignore[assignment]


def _release_captured() -> None:
    """Give the real ``warn`` back to modules that ran ``from warnings import warn`` (or
    ``warn = warnings.warn``) while the wrapper was installed: kept, it put a frame of
    lazyhook's in every traceback of theirs under ``-W error``.  Reached only when something
    still holds the wrapper (its reference count says so): the walk over every module's
    globals, by identity, is ~3 ms with sympy loaded.  A wrapper kept elsewhere (a default
    argument, a class attribute) stays, passing warnings on unchanged."""
    module_type = type(sys)
    module_dict = vars(module_type)["__dict__"]  # a lazy module's own, without running it
    for module in list(sys.modules.values()):
        # By type(), not isinstance(): a proxy in sys.modules (twisted's deprecation proxy)
        # answers __class__ as the module it wraps.
        if issubclass(type(module), module_type):
            d = module_dict.__get__(module)
            if d is _OWN_GLOBALS:
                continue  # this module's own _warn: given back, no later body was attributed
            for key, value in list(d.items()):
                if value is _warn:
                    d[key] = _real_warn


def _warn(
    message: object,
    category: "type[Warning] | None" = None,
    stacklevel: int = 1,
    source: object = None,
    **kwargs: object,
) -> None:
    bodies: tuple[Body, ...] = _interp.state.bodies  # type: ignore[assignment]
    if bodies and _crosses(sys._getframe(1), stacklevel, bodies[-1][0]):
        _at_import(message, category, bodies[-1], source)
        return
    # This frame is not internal, so the real warn skips it as the first level.
    _real_warn(message, category, stacklevel + 1, source, **kwargs)  # type: ignore[call-overload]


_REFS = sys.getrefcount(_warn)  # this module's global (and the call's argument): none kept
_OWN_GLOBALS = globals()


def _internal(frame: "FrameType") -> bool:
    name = frame.f_code.co_filename
    return "importlib" in name and "_bootstrap" in name  # as warnings decides it


def _crosses(frame: "FrameType | None", stacklevel: int, run_frame: "FrameType") -> bool:
    """Does the frame ``warnings.warn(stacklevel=...)`` would pick, walking up from *frame*
    (its caller) as ``warnings`` does, lie beyond *run_frame* (outside the running body)?"""
    raw = stacklevel <= 1 or (frame is not None and _internal(frame))
    for _ in range(stacklevel - 1):
        if frame is None:
            return False
        frame = frame.f_back
        while not raw and frame is not None and _internal(frame):
            if frame is run_frame:
                return True
            frame = frame.f_back
        if frame is run_frame:
            return True
    return False


def _at_import(message: object, category: object, body: "Body", source: object) -> None:
    if isinstance(message, Warning):
        category = type(message)
    elif category is None:
        category = UserWarning
    filename, lineno = body[1]
    globals_ = body[2] if body[2] is not None else {}
    module = globals_.get("__name__")
    if not isinstance(module, str):
        module = filename[:-3] if filename.endswith(".py") else filename
    registry = globals_.setdefault("__warningregistry__", {})
    explicit: Any = _warnings.warn_explicit
    # No module_globals: warn() passes none either (the line shown is linecache's), and
    # warn_explicit would ask the importer's __loader__ for its source by __name__, which
    # fails for a __main__ run with -m ("loader for m cannot handle __main__").
    explicit(message, category, filename, lineno, module, registry, None, source)


def add_note(exc: BaseException, msg: str) -> None:
    if hasattr(exc, "add_note"):
        exc.add_note(msg)
    elif exc.__cause__ is None:  # 3.10 has no notes: say it as the cause
        exc.__cause__ = ImportError(msg)


def surface(
    exc: BaseException, name: str, site: "tuple[str, int]", at_statement: bool = False
) -> None:
    """Raise module *name*'s body's exception as eager Python would have raised it at the
    import (made at *site*), noted with the import site; an AttributeError as an ImportError
    chained to it (read as a missing attribute, it would pass for one: ``hasattr`` false, a
    from-import's "cannot import name").  *at_statement*: the body ran at its from-import
    statement itself (names bound as values, no cache entry yet), which raises it unnoted, as
    eagerly; an AttributeError still as an ImportError, the one thing a statement reading
    a name cannot raise."""
    where = f"{site[0]}:{site[1]}"
    if isinstance(exc, AttributeError):
        when = "at its from-import" if at_statement else "when first used"
        err = ImportError(f"{name!r} failed {when} (imported lazily at {where})")
        err.name = name
        raise err from exc
    if not at_statement:
        add_note(
            exc, f"lazyhook: {name!r} was imported lazily at {where} and failed when first used"
        )
    raise exc
