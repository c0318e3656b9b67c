"""What lazyhook knows about the interpreter's internals — in one place.

Everything here reads CPython's private import machinery or bytecode, keyed per version: the
opcodes lazyhook reads at a frame's ``f_lasti``, the frozen importlib functions it recognises
on the stack, exception tables (is an import statement inside ``try`` or ``with``?), the
module locks, and the per-thread state.  A new CPython version means editing this file and
its tests, nothing else; on a version not listed here ``SUPPORTED`` is False and lazyhook
stays inactive (the finder declines, see ``_finder``).

Loaded by the finder at the first import it has to judge (not at ``install()``: a process
that imports nothing new, or only modules outside ``include``, never pays for this file)."""

import _imp
import sys
from _thread import _local

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import CodeType, FrameType
    from typing import Any

_bootstrap = sys.modules["_frozen_importlib"]
_bootstrap_external = sys.modules["_frozen_importlib_external"]

# Opcodes per tested interpreter (guessing them for an unknown version would be worse than
# staying inactive).  Read at a frame's f_lasti: IMPORT_NAME, IMPORT_FROM and the star import
# (3.12+: CALL_INTRINSIC_1(2)); LOAD_CONST and EXTENDED_ARG (a relative import's level);
# PUSH_EXC_INFO and WITH_EXCEPT_START (3.11+: is a handler a ``with`` block's?).
_OPCODES = {
    (3, 10): (108, 109, 84, -1, 100, 144, -1, 49),
    (3, 11): (108, 109, 84, -1, 100, 144, 35, 49),
    (3, 12): (108, 109, 173, 2, 100, 144, 35, 49),
    (3, 13): (75, 74, 55, 2, 83, 71, 33, 44),
}
(IMPORT_NAME, IMPORT_FROM, STAR_OP, STAR_ARG, LOAD_CONST, EXTENDED_ARG, _PUSH_EXC_INFO,
 _WITH_EXCEPT_START) = _OPCODES.get(sys.version_info[:2], (-1,) * 8)  # fmt: skip
CO_OPTIMIZED = 0x1  # a function body: its names are locals
# For ``_reads``: stores and loads of names (LOAD_GLOBAL's oparg has a flag bit since 3.11),
# what sits between an IMPORT_NAME and its stores (ROT_TWO/SWAP, POP_TOP), MATCH_CLASS (a
# ``case C()``), LOAD_BUILD_CLASS (a class statement), STORE_ATTR and DELETE_ATTR.
_NAME_OPCODES = {
    (3, 10): (90, 97, 101, 116, -1, 2, 1, 152, 71, 95, 96),
    (3, 11): (90, 97, 101, 116, -1, 99, 1, 152, 71, 95, 96),
    (3, 12): (90, 97, 101, 116, 175, 99, 1, 152, 71, 95, 96),
    (3, 13): (114, 113, 92, 91, 90, 115, 32, 96, 24, 108, 63),
}
(STORE_NAME, STORE_GLOBAL, LOAD_NAME, LOAD_GLOBAL, LOAD_FROM_DICT_OR_GLOBALS, SWAP, POP_TOP,
 MATCH_CLASS, LOAD_BUILD_CLASS, STORE_ATTR, DELETE_ATTR) = _NAME_OPCODES.get(
    sys.version_info[:2], (-1,) * 11)  # fmt: skip
