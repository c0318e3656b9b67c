"""Did a name-cache entry tell the truth?  The check made when its module runs.

When a module whose entry was used runs, what its body bound (names, ``__all__``, literal
values) is compared with what the entry promised (``ran``).  A difference rewrites the entry
and repairs what a star import filled; one that comes while every file that decided the names
is unchanged also teaches the cache that this module decides its names at run time (see
``_cache``'s ``FLAG_RUN_TIME``).  Loaded only when such a module runs: nothing on a warm
from-import's path needs it.
"""

from lazyhook import _cache, _sources

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lazyhook._cache import Entry


def ran(
    name: str,
    entry: "Entry",
    module: object,
    body_names: "tuple[str, ...]",
    namespaces: "list[dict[str, object]]",
) -> bool:
    """Module *name*, whose *entry* was used, has just run: did the entry tell the truth?  If
    not (and not because its files changed since: an edit racing the run is no lie), the
    star-filled namespaces get what was missing (never over a name the program bound since),
    one warning is shown, and True tells the caller to relearn it."""
    for cache in _cache.caches():
        cache.note_ran(name)
    d = getattr(module, "__dict__", None)
    if not isinstance(d, dict):
        return False
    names = {n for n in body_names if type(n) is str and n.isidentifier()}
    star = d.get("__all__")
    if isinstance(star, (list, tuple)):  # an explicit list: may name submodules, __getattr__
        real_star = [n for n in star if type(n) is str]
    else:
        real_star = sorted(n for n in names if n[:1] != "_")
    promised, real = set(entry.star), set(real_star)  # sets: sympy has 921 names
    missing = [n for n in real_star if n not in promised]
    missing += names - entry.names - set(missing)
    extra = [n for n in entry.star if n not in real]
    extra += entry.names - names - set(extra)
    # A literal bound from the entry becomes the module's own object where a namespace still
    # holds it (``is``); one another module changed meanwhile (``app.DEBUG = True``) lied.
    changed = 0
    for n in (n for n in entry.names if entry.kinds[n] == "v" and n in d):
        cached, value = entry.details.get(n), d[n]
        changed += not (type(value) is type(cached) and (value == cached or value != value))
        for ns in namespaces:
            if ns.get(n) is cached:
                ns[n] = value
    if not missing and not extra and not changed:
        return False
    _cache.invalidate(name)
    if _sources.unchanged(entry.sources)[0]:
        found = _star_values(name, module, d, missing, real) if namespaces else {}
        for ns in namespaces:
            for key, value in found.items():
                ns.setdefault(key, value)
        _cache.warn_once(
            f"stale:{name}",
            f"lazyhook: the name cache's entry for {name!r} did not match the module "
            f"({len(missing)} names missing, {len(extra)} extra, {changed} values changed); "
            "repaired and relearned",
        )
    return True


def _star_values(
    name: str, module: object, d: "dict[str, object]", missing: "list[str]", star: "set[str]"
) -> "dict[str, object]":
    """What the eager star import had bound for the *missing* names: the namespace's value;
    for a name of ``__all__`` the module lacks (``hasattr``, which asks a PEP 562
    ``__getattr__``), the submodule of that name, imported as ``_handle_fromlist`` did.  One
    that fails stays missing (eagerly the star import had raised: here, past it, its use
    raises NameError)."""
    found: dict[str, object] = {}
    for key in missing:
        if key in d:
            found[key] = d[key]
        elif key in star:
            try:
                if not hasattr(module, key):
                    __import__(f"{name}.{key}")
                found[key] = getattr(module, key)
            except Exception:  # noqa: BLE001 - see above
                pass
    return found
