"""Lazy names: the stand-ins a from-import binds while the module has not run.

What a from-import binds depends on the name's kind, learned with the name (``_cache.KINDS``;
``_bind`` decides).  This file makes the stand-ins:

* a class made per set of protocol methods the real object's type defines (``protocols_of``):
  no ``__call__`` for what is not callable, no ``__iter__`` for what is not iterable, no
  ``__radd__`` for a type without one (``cmd += FLAGS`` on a real list extends it in place);
  a class or callable also gets ``__mro_entries__`` delegating to the real object's own
  (``class P(NamedTuple)``), a class ``isinstance``/``issubclass`` forwarded; all pickle by
  reference;
* for an exception class of the module or a submodule, a real class derived from its nearest
  builtin exception base (``exception_stand_in``): ``except (A, X)`` and ``raise X`` work
  while the module has not run; calling it makes a real instance.

A call through a stand-in happens from C on the real object (``__call__`` is a descriptor):
no frame of lazyhook's in a traceback.  Every stand-in lives as long as the process (weak
references stay valid).  When its module runs, each gets its real object and is replaced by
it in the module-level namespaces it was bound into (``settle``); one that escaped (a
container, a default, function locals) keeps forwarding.  The contract with lazy modules is
one hook: a stand-in holds its module's state (the *owner*), calls ``owner.real_value(name)``.
"""

import copyreg  # never lazy (_config.IGNORE), loaded at start-up
import sys

from lazyhook import _interp

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Protocol

    class Owner(Protocol):
        def real_value(self, name: str) -> object: ...


UNSET = object()
_getslot, _setslot = object.__getattribute__, object.__setattr__
_alive: "list[object]" = []  # every stand-in ever made: weak references to them stay valid
_exception_values: "dict[int, object]" = {}  # id(exception stand-in) -> the real class
_OWN = frozenset({"_lh_owner", "_lh_name", "_lh_value", "__mro_entries__", "__reduce_ex__",
                  "__reduce__", "__copy__", "__deepcopy__", "__get__"})  # fmt: skip


def _get(ln: object) -> "Any":
    """The real object behind a lazy name (running its module if needed)."""
    value = _getslot(ln, "_lh_value")
    if value is not UNSET:
        return value
    owner: Owner = _getslot(ln, "_lh_owner")
    value = owner.real_value(_getslot(ln, "_lh_name"))
    settled = _getslot(ln, "_lh_value")  # the module ran meanwhile: settle() filled it in
    if settled is not UNSET:
        return settled
    _setslot(ln, "_lh_value", value)  # (any stand-in type: see register_type)
    return value


def _real(obj: object) -> object:
    """*obj*, or the real object if it is a lazy name."""
    if type(obj) in _TYPES:
        return _get(obj)
    if type(obj) is LazyExceptionType:
        return _exception_real(obj)
    return obj


class LazyName:
    # The base of every stand-in: forwards attributes and what every object has.  (No class
    # docstring: ``__doc__`` is a property; pydoc reads it with object.__getattribute__.)

    __slots__ = ("_lh_owner", "_lh_name", "_lh_value", "__weakref__")

    @property
    def __doc__(self) -> "str | None":  # type: ignore[override]
        doc: str | None = _get(self).__doc__
        return doc

    def __getattribute__(self, name: str) -> object:
        if name in _OWN:
            return _getslot(self, name)
        real = _get(self)
        if name == "__signature__" and sys._getframe(1).f_globals.get("__name__") == "inspect":
            import inspect  # inspect.signature(stand-in) asks for this first: the real one's

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

    def __format__(self, spec: str) -> str:
        return format(_get(self), spec)

    def __dir__(self) -> "list[str]":
        return dir(_get(self))

    def __eq__(self, other: object) -> bool:
        return _get(self) == _real(other)  # type: ignore[no-any-return]

    def __hash__(self) -> int:
        return hash(_get(self))

    # A lazy name pickles as its real object (see _pickling.reduce_real).
    def __reduce_ex__(self, protocol: "Any") -> "str | tuple[Any, ...]":
        from lazyhook._pickling import reduce_real

        return reduce_real(_get(self), protocol)

    def __reduce__(self) -> "str | tuple[Any, ...]":
        from lazyhook._pickling import reduce_real

        return reduce_real(_get(self), 2)

    def __copy__(self) -> object:
        import copy

        return copy.copy(_get(self))

    def __deepcopy__(self, memo: "dict[int, object]") -> object:
        import copy

        return copy.deepcopy(_get(self), memo)