GLOBAL_FLAG_BIT = sys.version_info >= (3, 11)  # LOAD_GLOBAL's oparg is (index << 1) | flag
# For _uses.value_used (is a name called, or read as an attribute?): LOAD_ATTR, LOAD_METHOD,
# PUSH_NULL, what follows a call's arguments (3.11: PRECALL), its keyword form, CALL_METHOD,
# LOAD_FAST, LOAD_DEREF; for the walk over a call's arguments (3.11+), the other loads of
# locals, KW_NAMES, 3.11's CALL after PRECALL, operators popping two and pushing one,
# BUILD_TUPLE, BUILD_LIST; ``except E``'s test (3.10: JUMP_IF_NOT_EXC_MATCH), RAISE_VARARGS.
# fmt: off
_USE_OPCODES = {
    (3, 10): (106, 160, -1, 131, 141, 161, 124, 136,
              -1, -1, -1, -1, -1, 25, -1, 102, 103, 121, 130),
    (3, 11): (106, 160, 2, 166, -1, -1, 124, 137,
              -1, -1, 172, 171, 122, 25, 107, 102, 103, 36, 130),
    (3, 12): (106, -1, 2, 171, -1, -1, 124, 137,
              127, -1, 172, -1, 122, 25, 107, 102, 103, 36, 130),
    (3, 13): (82, -1, 34, 53, 57, -1, 85, 84,
              87, 88, -1, -1, 45, 5, 58, 52, 47, 7, 101),
}
(LOAD_ATTR, LOAD_METHOD, PUSH_NULL, CALL, CALL_KW, CALL_METHOD, LOAD_FAST, LOAD_DEREF,
 LOAD_FAST_CHECK, LOAD_FAST_LOAD_FAST, KW_NAMES, CALL_DONE, BINARY_OP, BINARY_SUBSCR, COMPARE_OP,
 BUILD_TUPLE, BUILD_LIST, EXC_MATCH, RAISE_VARARGS) = _USE_OPCODES.get(sys.version_info[:2],
                                                                    (-1,) * 19)
# fmt: on


def _code(name: str) -> "CodeType | None":
    return getattr(getattr(_bootstrap, name, None), "__code__", None)


# find_spec is a real import only when importlib's _find_and_load_unlocked called _find_spec;
# importlib.util.find_spec(), pkgutil and runpy probe specs too, and must get the plain spec.
FIND_AND_LOAD_UNLOCKED = _code("_find_and_load_unlocked")
# _handle_fromlist probes hasattr(module, name) for each name of a from-import's list.
HANDLE_FROMLIST = _code("_handle_fromlist")
# importlib.import_module() / importlib.__import__() reach a module already in sys.modules
# through _find_and_load, which reads its __spec__ (3.11+; 3.10 reads nothing, see below).
FIND_AND_LOAD, _LOAD_UNLOCKED = _code("_find_and_load"), _code("_load_unlocked")
# The import machinery's frames through which an import of a module already in sys.modules
# reaches it: _handle_fromlist importing a from-list's submodule via __import__.
RELAYS = frozenset(map(_code, ("_handle_fromlist", "_call_with_frames_removed"))) - {None}

# Frames of the import machinery itself, walked past to find the code that asked for an import
# (the frozen modules' "importlib._bootstrap" on 3.11, "_frozen_importlib" on 3.10 and 3.12+).
MACHINERY = frozenset({"importlib._bootstrap", "importlib._bootstrap_external",
                       "_frozen_importlib", "_frozen_importlib_external", "importlib"})  # fmt: skip

# Only loaders that execute the standard way may be deferred: a custom loader may set attributes
# in exec_module or raise ImportError there (toolz's tlz mirror), as the import statement must.
_LOADER_BASICS_EXEC = getattr(getattr(_bootstrap_external, "_LoaderBasics", None), "exec_module", 0)

ModuleLock: "type" = getattr(_bootstrap, "_ModuleLockManager", type(None))
DeadlockError: "type[BaseException]" = getattr(_bootstrap, "_DeadlockError", RuntimeError)

SUPPORTED = None not in (FIND_AND_LOAD_UNLOCKED, HANDLE_FROMLIST, FIND_AND_LOAD) and (
    ModuleLock is not type(None)
    and hasattr(_bootstrap, "_DeadlockError") and hasattr(_bootstrap, "_module_locks")
    and _LOADER_BASICS_EXEC != 0 and IMPORT_NAME != -1
)  # fmt: skip


class ThreadState(_local):
    """Per-thread state, every field declared here (class attributes are the defaults)."""

    eager_depth = 0  # ``lazyhook.eager()`` blocks: imports started inside one are eager
    running = 0  # lazy bodies running in this thread (nested)
    learning = 0  # of those, bodies learned (and ``cache warm``): the finder stamps imports
    bodies: "tuple[object, ...]" = ()  # the lazy bodies running here, innermost last


state = ThreadState()


def standard_loader(loader: object) -> bool:
    """True for a loader that executes the standard way (importlib's file loaders, zipimport)."""
    exec_module = getattr(type(loader), "exec_module", None)
    return exec_module is _LOADER_BASICS_EXEC or type(loader).__name__ == "zipimporter"


def release_module_lock(name: str) -> None:
    """Drop importlib's lock for *name* (after fork, held by a thread that no longer exists)."""
    _bootstrap._module_locks.pop(name, None)


