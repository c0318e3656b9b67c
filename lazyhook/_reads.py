"""What an importing module's code does with what it imports, read from its compiled code.

**Is an import made only for its side effects?  Then it stays eager.**

An import statement whose bound names no code of its module ever reads (``import plugins``
to register them, ``import app.signals``) is there for what the module's body *does*.
Deferred, that body would never run — its registrations, prints and warnings would be lost,
not just delayed — so such an import runs at the statement, as eagerly.

"Read" is judged from the importing module's compiled code, once per code object: a name is
read if the module-level code loads it, if any nested code (functions, classes,
comprehensions) names it, or if any code holds it as a string constant (``__all__``,
``getattr(m, "x")``, ``sys.modules["x"]``).  For ``import a.b`` (binding ``a``), ``b`` must
also be named somewhere.  A read only through ``globals()``, ``vars()``, ``eval`` or ``exec``
does not count: the import then runs at the statement, where such a read finds it as eagerly.
(Counting any such code as reading everything lost the side-effect imports of every module
that mentioned ``__dict__`` or ``eval``: pandas' ``config_init`` under mode "all".)  A
submodule a from-list names is judged by its own binding (``from pkg import a, b`` reading
only ``a``: ``b`` registers); a star import's names by any of them being read
(``star_read``).  An interactive prompt's imports count as read (later inputs cannot be
seen); ``-c`` code, an ``exec``'d string and a doctest example are read whole, as a file is.
A wrong "not read" costs laziness, never an outcome.

**Which names does a from-import statement take, bound to which names?**  (``statement``.)

**Is the import part of one a handler may catch?  Then it stays eager** (``caught_above``).
``try: import cachelib / except ImportError:`` keeps ``import cachelib`` eager, and eagerly a
failure anywhere in cachelib's own imports (``import dbm.gnu``, whose C module is missing)
reaches that handler too: so the imports a module's body makes while such an import runs it
are eager as well, down the whole chain (also under a ``with`` around an import statement,
and for ``importlib.import_module`` called inside ``try``).  The chain ends at a lazy body's
first use (its import site was unguarded, or it would not be lazy), at pytest's own frames
(the plugin runs a test module's deferred bodies at its collection, where their errors are
its errors, as eagerly), at runpy's and at the first frame that is not a module body run by
an import.

Which names must be bound as the real objects (``match``, ``register``, class bases, values)
is ``_uses``' business.

Loaded by the finder with the first import it makes lazy.
"""

from lazyhook import _interp

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import CodeType, FrameType

_BETWEEN = frozenset({_interp.IMPORT_FROM, _interp.SWAP, _interp.POP_TOP, _interp.EXTENDED_ARG,
                      0})  # 0: 3.11+'s inline CACHE entries  # fmt: skip
_STORES = frozenset({_interp.STORE_NAME, _interp.STORE_GLOBAL})
_V311 = bool(_interp.GLOBAL_FLAG_BIT)  # 3.11+: inline caches, LOAD_GLOBAL's NULL flag
# code object -> what is known of the names its module reads, filled tier by tier (_Tiers).
_read: "dict[object, _Tiers]" = {}


def bindings_read(frame: "FrameType", fullname: "str | None" = None) -> bool:
    """Does the module running *frame* read what its import statement at ``f_lasti`` binds
    (of module *fullname*, when a from-list names it)?  A class body's imports count as read
    (as attributes of the class, from anywhere), and a prompt's (see above; the finder checks
    that first); ``python -c "import pkg"`` and ``exec("import " + name)`` import eagerly, as
    a script does (read as "read", a smoke test passed on a broken package)."""
    code = frame.f_code
    if code.co_name != "<module>" or _interp.prompt_input(code):
        return True
    i = _interp.import_offset(frame)
    bound = _bound(code, i)
    parent, _, last = (fullname or "").rpartition(".")
    if parent and parent == from_import_module(frame):
        # A submodule its from-list (or a star import's ``__all__``) names, judged alone.
        names = [b for n, b in _pairs(code, i) if n == last] if bound is not None else [last]
        if None in names or not names:
            return True  # stored otherwise than as a name
        bound = names, None  # type: ignore[assignment]
    if bound is None:
        return True  # a star import (the name cache's business), or an unexpected shape
    tiers = _tiers(code)
    names, dotted = bound
    attribute = None if dotted is None else dotted.rpartition(".")[2]
    # Cheapest evidence first: most imports are read by the module's own code or a function's
    # (``import re as _re``); only a miss needs every nested code's constants (the strings).
    for tier in range(3):
        read = tiers.get(tier)
        if (dotted is not None and dotted in read) or (  # sys.modules["a.b.c"]
            any(n in read for n in names) and (attribute is None or tiers.mentions(attribute))
        ):
            return True
    return False