class _Call:
    """The ``__call__`` of callable stand-ins, a descriptor: the interpreter calls what it
    returns, from C, with no frame of lazyhook's on the stack (a built-in's error, or its
    warning from C, is attributed as eagerly; a name passed as an argument is bound real)."""

    def __get__(self, obj: object, cls: "type | None" = None) -> object:
        return self if obj is None else _real(obj)  # (an exception stand-in's call too)


def _mro_entries(self: object, bases: "tuple[object, ...]") -> "tuple[object, ...]":
    """``class X(stand_in)``: as with the real object, whose own ``__mro_entries__`` (a
    function such as typing.NamedTuple has one) sees the bases with the real object in."""
    real = _get(self)
    if isinstance(real, type):
        return (real,)
    own = getattr(real, "__mro_entries__", None)
    if own is None:
        return (real,)
    return own(tuple(real if b is self else b for b in bases))  # type: ignore[no-any-return]


def _method_get(self: object, obj: object, cls: "type | None" = None) -> object:
    real = _get(self)  # a lazy function as a class attribute: what the real one gives
    get = getattr(type(real), "__get__", None)
    return real if get is None else get(real, obj, cls)


_DOC = vars(LazyName)["__doc__"]  # for every class: its own None would hide it from pydoc


# The protocol methods a stand-in has only when the real object's type has them: a callable
# iff it is callable, iterable iff it is iterable, reflected operators iff it has them.
_PROTOCOLS: "dict[str, Callable[..., object]]" = {
    "__call__": _Call(),  # type: ignore[dict-item]
    "__get__": _method_get,
    "__len__": lambda s: len(_get(s)),
    "__length_hint__": lambda s: _get(s).__length_hint__(),
    "__iter__": lambda s: iter(_get(s)),
    "__next__": lambda s: next(_get(s)),
    "__reversed__": lambda s: reversed(_get(s)),
    "__contains__": lambda s, x: _real(x) in _get(s),
    "__getitem__": lambda s, k: _get(s)[_real(k)],
    "__setitem__": lambda s, k, v: _get(s).__setitem__(_real(k), v),
    "__delitem__": lambda s, k: _get(s).__delitem__(_real(k)),
    "__bool__": lambda s: bool(_get(s)),
    "__index__": lambda s: _get(s).__index__(),
    "__int__": lambda s: int(_get(s)),
    "__float__": lambda s: float(_get(s)),
    "__complex__": lambda s: complex(_get(s)),
    "__round__": lambda s, *n: round(_get(s), *n),
    "__trunc__": lambda s: _get(s).__trunc__(),
    "__floor__": lambda s: _get(s).__floor__(),
    "__ceil__": lambda s: _get(s).__ceil__(),
    "__neg__": lambda s: -_get(s),
    "__pos__": lambda s: +_get(s),
    "__abs__": lambda s: abs(_get(s)),
    "__invert__": lambda s: ~_get(s),
    "__lt__": lambda s, o: _get(s) < _real(o),
    "__le__": lambda s, o: _get(s) <= _real(o),
    "__gt__": lambda s, o: _get(s) > _real(o),
    "__ge__": lambda s, o: _get(s) >= _real(o),
    "__enter__": lambda s: _get(s).__enter__(),
    "__exit__": lambda s, *e: _get(s).__exit__(*e),
    "__aenter__": lambda s: _get(s).__aenter__(),
    "__aexit__": lambda s, *e: _get(s).__aexit__(*e),
    "__await__": lambda s: _get(s).__await__(),
    "__aiter__": lambda s: _get(s).__aiter__(),
    "__anext__": lambda s: _get(s).__anext__(),
    "__fspath__": lambda s: _get(s).__fspath__(),
    "__bytes__": lambda s: bytes(_get(s)),
    "__instancecheck__": lambda s, o: isinstance(o, _get(s)),
    "__subclasscheck__": lambda s, c: issubclass(c, _get(s)),
    "__mro_entries__": _mro_entries,
}


def _operator(name: str, reflected: bool = False) -> "Callable[[object, object], object]":
    """A binary operator (``add``, ``iadd``...) on the real objects, through ``_operator``'s
    C functions: ``iadd`` does ``a += b`` in place on the real object, as eagerly."""

    def op(s: object, o: object) -> object:
        a, b = (_real(o), _get(s)) if reflected else (_get(s), _real(o))
        import _operator as ops  # (built in: loaded at the first operator on a stand-in, not
        # with every from-import: ~0.5 M instructions; a dict lookup after that)

        return getattr(ops, name)(a, b)

    return op


for _name in "add sub mul matmul truediv floordiv mod pow lshift rshift and xor or".split():
    _fn = f"{_name}_" if _name in ("and", "or") else _name
    _PROTOCOLS[f"__{_name}__"] = _operator(_fn)
    _PROTOCOLS[f"__r{_name}__"] = _operator(_fn, reflected=True)
    _PROTOCOLS[f"__i{_name}__"] = _operator(f"i{_name}")
