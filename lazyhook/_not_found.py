"""An import that is about to fail while lazy modules are still pending.

Eagerly, every module imported before an import statement has run by the time it executes,
and one of them may be what makes the module findable: a settings module that does
``sys.path.insert(0, plugins_dir)``, a package body that extends its own ``__path__`` or
installs a finder.  Lazily that body may not have run yet, and the import would fail where
it succeeded eagerly (``ModuleNotFoundError``, the program stops).  So when no finder finds a
module (``NotFoundFinder`` is last on ``sys.meta_path``), the import would stop the program
(no ``try`` or ``with`` on the stack that could catch it) and lazy modules are pending, they
run now — eagerly they all had — and the finders are asked again.  An import that a handler
may catch (``try: import ujson``: optional dependencies) fails as it would, pending bodies
untouched: that is the common case, and it must keep them lazy.  The failure path only: an
import that is found costs nothing here.
"""

import _imp
import sys

from lazyhook import _interp
from lazyhook._process import pending_states, run_all_pending

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import FrameType


def find_spec(
    finder: object, caller: "FrameType", name: str, path: object, target: object
) -> object:
    """The spec for *name* once what eager imports would have run has run, else None.

    *caller* is the frame that asked *finder*: importlib's ``_find_spec`` in an import (the
    finder answers anything else asking, ``importlib.util.find_spec``, pkgutil, lazyhook's
    own ``where``, with None before it loads this file).  The finder hands importlib the
    module instead when a body run here imported it (one module, run once, as eagerly)."""
    importing = caller.f_back
    # Inside a running lazy body the failing import is that body's: eagerly only what was
    # imported before that body's own import had run, not everything pending (a module
    # imported after it, which eagerly the failure kept from ever running).
    if importing is None or _interp.state.running or not pending_states():
        return None
    meta_path = list(sys.meta_path)
    after = meta_path[meta_path.index(finder) + 1 :] if finder in meta_path else []
    spec = _ask(after, name, path, target)  # finders added after lazyhook's (editable installs)
    if spec is not None or _may_be_caught(importing):
        return spec
    # importlib's _find_spec holds its global lock around each finder: a body run here that
    # waits for a thread which imports would wait forever.  Released meanwhile, as eagerly
    # the bodies ran outside it.
    try:
        _imp.release_lock()
    except RuntimeError:  # not this thread's (a version that does not hold it here)
        held = False
    else:
        held = True
    try:
        run_all_pending()
    finally:
        if held:
            _imp.acquire_lock()
    if name in sys.modules:
        # A body imported it: the finder hands importlib that module, taken out of
        # sys.modules until importlib puts it back (else importlib's _find_spec, seeing it
        # there, would load that module's own spec again: a second run, a second object).
        return None
    parent = name.rpartition(".")[0]
    if parent:  # its __path__ as it is now (a body may have extended it)
        path = getattr(sys.modules.get(parent), "__path__", path)
    return _ask([f for f in sys.meta_path if f is not finder], name, path, target)


def _ask(finders: "Iterable[object]", name: str, path: object, target: object) -> object:
    for f in finders:
        find = getattr(f, "find_spec", None)
        if find is not None:
            spec = find(name, path, target)
            if spec is not None:
                return spec
    return None


def _may_be_caught(frame: "FrameType | None") -> bool:
    """Is any frame from *frame* up inside a ``try`` or ``with`` whose handler could catch
    the failure?  Any ``with``, unlike ``_reads.caught_above``'s rule for keeping an import
    eager: this path runs bodies early, and an ``__exit__`` may swallow the failure.  The
    import machinery's frames only re-raise, but ``_handle_fromlist``, which tries each name
    of ``from package import name`` as a submodule and takes a miss for an attribute;
    lazyhook's own frames only re-raise."""
    while frame is not None:
        if frame.f_code is _interp.HANDLE_FROMLIST:
            return True
        module = frame.f_globals.get("__name__", "")
        if module not in _interp.MACHINERY and not module.startswith("lazyhook"):
            in_try, in_with = _interp.guards(frame)
            if in_try or in_with:
                return True
        frame = frame.f_back
    return False