def star_read(frame: "FrameType", names: "list[str]") -> bool:
    """Does the module running *frame* read any of *names* its star import binds, but those it
    binds itself (``def main``; else the import is for its side effects: at once)?"""
    code = frame.f_code
    if code.co_name != "<module>" or _interp.prompt_input(code):
        return True
    tiers = _tiers(code)
    tiers.get(0)  # (its scan finds the stores too)
    return any(not (tiers.get(tier) - tiers.stores).isdisjoint(names) for tier in range(3))


def _tiers(code: "CodeType") -> "_Tiers":
    tiers = _read.get(code)
    if tiers is None:
        _read.clear() if len(_read) > 1024 else None  # (bounded: exec'd code comes and goes)
        tiers = _read[code] = _Tiers(code)
    return tiers


def called(frame: "FrameType") -> bool:
    """Does the module running *frame* call what its plain ``import x`` (``as y``) binds
    (``q(v)``, ``@snoop``)?  Then the import stays eager: only a module that made itself
    callable (``sys.modules[__name__].__class__ = ...``: q, snoop) can be called, once its
    body ran (the interpreter looks ``__call__`` up on the type, lazyhook's until then: a
    ``TypeError``).  Loads followed by an attribute read or write are told by bytes (``q.x``:
    nearly all); only another load is followed on the stack, by ``_uses_ref``."""
    code = frame.f_code
    if import_target(frame)[2] is not None:
        return False  # a from-import binds the module's names (stand-ins are callable)
    bound = _bound(code, _interp.import_offset(frame))
    if bound is None or bound[1] is not None:
        return False  # ``import a.b`` binds the package ``a``
    return bool(calls(code, bound[0]))


def calls(code: "CodeType", names: "Iterable[str]") -> "list[str]":
    """Those of *names* (globals) that *code* or code nested in it calls (``q(x)``, ``@q``)."""
    codes, out = _tiers(code).codes(), []
    named = set(names).intersection(set().union(*[c.co_names for c in codes]))  # (in C)
    for c in codes:
        for name in named:
            if name not in out and _bare_load(c, name):
                from lazyhook._uses_ref import called as callee  # (rare: such a load)

                out += [name] if callee(c, name) else []
    return out


def _bare_load(code: "CodeType", name: str) -> bool:
    """Does *code* load global *name* other than to read or write an attribute of it?  (True
    for a load whose argument needs an EXTENDED_ARG: the full reader tells.)"""
    names = code.co_names
    if name not in names:
        return False
    co = code.co_code
    found = loads(co, names.index(name))
    if found is None:
        return True
    return any(next_instruction(co, pos)[1] not in _ATTRIBUTE_OPS for pos in found)


def tree(code: "CodeType") -> "tuple[CodeType, ...]":
    return _tiers(code).codes()  # *code* and every code nested in it


def loads(co: bytes, index: int) -> "list[int] | None":
    """Where *co* loads the name at *index* of its ``co_names``; None if that takes an
    EXTENDED_ARG (a big code, read one by one).  (``_uses`` asks too.)"""
    globals_ = (index << 1, index << 1 | 1) if _V311 else [index]
    patterns = [(_interp.LOAD_NAME, index), (_interp.LOAD_FROM_DICT_OR_GLOBALS, index)]
    patterns += [(_interp.LOAD_GLOBAL, a) for a in globals_]
    found = []
    for op, arg in patterns:
        if op < 0:
            continue  # an opcode this version does not have
        if arg > 255:
            return None
        pos = co.find(bytes((op, arg)))
        while pos != -1:
            if pos % 2 == 0 and (pos == 0 or co[pos - 2] != _interp.EXTENDED_ARG):
                found.append(pos)
            pos = co.find(bytes((op, arg)), pos + 1)
    return found