_PROTOCOLS["__divmod__"] = lambda s, o: divmod(_get(s), _real(o))
_PROTOCOLS["__rdivmod__"] = lambda s, o: divmod(_real(o), _get(s))


def protocols_of(cls: type) -> str:
    """The protocol methods *cls*'s instances have (comma-joined), from its MRO: ``hasattr(cls,
    n)`` would also find the metaclass's (every class has ``__call__``; a Sentinel has not)."""
    found = _protocols.get(cls)  # per type: sympy's ~900 functions share one
    if found is None:
        seen = set().union(*(vars(k) for k in cls.__mro__))
        found = _protocols[cls] = ",".join(sorted(n for n in _PROTOCOLS if n in seen))
    return found


_protocols: "dict[type, str]" = {}
_object_classes: "dict[str, type]" = {}
# Beyond a class's metaclass protocols: class statements use __mro_entries__, ``Generic[T]``
# is __class_getitem__ reached through ``x[...]``; NamedTuple is a callable with its own.
_CLASS_EXTRAS = ",__mro_entries__,__getitem__,__call__"
# A callable's stand-in answers ``__class__`` as itself: cloudpickle (joblib, dill) copied a
# "function" not its module's own by value, with its globals; an object pickles by name.
_CALLABLE_EXTRAS = ",__mro_entries__,__call__,__class__"


def _object_class(protocols: str) -> type:
    cls = _object_classes.get(protocols)
    if cls is None:
        wanted = {n: _PROTOCOLS[n] for n in protocols.split(",") if n in _PROTOCOLS}
        if protocols.endswith(",__class__"):
            wanted["__getattribute__"] = _own_class
        cls = type("LazyName", (LazyName,), {"__slots__": (), "__doc__": _DOC, **wanted})
        _object_classes[protocols] = cls
        _TYPES.add(cls)
    return cls


def _own_class(self: LazyName, name: str) -> object:
    return _getslot(self, name) if name == "__class__" else LazyName.__getattribute__(self, name)


_TYPES: "set[type]" = {LazyName}
keep_alive = _alive.extend  # (stand-ins made elsewhere: _module_names)


def register_type(cls: type) -> None:
    """Treat instances of *cls* (slots ``_lh_owner``, ``_lh_name``, ``_lh_value``: the
    module stand-ins of ``_module_names``) as stand-ins: resolved, settled, reported."""
    _TYPES.add(cls)


_classes: "dict[tuple[str, object], type]" = {}  # (kind, protocols) -> stand-in class


def _class_for(kind: str, detail: object) -> type:
    protocols = detail if isinstance(detail, str) else None
    if kind == "c":
        return _object_class((protocols or protocols_of(type)) + _CLASS_EXTRAS)
    if kind == "f":
        return _object_class((protocols or protocols_of(type(_class_for))) + _CALLABLE_EXTRAS)
    return _object_class(protocols or "")


def stand_ins(owner: "Owner", names: "list[str]", kind: str, detail: object) -> "list[object]":
    """New stand-ins for lazy names *names* of *owner*'s module, of the kind learned for them
    (``_cache``'s letters: ``c`` class, ``f`` callable, anything else by its protocols)."""
    key = (kind, detail)
    cls = _classes.get(key) or _classes.setdefault(key, _class_for(kind, detail))
    # Made and filled in C, through the slots' own setters: ~0.2 us a stand-in less than a
    # loop of object.__setattr__ (a star import of sympy makes ~870).
    # (Lists, not itertools.repeat: importing itertools costs ~0.8 M instructions.)
    made: list[object] = list(map(_new, [cls] * len(names)))
    list(map(_set_owner, made, [owner] * len(made)))
    list(map(_set_name, made, names))
    list(map(_set_value, made, [UNSET] * len(made)))
    _alive.extend(made)
    return made


_new = object.__new__
_set_owner, _set_name = LazyName._lh_owner.__set__, LazyName._lh_name.__set__  # type: ignore[attr-defined]
_set_value = LazyName._lh_value.__set__  # type: ignore[attr-defined]


