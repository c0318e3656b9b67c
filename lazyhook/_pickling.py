"""How lazyhook's module objects and stand-ins pickle and copy: as what the eager import bound.

Picklers find a module's reducer by its exact type (cloudpickle and dill reduce
``types.ModuleType`` by name; plain pickle and ``copy`` refuse a module), so lazyhook's module
classes have reducers of their own in ``copyreg``: a lazy module and a package whose lazy
submodules have not run (``_module``, which runs them first: pickling one is a use), and a
module whose body replaced its ``sys.modules`` entry (``_forwarding``).  Each hands over what
the eager import had bound — the module, or the object that replaced it — to be reduced the
caller's own way (``hand_over``).  A stand-in (``_names``) pickles as its real object
(``reduce_real``).

Imports nothing of lazyhook's; loaded the first time something pickles or copies such an
object.
"""

import copyreg  # never lazy (_config.IGNORE)
import sys
from _operator import getitem  # the C module: no import of operator.py

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType
    from typing import Any

_ModuleType = type(sys)


def hand_over(target: object, caller: "FrameType") -> "tuple[object, tuple[object, ...]]":
    """The reduce value that gives *caller* (a pickler's Python code, ``copy``) *target*, what
    the eager import bound, to reduce its own way."""
    from_copy = caller.f_globals.get("__name__") == "copy"
    if from_copy and isinstance(target, _ModuleType):
        # copy.copy()/deepcopy() of a module: refused, as eagerly.
        raise TypeError(f"cannot pickle {type(target).__name__!r} object")
    if from_copy and caller.f_code.co_name == "copy":
        # copy.copy() does not copy a reduce value's arguments: copy the target itself.
        return caller.f_globals["copy"], (target,)
    # A pickler (or deepcopy, which copies the arguments) reduces the target its own way.
    return getitem, ([target], 0)


def reduce_real(real: object, protocol: "Any") -> "str | tuple[Any, ...]":
    """A stand-in pickles as its real object: by name where pickle would (as pickle, a type's
    registered reducer first: numpy's ufuncs), ``pkgutil.resolve_name``; else by value."""
    if isinstance(real, type(sys)):
        import importlib

        return importlib.import_module, (real.__name__,)
    qualname, modname = getattr(real, "__qualname__", None), getattr(real, "__module__", None)
    reducer = copyreg.dispatch_table.get(type(real))  # (a class's: its metaclass's)
    by_name = isinstance(real, type) or hasattr(real, "__code__") or type(real) is type(len)
    if reducer is not None or not by_name:
        reduced = reducer(real) if reducer is not None else real.__reduce_ex__(protocol)
        if not isinstance(reduced, str):
            return reduced
        qualname = reduced  # pickle's rule: a global of the object's module
    if isinstance(qualname, str) and isinstance(modname, str):
        import pkgutil

        try:
            found = pkgutil.resolve_name(f"{modname}:{qualname}")
        except Exception:  # noqa: BLE001 - not reachable by name: pickled as itself, below
            found = None
        if found is real:
            return pkgutil.resolve_name, (f"{modname}:{qualname}",)
    import copy  # not reachable by name (a lambda, a shadowed function): fails as eagerly

    return copy.copy, (real,)
