"""How lazyhook's module objects pickle and copy: as what the eager import bound.

Picklers find a module's reducer by its exact type (cloudpickle and dill reduce
``types.ModuleType`` by name; plain pickle and ``copy`` refuse a module), so lazyhook's module
classes have reducers of their own in ``copyreg``: a lazy module (``_module``), a package
whose lazy submodules have not run (``ParentOfPending``) and a module whose body replaced its
``sys.modules`` entry (``_forwarding``).  Pickling or copying one is a use: it runs (and so do
the package's lazy submodules, which eagerly had run too), and the caller is handed what the
eager import had bound — the module, or the object that replaced it — to reduce its own way.

Loaded the first time something pickles or copies such an object.
"""

import sys
from _operator import getitem  # the C module: no import of operator.py

from lazyhook._execute import ParentOfPending, settle_package
from lazyhook._forwarding import ForwardingModule
from lazyhook._forwarding import reduce as reduce_forwarding

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType

_ModuleType = type(sys)


def reduce(
    module: object, user: "FrameType | None", caller: "FrameType"
) -> "tuple[object, tuple[object, ...]]":
    """The reduce value for *module*, a lazy module that has just run (``_module``), asked by
    *caller* (a pickler's Python code, ``copy``) on behalf of *user* (the code that pickles or
    copies)."""
    if type(module) is ParentOfPending:
        settle_package(_ModuleType.__getattribute__(module, "__name__"), user, run=True)
    kind = type(module)
    if kind is ForwardingModule:  # its body replaced its sys.modules entry: it is that now
        return reduce_forwarding(module, caller)
    if kind is not _ModuleType or caller.f_globals.get("__name__") == "copy":
        # Still lazy (its body failed), or copy.copy()/deepcopy() of a module: refused, as
        # eagerly ("cannot pickle 'module' object").
        raise TypeError(f"cannot pickle {kind.__name__!r} object")
    return getitem, ([module], 0)  # the pickler reduces the module its own way
