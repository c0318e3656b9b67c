"""Lazy names: what ``from x import y`` binds while ``x`` has not run.

One ``LazyName`` per (module, name).  When its module runs (for whatever reason), every lazy
name of it is settled and replaced by the real object in the module-level namespaces it was
bound into, so from then on globals hold real objects and code runs at eager speed.  A lazy
name that escaped first (stored in a list, captured as a default, bound in a function's locals
or a class body) keeps working by forwarding every operation to the real object.

Forwarding can never be perfect: ``type(obj)`` is ``LazyName`` until resolved, and C code that
checks exact types rejects it.  To keep the common cases right, a call through a lazy name
resolves lazy-name arguments first (``ctypes.sizeof(c_long)`` with both names lazy), and binary
operators resolve the other operand.

The contract with lazy modules (``_module``) is one documented hook, so that this file never
imports that one: a lazy name holds its module's state object (the *owner*) and calls
``owner.real_value(name)`` for the real object; the owner runs the module if needed (and then
settles every lazy name of it through ``settle``).

Loaded when the first lazy name is bound.
"""

import _operator as operator  # the C module: `operator` adds ~0.3 ms of Python fallbacks
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any, Protocol

    class Owner(Protocol):
        def real_value(self, name: str) -> object: ...


UNSET = _UNSET = object()
_getslot = object.__getattribute__
_setslot = object.__setattr__

# Attributes of the lazy name object itself; everything else forwards.  The protocol methods
# listed here are looked up on the *instance* by their callers (class creation's
# __mro_entries__, pickle's __reduce_ex__, copy's __deepcopy__), so forwarding them would hand
# out the real object's methods and bypass the lazy name's own handling.
_OWN = frozenset(
    {
        "_lh_owner",
        "_lh_name",
        "_lh_value",
        "__mro_entries__",
        "__reduce_ex__",
        "__reduce__",
        "__copy__",
        "__deepcopy__",
    }
)