def next_instruction(co: bytes, pos: int) -> "tuple[int, int, int]":
    """(position, opcode, full argument) of the instruction after *pos*: 3.11+'s inline CACHE
    entries skipped, EXTENDED_ARG folded in; (len, -1, 0) at the end."""
    pos += 2
    ext = 0
    while pos < len(co):
        op = co[pos]
        if op == _interp.EXTENDED_ARG:
            ext = (ext | co[pos + 1]) << 8
        elif op or not _V311:
            return pos, op, ext | co[pos + 1]
        pos += 2
    return len(co), -1, 0


_ATTRIBUTE_OPS = frozenset({_interp.LOAD_ATTR, _interp.LOAD_METHOD, _interp.STORE_ATTR,
                            _interp.DELETE_ATTR}) - {-1}  # fmt: skip


class _Tiers:
    """The names a module's code reads, in three tiers worked out lazily: its module-level
    loads, the names nested code names, string constants anywhere; and its code objects."""

    __slots__ = ("code", "tiers", "fromlists", "stores", "all_codes")

    def __init__(self, code: "CodeType") -> None:
        self.code = code
        self.tiers: list[set[str]] = []
        self.fromlists: set[int] = set()
        self.stores: frozenset[str] = frozenset()  # names the module-level code binds itself
        self.all_codes: tuple[CodeType, ...] | None = None

    def codes(self) -> "tuple[CodeType, ...]":  # the module's code and all code nested in it
        if self.all_codes is None:
            code_type, out, todo = type(self.code), [], [self.code]
            while todo:
                c = todo.pop()
                out.append(c)
                todo.extend([k for k in c.co_consts if type(k) is code_type])
            self.all_codes = tuple(out)
        return self.all_codes

    def get(self, tier: int) -> "set[str]":
        # A new list each time, swapped in whole: two threads filling the same code's tiers
        # may both compute one, never leave it half or twice in the list.
        tiers = self.tiers
        while len(tiers) <= tier:
            tiers = [*tiers, self._compute(len(tiers))]
            self.tiers = tiers
        return tiers[tier]

    def _compute(self, tier: int) -> "set[str]":
        code = self.code
        if tier == 0:
            loads, self.fromlists, self.stores = _module_scan(code)
            return loads
        code_type = type(code)
        nested = [c for c in code.co_consts if type(c) is code_type]
        found: set[str] = set()
        if tier == 1:
            while nested:
                sub = nested.pop()
                found.update(sub.co_names)
                nested.extend([c for c in sub.co_consts if type(c) is code_type])
            return found
        _strings(code.co_consts, found, skip=self.fromlists)
        while nested:  # one pass over each nested code's constants
            sub = nested.pop()
            for c in sub.co_consts:
                t = type(c)
                if t is str:
                    found.add(c)
                elif t is code_type:
                    nested.append(c)
                elif t is tuple:
                    found.update(x for x in c if type(x) is str)
        return found

    def mentions(self, name: str) -> bool:
        """Does the module's code name *name* anywhere (read, stored or as a string)?"""
        return name in self.code.co_names or any(name in self.get(k) for k in range(3))


def _bound(code: "CodeType", i: int) -> "tuple[list[str], str | None] | None":
    """The names the import at offset *i* stores, and for ``import a.b.c`` (binding ``a``)
    ``"a.b.c"``, whose use names the attribute ``c``; None for a star import."""
    co = code.co_code
    target: str = code.co_names[_interp.oparg(co, i)[0]]
    names: list[str] = []
    j = i + 2
    while j < len(co):
        op = co[j]
        if op == _interp.STAR_OP and (_interp.STAR_ARG < 0 or co[j + 1] == _interp.STAR_ARG):
            return None
        if op in _STORES:
            names.append(code.co_names[_interp.oparg(co, j)[0]])
        elif op not in _BETWEEN:
            break
        j += 2
    if not names:
        return None
    dotted = "." in target and names == [target.partition(".")[0]]
    return names, target if dotted else None


