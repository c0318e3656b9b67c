"""Submodule stand-ins: what a star import binds for a submodule its package has not imported.

``from sympy import *`` binds 20 submodules (``polys``, ``printing``...): eagerly the modules
sympy's body imported.  Made lazy through the import system, each costs a finder round and a
lazy module (~8 M instructions for the 20, measured with ``benchmarks/instructions.py``:
a third of the statement's own work).  Eagerly no such submodule exists before its package
has run, and none of them is in ``sys.modules`` until its package runs here either: a star
import binds a stand-in that **is** a module object (``isinstance(x, ModuleType)``,
``inspect.ismodule``) and forwards every attribute, like any other stand-in, to the real
submodule, which running the package makes.  Once the package has run, ``_names.settle``
puts the real module in its place, as for every stand-in.

Only star imports get them, and only for a submodule of the star-imported package that is
not in ``sys.modules`` and whose name the importing code does not use as a value (``_bind``
decides): ``from sympy import polys`` still binds the lazy module itself.
"""

import sys

from lazyhook import _names

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType as _ModuleType
    from typing import Any

    from lazyhook._names import Owner
else:
    _ModuleType = type(sys)
_getslot, _get, _OWN = _names._getslot, _names._get, _names._OWN
_LAZY_NAME = vars(_names.LazyName)


class SubmoduleName(_ModuleType):
    # A module object of its own (its own ``__dict__`` stays empty): every attribute but the
    # stand-in's slots is the real module's, read after running the package.

    __slots__ = ("_lh_owner", "_lh_name", "_lh_value")
    __doc__ = _LAZY_NAME["__doc__"]  # (the real module's, as for every stand-in)

    def __getattribute__(self, name: str) -> object:
        if name in _OWN:
            return _getslot(self, name)
        return getattr(_get(self), name)

    def __setattr__(self, name: str, value: object) -> None:
        setattr(_get(self), name, value)

    def __delattr__(self, name: str) -> None:
        delattr(_get(self), name)

    def __repr__(self) -> str:
        return repr(_get(self))

    def __dir__(self) -> "list[str]":
        return dir(_get(self))

    __reduce_ex__ = _LAZY_NAME["__reduce_ex__"]
    __reduce__ = _LAZY_NAME["__reduce__"]
    __copy__ = _LAZY_NAME["__copy__"]
    __deepcopy__ = _LAZY_NAME["__deepcopy__"]


_names.register_type(SubmoduleName)
_new = _ModuleType.__new__
_set_owner, _set_name = SubmoduleName._lh_owner.__set__, SubmoduleName._lh_name.__set__  # type: ignore[attr-defined]
_set_value = SubmoduleName._lh_value.__set__  # type: ignore[attr-defined]


def stand_ins(owner: "Owner", names: "list[str]") -> "list[Any]":
    """New stand-ins for *names*, submodules of *owner*'s module that nothing imported yet."""
    made = []
    for name in names:
        ln = _new(SubmoduleName)
        _set_owner(ln, owner)
        _set_name(ln, name)
        _set_value(ln, _names.UNSET)
        made.append(ln)
    _names.keep_alive(made)
    return made