class LazyName:
    # A stand-in for ``getattr(module, name)`` until the module runs.  (No class docstring:
    # ``__doc__`` is a property, because pydoc reads it with object.__getattribute__.)

    __slots__ = ("_lh_owner", "_lh_name", "_lh_value", "__weakref__")

    @property
    def __doc__(self) -> "str | None":  # type: ignore[override]
        doc: str | None = _get(self).__doc__
        return doc

    def __init__(self, owner: "Owner", name: str) -> None:
        _setslot(self, "_lh_owner", owner)
        _setslot(self, "_lh_name", name)
        _setslot(self, "_lh_value", _UNSET)

    def __getattribute__(self, name: str) -> object:
        if name in _OWN:
            return _getslot(self, name)
        real = _get(self)
        if name == "__signature__":
            import inspect

            return inspect.signature(real)
        return getattr(real, name)

    def __setattr__(self, name: str, value: object) -> None:
        setattr(_get(self), name, value)

    def __delattr__(self, name: str) -> None:
        delattr(_get(self), name)

    def __repr__(self) -> str:
        return repr(_get(self))

    def __str__(self) -> str:
        return str(_get(self))

    def __bytes__(self) -> bytes:
        return bytes(_get(self))

    def __format__(self, spec: str) -> str:
        return format(_get(self), spec)

    def __bool__(self) -> bool:
        return bool(_get(self))

    def __hash__(self) -> int:
        return hash(_get(self))

    def __dir__(self) -> "list[str]":
        return dir(_get(self))

    def __call__(self, *args: object, **kwargs: object) -> object:
        # Resolve lazy-name arguments: C callees check exact types (ctypes.sizeof(c_long)).
        # Checked with a plain loop first: rebuilding the arguments costs ~0.2 us a call.
        for a in args:
            if type(a) is LazyName:
                args = tuple(_get(a) if type(a) is LazyName else a for a in args)
                break
        if kwargs:
            for v in kwargs.values():
                if type(v) is LazyName:
                    kwargs = {k: _get(v) if type(v) is LazyName else v for k, v in kwargs.items()}
                    break
        return _get(self)(*args, **kwargs)

    # Descriptor use in a class body: a lazy function assigned as a class attribute must give a
    # bound method, a lazy staticmethod/property what they give.
    def __get__(self, obj: object, cls: "type | None" = None) -> object:
        real = _get(self)
        get = getattr(type(real), "__get__", None)
        if get is None:
            return real
        return get(real, obj, cls)

    # Classes: isinstance(x, lazy_cls), issubclass(C, lazy_cls), class Mine(lazy_cls).
    def __instancecheck__(self, obj: object) -> bool:
        return isinstance(obj, _get(self))

    def __subclasscheck__(self, cls: type) -> bool:
        return issubclass(cls, _get(self))

    def __mro_entries__(self, bases: "tuple[object, ...]") -> "tuple[object, ...]":
        return (_get(self),)

    # Containers and iteration.
    def __len__(self) -> int:
        return len(_get(self))

    def __length_hint__(self) -> int:
        return operator.length_hint(_get(self))

    def __iter__(self) -> object:
        return iter(_get(self))

    def __next__(self) -> object:
        return next(_get(self))

    def __reversed__(self) -> object:
        return reversed(_get(self))

    def __contains__(self, item: object) -> bool:
        return item in _get(self)

    def __getitem__(self, key: object) -> object:
        return _get(self)[key]

    def __setitem__(self, key: object, value: object) -> None:
        _get(self)[key] = value

    def __delitem__(self, key: object) -> None:
        del _get(self)[key]

    # Numbers.
    def __index__(self) -> int:
        return operator.index(_get(self))

    def __int__(self) -> int:
        return int(_get(self))

    def __float__(self) -> float:
        return float(_get(self))

    def __complex__(self) -> complex:
        return complex(_get(self))

    def __round__(self, *args: "Any") -> object:
        return round(_get(self), *args)

    def __trunc__(self) -> object:
        import math

        return math.trunc(_get(self))

    def __floor__(self) -> object:
        import math

        return math.floor(_get(self))

    def __ceil__(self) -> object:
        import math

        return math.ceil(_get(self))

    def __neg__(self) -> object:
        return -_get(self)

    def __pos__(self) -> object:
        return +_get(self)

    def __abs__(self) -> object:
        return abs(_get(self))

    def __invert__(self) -> object:
        return ~_get(self)

    # Context managers, async.
    def __enter__(self) -> object:
        return _get(self).__enter__()

    def __exit__(self, *exc: object) -> object:
        return _get(self).__exit__(*exc)

    async def __aenter__(self) -> object:
        return await _get(self).__aenter__()

    async def __aexit__(self, *exc: object) -> object:
        return await _get(self).__aexit__(*exc)

    def __await__(self) -> object:
        return _get(self).__await__()

    def __aiter__(self) -> object:
        return _get(self).__aiter__()

    def __anext__(self) -> object:
        return _get(self).__anext__()

    def __fspath__(self) -> object:
        import os

        return os.fspath(_get(self))

    # Pickling and copying: a lazy name pickles to what its real object pickles to.  Functions,
    # classes and modules are pickled by reference by pickle itself, which rejects a proxy by
    # identity ("not the same object"), so those reduce to pkgutil.resolve_name('mod:qualname'),
    # loadable without lazyhook installed.  Instances use their own reduce.
    def __reduce_ex__(self, protocol: "Any") -> "str | tuple[Any, ...]":
        real = _get(self)
        if isinstance(real, type(sys)):
            import importlib

            return importlib.import_module, (real.__name__,)
        qualname = getattr(real, "__qualname__", None)
        modname = getattr(real, "__module__", None)
        if (isinstance(real, type) or callable(real) and hasattr(real, "__code__")) or type(
            real
        ).__name__ in ("builtin_function_or_method",):
            if isinstance(qualname, str) and isinstance(modname, str):
                import pkgutil

                return pkgutil.resolve_name, (f"{modname}:{qualname}",)
        return real.__reduce_ex__(protocol)  # type: ignore[no-any-return]

    def __reduce__(self) -> "str | tuple[Any, ...]":
        return self.__reduce_ex__(2)

    def __copy__(self) -> object:
        import copy

        return copy.copy(_get(self))

    def __deepcopy__(self, memo: "dict[int, object]") -> object:
        import copy

        return copy.deepcopy(_get(self), memo)


