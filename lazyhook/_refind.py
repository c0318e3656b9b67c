"""A package's import hook for its own submodules, as eagerly.

Eagerly the finders are asked for a submodule after its parents' bodies ran, so a package
whose ``__init__`` installs an import hook for its own submodules (beartype's
``beartype_this_package()``, a path hook or a meta path finder) gets them loaded through it.
A submodule found while a parent was still lazy (``_finder._under_lazy_parent``) carries a
``Refind``; a package body that changes ``sys.meta_path`` or ``sys.path_hooks`` is noted
(``body_hook``, around every lazy body); before the submodule's own body runs, if one of its
parents did, it is looked up again and a loader of another kind for the same file takes over.
A package body that puts its own module in ``sys.modules`` under a pending submodule's name
(``sys.modules[__name__ + ".compat"] = _impl``) marks that submodule ``placed``: eagerly the
import found that module there and ran no file, so its body does not run (``_execute``
forwards the lazy module to it).  Loaded with the first lookup under a still-lazy package:
nothing else needs it.
"""

import sys

from lazyhook import _state

_mod_getattr = type(sys).__getattribute__


def _machinery() -> "tuple[tuple[object, ...], tuple[object, ...]]":
    return tuple(sys.meta_path), tuple(sys.path_hooks)


def _children(st: "_state.LazyState") -> "dict[_state.LazyState, object]":
    """The pending submodules of package *st*, with what ``sys.modules`` holds for each."""
    prefix = st.name + "."
    kids = [c for c in list(_state._pending.values()) if c.name.startswith(prefix)]
    return {c: sys.modules.get(c.name) for c in kids}


# Keyed by the state itself, not its id: a state dropped before its body ended (a failure,
# then reload()) could hand its id on to another package's.
_started: "dict[_state.LazyState, tuple[object, dict[_state.LazyState, object]]]" = {}
changed_by: "set[str]" = set()  # packages whose body changed sys.meta_path or sys.path_hooks
# Path-finder cache entries that lookups under a still-lazy package made (package -> (key,
# finder)): eagerly they were made after its body ran, through the path hooks it installed.
_made_under: "dict[str, list[tuple[str, object]]]" = {}


def pending_parents(name: str) -> "list[str]":
    """The parent packages of module *name* that have not run yet."""
    parts = name.split(".")[:-1]
    names = [".".join(parts[: i + 1]) for i in range(len(parts))]
    return [n for n in names if _state.pending(sys.modules.get(n)) is not None]


def note_lookup(name: str, fresh: "list[str]") -> None:
    """The finder looked *name* up under still-lazy packages; *fresh*: the path entries that
    had no path-finder cache entry before."""
    made = [(p, sys.path_importer_cache[p]) for p in fresh if p in sys.path_importer_cache]
    for parent in pending_parents(name) if made else ():
        _made_under.setdefault(parent, []).extend(made)


def body_hook(st: "_state.LazyState", done: bool) -> None:
    """The hook ``_state`` calls around each lazy body (under its module lock): a child's
    ``Refind`` is applied before its body, and a package's body that changes the machinery
    that finds modules is noted (from its first attempt: a retry finds its hook in place)."""
    if not done:
        refind, st.refind = st.refind, None
        if isinstance(refind, Refind):
            refind.apply(st)
        if "__path__" in _mod_getattr(st.module, "__dict__"):
            _started.setdefault(st, (_machinery(), _children(st)))
        return
    started = _started.pop(st, None)
    made = _made_under.pop(st.name, ())
    if started is None:
        return
    before, kids = started
    for kid, was in kids.items():
        now = sys.modules.get(kid.name)
        if now is not was and now is not None and _state.pending(kid.module) is kid:
            kid.placed = True
            # Eagerly the import found it in sys.modules and bound nothing on the package.
            for attr in [a for a, sub in st.submodules.items() if sub is kid.module]:
                del st.submodules[attr]
    if before == _machinery():
        return
    changed_by.add(st.name)
    for key, finder in made:  # made without the hooks this body installed: made again
        if sys.path_importer_cache.get(key) is finder:
            del sys.path_importer_cache[key]


class Refind:
    """Eagerly the finders are asked for a submodule after its parents' bodies ran, so a
    package whose ``__init__`` installs an import hook for its own submodules (beartype's
    ``beartype_this_package()``, a path hook or a meta path finder) gets them instrumented.
    A spec found while a parent was still lazy is asked for again once the parents ran, if
    one of their bodies changed ``sys.meta_path`` or ``sys.path_hooks`` (the program's own
    changes after the import do not count: eagerly they came too late): a loader of another
    kind for the same file that creates modules as the first one did replaces it (a
    different file, none, or another kind of module object is left alone: the module object
    exists already).  *skip*: lazyhook's own finders."""

    __slots__ = ("parents", "skip")

    def __init__(self, name: str, skip: "tuple[type, ...]") -> None:
        self.parents = pending_parents(name)
        self.skip = skip

    def loader(self, name: str, found: object, origin: object) -> object:
        """The loader for module *name* (found before: *found*, for file *origin*) now."""
        if not any(p in changed_by for p in self.parents):
            return found  # no parent's body changed what finds modules: the same answer
        parent = sys.modules.get(name.rpartition(".")[0])
        path = getattr(parent, "__path__", None)
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            if isinstance(finder, self.skip) or find_spec is None:
                continue
            try:
                spec = find_spec(name, path, None)
            except Exception:  # noqa: BLE001 - a finder's failure: keep what was found
                return found
            if spec is not None:
                return self._usable(spec, found, origin)
        return found

    @staticmethod
    def _usable(spec: object, found: object, origin: object) -> object:
        new = getattr(spec, "loader", None)
        if new is None or type(new) is type(found) or not hasattr(new, "exec_module"):
            return found
        create = getattr(type(new), "create_module", None)
        if getattr(spec, "origin", None) != origin or create is not getattr(
            type(found), "create_module", None
        ):
            return found  # another file, or another kind of module object
        return new

    def apply(self, st: "_state.LazyState") -> None:
        """Run *st*'s body with the loader found now (its parents have run)."""
        d = _mod_getattr(st.module, "__dict__")  # still lazy: read past its class
        spec = d.get("__spec__")
        new = self.loader(st.name, st.loader, getattr(spec, "origin", None))
        if new is not st.loader and spec is not None:
            st.loader = spec.loader = d["__loader__"] = new


_state.body_hooks.append(body_hook)