def importer_frame(frame: "FrameType | None", made: bool = False) -> "FrameType | None":
    """The first frame at or above *frame* not the import machinery's own; with *made*, None
    past a module's load: an extension module's init (C, Cython, mypyc) imports with no frame
    of its own, and the line importing the extension (its policy, its ``try``) is not the init."""
    f = frame
    while f is not None and f.f_globals.get("__name__") in MACHINERY:
        if made and f.f_code is _LOAD_UNLOCKED:
            return None
        f = f.f_back
    return f


def inside_import() -> bool:
    """True if this thread is inside an import or a lazy body right now."""
    if state.running:
        return True
    f: FrameType | None = sys._getframe(1)
    while f is not None:
        if f.f_code is FIND_AND_LOAD or f.f_code is _LOAD_UNLOCKED:
            return True
        f = f.f_back
    return False


# What kind of code an import is made from, for the policy (see _config.Settings).
STATEMENT = 0  # a module-level (or class body, or exec) statement outside try/with
IN_WITH = 1  # the same, inside a ``with`` block (and no ``try``)
GUARDED = 2  # inside a ``try`` body or an ``except`` clause (its handlers may catch it)
IN_FUNCTION = 3  # an import statement inside a function
NOT_A_STATEMENT = 4  # __import__(), importlib.import_module(), ...

# code object -> per-offset analysis; exec'd code objects come and go.
_guards: "dict[object, object]" = {}


def _at(co: bytes, i: int) -> int:
    """The offset of the instruction proper at *i*: 3.10's f_lasti may point at its
    EXTENDED_ARG prefix (a module with over 255 names)."""
    while co[i] == EXTENDED_ARG and i + 2 < len(co):
        i += 2
    return i


def import_offset(frame: "FrameType") -> int:
    """The offset of the instruction *frame* is executing (past EXTENDED_ARG prefixes)."""
    return _at(frame.f_code.co_code, frame.f_lasti)


def import_kind(frame: "FrameType") -> int:
    """What kind of import *frame* (the importing code) is making right now."""
    code = frame.f_code
    if code.co_code[_at(code.co_code, frame.f_lasti)] != IMPORT_NAME:
        return NOT_A_STATEMENT
    if code.co_flags & CO_OPTIMIZED:
        return IN_FUNCTION
    in_try, in_with = guards(frame)
    return GUARDED if in_try else IN_WITH if in_with else STATEMENT


def guards(frame: "FrameType") -> "tuple[bool, bool]":
    """(inside a ``try`` body or ``except`` clause, inside a ``with`` block) at the
    instruction *frame* is executing: could an exception raised there be caught?"""
    return guards_at(frame.f_code, _at(frame.f_code.co_code, frame.f_lasti))


def guards_at(code: "CodeType", offset: int) -> "tuple[bool, bool]":
    """``guards`` at the instruction at byte *offset* of *code* (``_bytecode``: learning)."""
    if len(_guards) > 4096:
        _guards.clear()
    return (_guards_311 if sys.version_info >= (3, 11) else _guards_310)(code, offset)


def _guards_311(code: "CodeType", offset: int) -> "tuple[bool, bool]":
    """(in a try or except clause, in a with block) from 3.11+'s exception table.

    The table is flat: an instruction is covered only by its innermost handler.  Enclosing
    handlers are found by following the chain (the entry covering a handler's first
    instruction is its enclosing one).  A handler is a ``with`` block's if it starts with
    PUSH_EXC_INFO then WITH_EXCEPT_START, a ``try`` statement's if it starts with PUSH_EXC_INFO
    and anything else, and a compiler cleanup otherwise; a cleanup reached from ordinary code
    means the code is inside an ``except`` clause (or a ``finally`` body's exceptional copy).
    """
    entries = _guards.get(code)
    if entries is None:
        entries = _guards[code] = _exception_table(code)
    co = code.co_code
    in_try = in_with = False
    x = offset
    prev_cleanup = True
    for _ in range(256):  # a few hops per nesting level; CPython caps nesting at 20
        target = next((t for s, e, t in entries if s <= x < e), None)  # type: ignore[attr-defined]
        if target is None:
            break
        if co[target] != _PUSH_EXC_INFO:
            in_try = in_try or prev_cleanup  # a cleanup covering ordinary code: an except clause
            prev_cleanup = True
        elif target + 2 < len(co) and co[target + 2] == _WITH_EXCEPT_START:
            in_with, prev_cleanup = True, False
        else:
            in_try, prev_cleanup = True, False
        x = target
    return in_try, in_with