def _binary(op: "Callable[[object, object], object]", name: str) -> None:
    def forward(self: LazyName, other: object) -> object:
        return op(_get(self), _get(other) if type(other) is LazyName else other)

    def reflected(self: LazyName, other: object) -> object:
        return op(_get(other) if type(other) is LazyName else other, _get(self))

    forward.__name__ = f"__{name}__"
    reflected.__name__ = f"__r{name}__"
    setattr(LazyName, forward.__name__, forward)
    setattr(LazyName, reflected.__name__, reflected)


def _inplace(op: "Callable[[object, object], object]", name: str) -> None:
    def inplace(self: LazyName, other: object) -> object:
        return op(_get(self), _get(other) if type(other) is LazyName else other)

    inplace.__name__ = f"__i{name}__"
    setattr(LazyName, inplace.__name__, inplace)


for _n in "add sub mul matmul truediv floordiv mod pow lshift rshift and xor or".split():
    _op = getattr(operator, _n + "_" if _n in ("and", "or") else _n)
    _binary(_op, _n)
    _inplace(getattr(operator, "i" + _n), _n)
_binary(divmod, "divmod")


def _compare(op: "Callable[[object, object], object]", name: str) -> None:
    def compare(self: LazyName, other: object) -> object:
        return op(_get(self), _get(other) if type(other) is LazyName else other)

    compare.__name__ = compare.__qualname__ = f"__{name}__"
    setattr(LazyName, compare.__name__, compare)


# Set after the class exists, so defining __eq__ does not reset __hash__ to None.
for _n in "lt le eq ne gt ge".split():
    _compare(getattr(operator, _n), _n)


def stand_ins(owner: "Owner", names: "Iterable[str]") -> "dict[str, LazyName]":
    """New lazy names of *owner*'s module for *names* (the caller keeps one per name)."""
    return {name: LazyName(owner, name) for name in names}


def _get(ln: object) -> "Any":
    """The real object behind a lazy name (running its module if needed)."""
    value = _getslot(ln, "_lh_value")
    if value is not _UNSET:
        return value
    owner: Owner = _getslot(ln, "_lh_owner")
    value = owner.real_value(_getslot(ln, "_lh_name"))
    settled = _getslot(ln, "_lh_value")  # the module ran meanwhile: settle() filled it in
    if settled is not _UNSET:
        return settled
    _setslot(ln, "_lh_value", value)
    return value


def settle(
    names: "dict[str, LazyName]", namespaces: "list[dict[str, object]]", module: object
) -> "tuple[bool, int]":
    """After their module ran: fill in every lazy name and replace them where they were bound.

    Returns (something missing, how many were filled in): a lazy name whose value the module
    does not define means the cache had promised it.
    """
    d = getattr(module, "__dict__", None)
    if not isinstance(d, dict):
        return False, 0
    missing = False
    real: dict[int, object] = {}
    for name, ln in names.items():
        value = d.get(name, _UNSET)
        if value is _UNSET:
            if "__getattr__" not in d:
                missing = True
            continue  # resolved (or found missing) at its first use
        _setslot(ln, "_lh_value", value)
        real[id(ln)] = value
    for ns in namespaces:
        for key, value in list(ns.items()):
            if type(value) is LazyName and id(value) in real:
                ns[key] = real[id(value)]
    return missing, len(real)


def is_unresolved(obj: object) -> bool:
    return type(obj) is LazyName and _getslot(obj, "_lh_value") is _UNSET


def real_object(obj: object) -> object:
    """The real object for a lazy name (resolving it); anything else unchanged."""
    return _get(obj) if type(obj) is LazyName else obj