class LazyExceptionType(type):
    """The metaclass of exception stand-ins: the class itself is lazy about the real one."""

    def __new__(
        mcls, name: str, bases: "tuple[type, ...]", ns: "dict[str, Any]", **kwargs: "Any"
    ) -> type:
        if "_lh_owner" in ns:  # a stand-in (exception_stand_in)
            return super().__new__(mcls, name, bases, ns)
        # A class statement subclassing a stand-in: eagerly its base (and metaclass) is the
        # real class's, so the module runs here and the class is made from the real bases.
        real = tuple(_exception_real(b) if type(b) is LazyExceptionType else b for b in bases)
        meta: type = type
        for base in real:
            meta = type(base) if issubclass(type(base), meta) else meta
        made: type = meta(name, real, ns, **kwargs)
        return made

    # ``E(...)``, ``raise E``: the real class is called from C (as ``_Call`` does), so no
    # frame of lazyhook's shows in a traceback of its __init__.
    __call__ = _Call()  # type: ignore[assignment]

    def __instancecheck__(cls, obj: object) -> bool:
        return isinstance(obj, _exception_real(cls))

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(_real(sub), _exception_real(cls))  # type: ignore[arg-type]

    # Every attribute is the real class's (``__doc__``, ``__mro__``, ``__bases__``,
    # ``__init__``...): the stand-in's own are those of a bare subclass of the builtin base.
    # ``except`` and ``raise`` read none of them: they check the type's flags and call it.
    def __getattribute__(cls, name: str) -> object:
        if name == "_lh_owner" or name == "_lh_name":
            return type.__getattribute__(cls, name)
        return getattr(_exception_real(cls), name)

    def __setattr__(cls, name: str, value: object) -> None:
        setattr(_exception_real(cls), name, value)

    def __dir__(cls) -> "list[str]":
        return dir(_exception_real(cls))

    def __repr__(cls) -> str:
        return repr(_exception_real(cls))


def exception_stand_in(owner: "Owner", name: str, detail: object) -> "type | None":
    """A class standing for exception class *name* (detail: builtin base, ``__name__``,
    ``__module__``), derived from that base; None if the base is not a builtin exception."""
    if not (isinstance(detail, tuple) and len(detail) == 3):
        return None
    import builtins

    base = getattr(builtins, str(detail[0]), None)
    if not (isinstance(base, type) and issubclass(base, BaseException)):
        return None
    ns = {"__module__": detail[2], "__qualname__": detail[1], "_lh_owner": owner, "_lh_name": name}
    try:  # (type.__new__ straight: the metaclass's __new__ is for class statements, ~30 %)
        cls: type = _type_new(LazyExceptionType, detail[1], (base,), ns)
    except TypeError:
        return None  # a base that cannot be subclassed
    _alive.append(cls)
    _register_pickle()
    return cls


_type_new = type.__new__


def _exception_real(cls: object) -> type:
    real = _exception_values.get(id(cls))
    if real is None:
        owner: Owner = type.__getattribute__(cls, "_lh_owner")
        name = type.__getattribute__(cls, "_lh_name")
        real = _exception_values.setdefault(id(cls), owner.real_value(name))
    return real  # type: ignore[return-value]


def _register_pickle() -> None:  # pickle asks copyreg first for a class with a metaclass
    if LazyExceptionType not in copyreg.dispatch_table:  # once, not per stand-in
        from lazyhook._pickling import reduce_real

        copyreg.pickle(LazyExceptionType, lambda cls: reduce_real(_exception_real(cls), 2))


def settle(
    names: "dict[str, object]", namespaces: "list[dict[str, object]]", module: object
) -> "tuple[list[str], int]":
    """After their module ran: give every stand-in its real object and replace it in the
    namespaces it was bound into.  Returns (names the module does not define, how many)."""
    d = getattr(module, "__dict__", None)
    if not isinstance(d, dict):
        return [], 0
    missing = []
    real: dict[int, object] = {}
    for name, ln in names.items():
        value = d.get(name, UNSET)
        if value is UNSET:
            if "__getattr__" not in d:
                missing.append(name)
            continue  # resolved (or found missing) at its first use
        if type(ln) is LazyExceptionType:
            _exception_values.setdefault(id(ln), value)
        else:
            _setslot(ln, "_lh_value", value)
        real[id(ln)] = value
    held = real.__contains__
    from itertools import compress as _compress  # (its module has run: the program's time)

    for ns in namespaces:
        # In C, with no tuple per name (their allocations set off the GC): a script that
        # from-imports 400 modules scanned its globals once per module, 240 us each.
        for key in _compress(list(ns), map(held, map(id, list(ns.values())))):
            value = ns.get(key)  # (a thread may have changed ns between the two lists)
            if id(value) in real and (type(value) in _TYPES or type(value) is LazyExceptionType):
                ns[key] = real[id(value)]
    return missing, len(real)


def is_unresolved(obj: object) -> bool:
    if type(obj) is LazyExceptionType:
        return id(obj) not in _exception_values
    return type(obj) in _TYPES and _getslot(obj, "_lh_value") is UNSET


real_object = _real  # the real object for a lazy name (resolving it); others unchanged


_interp.hide_module_from_warnings()  # _PROTOCOLS' functions too: their code is this module's