def _exception_table(code: "CodeType") -> "list[tuple[int, int, int]]":
    """(start, end, target) byte offsets of 3.11+'s exception table (varint entries of start,
    length, target, depth+lasti in instruction units: exception_handling_notes.txt)."""
    table = code.co_exceptiontable  # type: ignore[attr-defined,unused-ignore]
    pos = 0
    out = []

    def varint() -> int:
        nonlocal pos
        b: int = table[pos]
        pos += 1
        value = b & 63
        while b & 64:
            b = table[pos]
            pos += 1
            value = (value << 6) | (b & 63)
        return value

    while pos < len(table):
        start = varint() * 2
        length = varint() * 2
        target = varint() * 2
        varint()
        out.append((start, start + length, target))
    return out


def _guards_310(code: "CodeType", offset: int) -> "tuple[bool, bool]":
    """(in a try or except clause, in a with block) from 3.10's static block stack."""
    stacks = _guards.get(code)
    if stacks is None:
        from lazyhook._bytecode import block_stacks_310

        stacks = _guards[code] = block_stacks_310(code)
    stack = stacks[offset // 2]  # type: ignore[index]
    if stack is None:
        return False, False
    return ("try" in stack or "except" in stack), "with" in stack


# How a from-import statement reads a module: _handle_fromlist's probes, IMPORT_FROM,
# IMPORT_STAR; NOT_FROM_IMPORT for any other read.
PROBE, FROM, STAR, NOT_FROM_IMPORT = 0, 1, 2, 3


def from_import_read(frame: "FrameType") -> int:
    """How the code running in *frame* is reading a module attribute right now."""
    code = frame.f_code
    if code is HANDLE_FROMLIST:
        return PROBE
    co = code.co_code
    i = _at(co, frame.f_lasti)
    op = co[i]
    if op == IMPORT_FROM:
        return FROM
    if op == STAR_OP and (STAR_ARG < 0 or co[i + 1] == STAR_ARG):
        return STAR
    return NOT_FROM_IMPORT


def at_from_list(frame: "FrameType") -> bool:
    """Is *frame* at a from-import's ``IMPORT_NAME`` (its from-list a tuple constant)?"""
    code = frame.f_code
    co = code.co_code
    i = _at(co, frame.f_lasti)
    j = oparg(co, i)[1] - 2  # the instruction before it (and its own prefixes)
    if co[i] != IMPORT_NAME or j < 0 or co[j] != LOAD_CONST:
        return False
    return type(code.co_consts[oparg(co, j)[0]]) is tuple


def probe_target(frame: "FrameType") -> "FrameType | None":
    """The frame whose from-import statement ``_handle_fromlist`` (running in *frame*) serves."""
    target = frame.f_back
    while target is not None and target.f_code is HANDLE_FROMLIST:
        target = target.f_back
    return target


def module_level(code: "CodeType") -> bool:
    """True for module-level (or ``exec``) code, which binds into its globals."""
    return not (code.co_flags & CO_OPTIMIZED) and code.co_name == "<module>"


def oparg(co: bytes, i: int) -> "tuple[int, int]":
    """(full oparg, offset of its first EXTENDED_ARG prefix) of the instruction at *i*."""
    arg = co[i + 1]
    shift = 8
    while i >= 2 and co[i - 2] == EXTENDED_ARG:
        i -= 2
        arg |= co[i + 1] << shift
        shift += 8
    return arg, i


def prompt_input(code: "CodeType") -> bool:
    """Is *code* an input at an interactive prompt (``sys.ps1``: the REPL, ``python -i``
    after its script, IPython)?  The later inputs that read what it binds cannot be seen."""
    return code.co_filename[:1] == "<" and hasattr(sys, "ps1")


def import_eagerly(name: str) -> object:
    """Import *name* eagerly whatever the policy (a from-import's fallback to a submodule, as
    ``_handle_fromlist`` makes it); ``ImportError`` as the import would raise."""
    state.eager_depth += 1
    try:
        return _bootstrap._gcd_import(name)
    finally:
        state.eager_depth -= 1


def watch_import_calls(callback: "Callable[[object, FrameType], None]") -> None:
    """Call *callback(module, frame)* after every ``importlib.import_module()`` on 3.10: 3.11+
    read ``__spec__`` of a module already in ``sys.modules`` in ``_find_and_load``, which lazy
    modules see; 3.10 reads nothing, so its ``_gcd_import`` (looked up at each call) is wrapped."""
    if sys.version_info >= (3, 11):
        return
    original = _bootstrap._gcd_import

    def _gcd_import(name: str, package: "str | None" = None, level: int = 0) -> object:
        module = original(name, package, level)
        callback(module, sys._getframe(1))
        return module

    _bootstrap._gcd_import = _gcd_import  # type: ignore[attr-defined]


# Frames between the code that uses a lazy object and the body it runs belong to lazyhook, and
# ``warnings`` would attribute a body's ``warn(..., stacklevel=N)`` to them.  ``warnings``
# skips frames whose file name contains "importlib" and "_bootstrap", the import system's own:
# lazyhook's frames on that path get such a name, so a warning is attributed to the code whose
# first use ran the body.  In angle brackets, as ``<frozen importlib._bootstrap>``: tools that
# open a frame's file skip it (``trace --count`` failed), pytest's tracebacks leave it out.
_HIDDEN_END = ": runs lazy bodies, like importlib._bootstrap>"


def hide_from_warnings(*objects: object) -> None:
    """Rename the code of these functions, these classes' methods, these dicts' functions."""
    # Not `from types import FunctionType`: this runs while the first lazy module is created,
    # and when that is `types` itself, it is still empty in sys.modules here.
    FunctionType = type(_hide)  # the class, named as in `types`
    for obj in objects:
        if isinstance(obj, type):
            funcs: object = vars(obj).values()
        elif isinstance(obj, dict):
            funcs = obj.values()
        else:
            funcs = (obj,)
        for func in funcs:  # type: ignore[attr-defined]
            func = getattr(func, "fget", func)  # properties
            func = getattr(func, "__func__", func)  # static and class methods
            if isinstance(func, FunctionType):
                _hide(func.__code__)


_IMPORTLIB = "<frozen importlib._bootstrap>"


def as_importlib(*functions: object) -> None:
    """Name these functions' code as importlib's: a body's error leaving an import through
    them is trimmed from tracebacks with importlib's frames (``remove_importlib_frames``)."""
    for func in functions:
        _imp._fix_co_filename(func.__code__, _IMPORTLIB)  # type: ignore[attr-defined]


def _hide(code: "CodeType") -> None:
    # In place and in C, nested code included: importlib's own fix for a moved .pyc's names
    # (code.replace() for the ~200 functions a warm from-import loads cost ~0.5 ms).
    if not code.co_filename.endswith(_HIDDEN_END) and code.co_filename != _IMPORTLIB:
        _imp._fix_co_filename(code, f"<{code.co_filename}{_HIDDEN_END}")  # type: ignore[attr-defined]


def report_unraisable(exc: BaseException, hook: object, atexit: bool = False) -> None:
    """Hand *exc*, raised by *hook* (an atexit handler, a fork hook) that lazyhook called in
    CPython's stead, to ``sys.unraisablehook`` as CPython does (pytest's unraisable plugin
    sees it), without the frame that called it; 3.13 words an atexit handler's differently."""
    msg = None
    if atexit:
        msg = "Exception ignored in atexit callback"
        if sys.version_info >= (3, 13):
            msg, hook = f"{msg} {hook!r}", None
    tb = exc.__traceback__
    exc.__traceback__ = tb = tb.tb_next if tb is not None else None
    sys.unraisablehook(_hook_args_type()((type(exc), exc, tb, msg, hook)))


def _hook_args_type() -> "type[Any]":
    # sys.UnraisableHookArgs is not exposed: taken from an unraisable error of our own.
    seen: list[object] = []
    hook, sys.unraisablehook = sys.unraisablehook, seen.append

    class _Raises:
        def __del__(self) -> None:
            raise RuntimeError

    try:
        _Raises()
    finally:
        sys.unraisablehook = hook
    return type(seen[0])


def hide_module_from_warnings() -> None:
    """``hide_from_warnings`` for all the code of the module whose body calls this last."""
    _hide(sys._getframe(1).f_code)
