"""How lazyhook's module objects pickle and copy: as what the eager import bound.

Picklers find a module's reducer by its exact type (cloudpickle and dill reduce
``types.ModuleType`` by name; plain pickle and ``copy`` refuse a module), so lazyhook's module
classes have reducers of their own in ``copyreg``: a lazy module and a package whose lazy
submodules have not run (``_module``, which runs them first: pickling one is a use), and a
module whose body replaced its ``sys.modules`` entry (``_forwarding``).  Each hands over what
the eager import had bound — the module, or the object that replaced it — to be reduced the
caller's own way (``hand_over``).

Imports nothing of lazyhook's; loaded the first time something pickles or copies such an
object.
"""

import sys
from _operator import getitem  # the C module: no import of operator.py

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType

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
