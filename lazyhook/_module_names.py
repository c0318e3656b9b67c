"""Module stand-ins: what a from-import binds for a name of a lazy module that is a module.

Eagerly ``m``'s body ran at ``from m import *`` (or ``from m import json, helper``) before
anything used the modules it binds: it may have configured one (``random.seed(1)``,
``matplotlib.use("Agg")``, ``logging.basicConfig()``) or imported its submodules (``import
xml.dom.minidom`` makes ``xml.dom`` an attribute).  Bound as the module itself, a name would
skip all that, and would stay whichever module ``m`` bound when the cache learned it (``try:
import ujson as json``).  So such a name is a stand-in that **is** a module object
(``isinstance(x, ModuleType)``, ``inspect.ismodule``) and forwards every attribute, like any
other stand-in, to ``getattr(m, name)`` after running ``m``; once ``m`` has run,
``_names.settle`` puts the real module in its place.  (It also saves a star import a finder
round and a lazy module for each submodule nothing imported yet: sympy's 20, −6.8 M
instructions, measured with ``benchmarks/instructions.py``.)  A module name the importing
code uses as a value runs ``m`` at the statement instead (``_bind``).
"""

import sys

from lazyhook import _interp, _names

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType as _ModuleType
    from typing import Any

    from lazyhook._names import Owner
else:
    _ModuleType = type(sys)
_getslot, _get, _OWN = _names._getslot, _names._get, _names._OWN
_LAZY_NAME = vars(_names.LazyName)


class ModuleName(_ModuleType):
    # A module object of its own (its own ``__dict__`` stays empty): every attribute but the
    # stand-in's slots is the real module's, read after running the module that binds it.

    __slots__ = ("_lh_owner", "_lh_name", "_lh_value")
    __doc__ = _LAZY_NAME["__doc__"]  # (the real module's, as for every stand-in)

    def __getattribute__(self, name: str) -> object:
        if name in _OWN:
            return _getslot(self, name)
        return getattr(_get(self), name)

    # The rest as every stand-in's: writes, repr, dir, pickling and copying forwarded.
    __setattr__ = _LAZY_NAME["__setattr__"]
    __delattr__ = _LAZY_NAME["__delattr__"]
    __repr__ = _LAZY_NAME["__repr__"]
    __dir__ = _LAZY_NAME["__dir__"]
    __reduce_ex__ = _LAZY_NAME["__reduce_ex__"]
    __reduce__ = _LAZY_NAME["__reduce__"]
    __copy__ = _LAZY_NAME["__copy__"]
    __deepcopy__ = _LAZY_NAME["__deepcopy__"]


_names.register_type(ModuleName)
_new = _ModuleType.__new__
_set_owner, _set_name = ModuleName._lh_owner.__set__, ModuleName._lh_name.__set__  # type: ignore[attr-defined]
_set_value = ModuleName._lh_value.__set__  # type: ignore[attr-defined]


def stand_ins(owner: "Owner", names: "list[str]") -> "list[Any]":
    """New stand-ins for *names*, modules that *owner*'s module binds."""
    made = []
    for name in names:
        ln = _new(ModuleName)
        _set_owner(ln, owner)
        _set_name(ln, name)
        _set_value(ln, _names.UNSET)
        made.append(ln)
    _names.keep_alive(made)
    return made


_interp.hide_module_from_warnings()  # its frames are named like importlib's (see _interp)