def statement(frame: "FrameType") -> "tuple[int, list[tuple[str, str | None]]] | None":
    """The from-import statement *frame* is at (any of its ``IMPORT_FROM`` reads): the offset of
    its ``IMPORT_NAME``, and each name it takes with the name that binds it (``as`` aliases;
    None where the store is not a plain name).  None for a shape not recognised."""
    code = frame.f_code
    co, i = code.co_code, _interp.import_offset(frame)
    j = i - 2
    while j >= 0 and (co[j] in _BETWEEN or co[j] in _STORES):  # back over the earlier names
        j -= 2
    if j < 0 or co[j] != _interp.IMPORT_NAME:
        return None
    return j, _pairs(code, j)


def _pairs(code: "CodeType", j: int) -> "list[tuple[str, str | None]]":
    """Each name the from-import whose ``IMPORT_NAME`` is at *j* takes, with the name that
    binds it (None where the store is not a plain name)."""
    co = code.co_code
    pairs: list[list[str | None]] = []
    k = j + 2
    while k < len(co):
        op = co[k]
        if op == _interp.IMPORT_FROM:
            pairs.append([code.co_names[_interp.oparg(co, k)[0]], None])
        elif op in _STORES and pairs and pairs[-1][1] is None:
            pairs[-1][1] = code.co_names[_interp.oparg(co, k)[0]]
        elif op not in _BETWEEN:
            break
        k += 2
    return [(str(n), b) for n, b in pairs]


def _strings(consts: "tuple[object, ...]", into: "set[str]", skip: "object") -> None:
    """String constants, and those in tuples (``__all__ = ["a"]``), but from-lists (*skip*)."""
    for k, c in enumerate(consts):
        if type(c) is str:
            into.add(c)
        elif type(c) is tuple and k not in skip:  # type: ignore[operator]
            into.update(x for x in c if type(x) is str)


def _module_scan(code: "CodeType") -> "tuple[set[str], set[int], frozenset[str]]":
    """(names the module-level *code* loads — LOAD_NAME, LOAD_GLOBAL... — the indices of the
    constants its import statements use as from-lists, the names it stores: no reads)."""
    co, names = code.co_code, code.co_names
    ops = co[::2]
    load_global, shift = _interp.LOAD_GLOBAL, _interp.GLOBAL_FLAG_BIT
    wanted = {_interp.LOAD_NAME, _interp.LOAD_FROM_DICT_OR_GLOBALS, load_global, *_STORES}
    if len(names) > 127 and _interp.EXTENDED_ARG in ops:
        # A name index that may need EXTENDED_ARG (3.11+'s LOAD_GLOBAL holds index << 1):
        # rare enough to pay for _bytecode's full decoder (and its ``opcode`` import).
        from lazyhook._bytecode import instructions

        found = {(op, arg) for op, arg in instructions(code) if op in wanted}
    else:
        # One comprehension over (opcode, oparg) pairs: ~4x faster than decoding every
        # instruction in a loop (locale's module code has ~10,000).
        found = {(op, arg) for op, arg in zip(ops, co[1::2], strict=True) if op in wanted}
    stores = frozenset(names[arg] for op, arg in found if op in _STORES)
    g = load_global
    loads = {names[a >> 1 if shift and op == g else a] for op, a in found if op not in _STORES}
    # From-lists: the LOAD_CONST right before each IMPORT_NAME (few: found by bytes.find).
    fromlists: set[int] = set()
    import_name, load_const = bytes((_interp.IMPORT_NAME,)), _interp.LOAD_CONST
    k = ops.find(import_name)
    while k > 0:
        j = k - 1
        while j > 0 and ops[j] == _interp.EXTENDED_ARG:  # IMPORT_NAME's own prefix
            j -= 1
        if ops[j] == load_const:
            fromlists.add(_interp.oparg(co, 2 * j)[0])
        k = ops.find(import_name, k + 1)
    return loads, fromlists, stores


