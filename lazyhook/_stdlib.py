"""The standard-library modules lazyhook's own code needs after start-up (``opcode``,
``_opcode``, ``zlib``, ``fcntl``, ``array``): always the standard library's, never a
program's own file of the same name.

``import opcode`` searches ``sys.path``, whose first entry is the program's directory: an
``opcode.py`` there (a ``zlib.py``, ``fcntl.py``, ``array.py``) was run by lazyhook's own
import although the program never imports it.  Measured: on 3.10 ``import textwrap`` in a
script beside an ``opcode.py`` failed; beside a ``fcntl.py`` the cache was never written.
Eagerly such a file runs only when the program imports it, so lazyhook must never import one.

``module(name)`` answers the module in ``sys.modules`` when it is the standard library's (or
built in, which nothing can shadow); otherwise it loads the standard library's own file,
privately: entered in ``sys.modules`` it would shadow the program's file for the program.
"""

import os
import sys
from _frozen_importlib import module_from_spec
from _frozen_importlib_external import PathFinder

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType

_LIB = getattr(sys, "_stdlib_dir", None) or os.path.dirname(os.__file__)
# Pure-Python modules, then extension modules (POSIX builds; Windows), as on sys.path.
_DYNLOAD = os.path.join(sys.base_exec_prefix, "DLLs") if os.name == "nt" else None
_DIRS = [_LIB, _DYNLOAD or os.path.join(_LIB, "lib-dynload")]
_private: "dict[str, ModuleType]" = {}
# What a module privately loaded here imports itself: the standard library's private modules,
# in sys.modules only while it runs (its own import would search sys.path; eagerly the
# program, which never imported them, has none of them there afterwards).
_IMPORTS = {"opcode": ("_opcode", "_opcode_metadata")}


def module(name: str) -> "ModuleType":
    """The standard library's module *name* (``ModuleNotFoundError`` if it has none)."""
    found = sys.modules.get(name)
    if found is not None and _is_stdlib(found):
        return found
    if name in sys.builtin_module_names:
        return __import__(name)  # BuiltinImporter answers before any path is searched
    found = _private.get(name)
    if found is None:
        spec = PathFinder.find_spec(name, _DIRS)
        if spec is None or spec.loader is None:
            raise ModuleNotFoundError(f"no module named {name!r} in the standard library")
        lent = []
        for inner in _IMPORTS.get(name, ()):
            if inner not in sys.modules:
                try:
                    sys.modules[inner] = module(inner)
                except ModuleNotFoundError:
                    continue  # _opcode_metadata: 3.13 and later
                lent.append(inner)
        found = module_from_spec(spec)
        try:
            spec.loader.exec_module(found)
        finally:
            for inner in lent:
                sys.modules.pop(inner, None)
        _private[name] = found
    return found


def _is_stdlib(module: object) -> bool:
    # __spec__ is answered by a lazy module without running it (another's lazy opcode).
    origin = getattr(getattr(module, "__spec__", None), "origin", None)
    if origin in ("built-in", "frozen"):
        return True
    return isinstance(origin, str) and os.path.dirname(origin) in _DIRS
