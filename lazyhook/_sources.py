"""Which files decide a module's cached names, and their stamps.

A module's names are decided by its own file plus — transitively — the files of the modules
whose names it takes wholesale with ``from m import *`` or through ``m.__all__``.  Each file
is recorded with a *stamp*: ``(path, size, st_mtime_ns)``, like a timestamp pyc.

Stamps must be taken before the import system reads a file, so that an edit landing while a
module runs makes its entry stale, never a stale entry valid: the finder calls
``stamp_before_read`` for every import it sees while a lazy body runs, and the cache reads
those stamps (``contributors``) when it records an entry.  A file nobody stamped before it was
read (imported before ``install()``, or excluded) is stamped when recorded, and trusted only
if it is older than the process.

Loaded by the finder with its first stamp, or by the cache when it validates an entry.
"""

import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    Source = tuple[str, int, int]  # (path, size, mtime_ns)

# module name -> stamp of the file it was found in, taken before the import system read it.
stamps: "dict[str, Source]" = {}

_MTIME_MARGIN_NS = 1_000_000_000  # file-system timestamp granularity and clock skew
_loaded_ns = time.time_ns()
_start_ns: "list[int]" = []


def note_loaded(ns: int) -> None:
    """The finder's hook: lazyhook was loaded at *ns* (earlier than this file)."""
    global _loaded_ns
    _loaded_ns = min(_loaded_ns, ns)


def stamp(path: str) -> "Source | None":
    """The stamp of *path* now, or None if it cannot be read."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (path, st.st_size, st.st_mtime_ns)


def stamp_before_read(fullname: str, origin: str) -> None:
    """Stamp *origin*, which the import system is about to read for module *fullname*."""
    now = stamp(origin)
    if now is not None:
        stamps[fullname] = now


def unchanged(sources: "tuple[Source, ...]") -> "bool | None":
    """True if every stamp still matches; False if one changed; None if a file is gone."""
    for path, size, mtime in sources:
        now = stamp(path)
        if now is None:
            return None
        if now[1] != size or now[2] != mtime:
            return False
    return True


def _process_start_ns() -> int:
    """When this process started (Linux: /proc/self's ctime), else when lazyhook loaded."""
    if not _start_ns:
        try:
            start = os.stat(f"/proc/{os.getpid()}").st_ctime_ns
        except OSError:
            start = _loaded_ns
        _start_ns.append(min(start, _loaded_ns))
    return _start_ns[0]


def contributors(name: str, module: object) -> "list[Source]":
    """Stamps of the sources that decide *module*'s names: its own file first, then the
    transitive closure of its ``from m import *`` and ``m.__all__`` dependencies.

    Empty if the names cannot be tied to files that are known to be settled (then the module
    is simply not cached).
    """
    out: list[Source] = []
    seen: set[str] = set()
    todo = [(name, module)]
    while todo:
        mod_name, mod = todo.pop()
        if mod_name in seen:
            continue
        seen.add(mod_name)
        spec = getattr(mod, "__spec__", None)
        origin = getattr(spec, "origin", None)
        if not isinstance(origin, str) or not getattr(spec, "has_location", False):
            if mod_name == name:
                return []  # no file decides its names: nothing to validate against
            continue
        src = stamps.get(mod_name)
        if src is None or src[0] != origin:
            # Not stamped by the finder before it was read (imported before install(), or
            # excluded, or under eager()): stamped now, this is safe only if the file has not
            # changed since the process started — else the names may be older than the stamp.
            src = stamp(origin)
            if src is None or src[2] >= _process_start_ns() - _MTIME_MARGIN_NS:
                return []  # don't record; a later run learns it from a settled file
        out.append(src)
        if origin.endswith(".py"):
            for dep in _dependencies(origin, mod):
                dep_mod = sys.modules.get(dep)
                if dep_mod is not None:
                    todo.append((dep, dep_mod))
    return out


def _dependencies(path: str, module: object) -> "list[str]":
    """Modules whose names *module*'s source takes wholesale: ``from m import *`` lines and
    ``m.__all__`` references (m a module in its namespace).

    A plain text scan, not ``ast`` (measured: parsing sympy's star-import closure with ast took
    ~130 ms at exit of a cold run).  It can only over-report (a match inside a string or a
    comment adds a harmless extra stamp), never miss a real statement.
    """
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", "replace")  # the keywords sought are ASCII
    package = getattr(module, "__package__", None) or ""
    d = getattr(module, "__dict__", {})
    deps: list[str] = []
    if "*" in text:
        for line in text.splitlines():
            if "*" not in line or "import" not in line:
                continue
            stmt = line.split("#", 1)[0].strip().rstrip(";").strip()
            if not stmt.startswith("from ") or not stmt.endswith("*"):
                continue
            target, sep, what = stmt[5:].partition(" import ")
            if not sep or what.strip() != "*":
                continue
            target = target.strip()
            level = len(target) - len(target.lstrip("."))
            if level:
                base = package.rsplit(".", level - 1)[0] if level > 1 else package
                rest = target[level:]
                target = f"{base}.{rest}" if rest else base
            deps.append(target)
    pos = text.find(".__all__")
    while pos != -1:
        start = pos
        while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
            start -= 1
        value = d.get(text[start:pos])
        mod_name = getattr(value, "__name__", None)
        if isinstance(value, type(sys)) and isinstance(mod_name, str):
            deps.append(mod_name)
        pos = text.find(".__all__", pos + 8)
    return deps