def import_target(frame: "FrameType") -> "tuple[str, int, object]":
    """(name, level, fromlist) of the import statement *frame* is executing (``from ..a
    import b``: ``("a", 2, ("b",))``; ``import a.b [as c]``: ``("a.b", 0, None)``), compiled
    as ``LOAD_CONST level; LOAD_CONST fromlist; IMPORT_NAME name``."""
    code = frame.f_code
    co = code.co_code
    arg, start = _interp.oparg(co, _interp.import_offset(frame))
    name: str = code.co_names[arg]
    level, fromlist = 0, None
    if start >= 4 and co[start - 2] == _interp.LOAD_CONST:
        arg, level_at = _interp.oparg(co, start - 2)
        fromlist = code.co_consts[arg]
        if level_at >= 2 and co[level_at - 2] == _interp.LOAD_CONST:
            value = code.co_consts[_interp.oparg(co, level_at - 2)[0]]
            if type(value) is int:
                level = value
    return name, level, fromlist


def _absolute(frame: "FrameType", name: str, level: int) -> str:
    """*name* imported at *level* from the module running *frame*, as importlib resolves it."""
    if level:
        package = frame.f_globals.get("__package__") or ""
        if level > 1:
            package = package.rsplit(".", level - 1)[0]
        name = f"{package}.{name}" if name else package
    return name


def from_import_module(frame: "FrameType") -> "str | None":
    """The module whose names the from-import statement *frame* is executing takes (``from .m
    import x`` in ``p``: ``"p.m"``); None for a plain ``import``."""
    name, level, fromlist = import_target(frame)
    return _absolute(frame, name, level) if fromlist else None


def declared_lazy(frame: "FrameType", module: "str | None" = None) -> bool:
    """Does the importing module's ``__lazy_modules__`` (PEP 810) list the module of the
    import statement *frame* is executing?  Asked with ``in`` and the full name (``"a.b"``,
    ``from .m import x`` in ``p``: ``"p.m"``; *module*: that name, when known), as CPython
    3.15 does; a container that raises counts as "not listed"."""
    if not _interp.module_level(frame.f_code):
        # A class body reads the module's globals too, but 3.15 keeps its imports eager
        # whatever __lazy_modules__ says (lazyhook's own policy for class bodies applies).
        return False
    declared = frame.f_globals.get("__lazy_modules__")
    if declared is None:
        return False
    if module is None:
        name, level, _ = import_target(frame)
        module = _absolute(frame, name, level)
    try:
        return module in declared
    except Exception:  # noqa: BLE001 - a broken declaration must not break the import
        return False


# lazyhook frames an eager import passes through (loader wrappers, a lazy parent run first):
# the walk goes on past them, as past importlib's.  Any other lazyhook frame is a first use, a
# stand-in's call or a pending run: the import it stands for was judged unguarded.
_CHAIN = frozenset({"lazyhook._finder", "lazyhook._state", "lazyhook._execute"})
# pytest's collection (see above) and runpy, whose ``try`` around a ``-m`` package's import
# re-raises any failure but that package's own absence (python -m pkg.mod).
_ENDS = ("lazyhook.", "_pytest.", "runpy")
_IMPORT = _interp.IMPORT_NAME


def caught_above(frame: "FrameType") -> bool:
    """Is the module running *frame* run by an import a ``try`` (or a ``with`` around an
    import statement) may catch the failure of, or by one such an import runs, and so on up?
    Only the chain of imports counts (see the module docstring): the walk stops at the first
    frame that is not a module body run by an import (a function, IPython's cell runner, a
    thread's target) once its own ``try`` is checked; a catch-all further up only reports."""
    f: FrameType | None = frame
    while f is not None and f.f_code.co_name == "<module>" and _passing(f.f_back):
        f = f.f_back
        while _passing(f):
            f = f.f_back  # type: ignore[union-attr]
        if f is None:
            return False
        if (f.f_globals.get("__name__") or "").startswith(_ENDS):
            return False
        in_try, in_with = _interp.guards(f)
        if in_try or (in_with and f.f_code.co_code[_interp.import_offset(f)] == _IMPORT):
            return True
    return False


def _passing(f: "FrameType | None") -> bool:
    """Is *f* importlib's or lazyhook's own, on the way from an import to its module's body?"""
    return f is not None and f.f_globals.get("__name__") in _PASSING


_PASSING = _interp.MACHINERY | _CHAIN
