"""``python -m lazyhook._warm CACHE_DIR SHARED FILE MODULE...``: learn modules into a cache.

What ``python -m lazyhook cache warm`` runs in a fresh interpreter: every module is imported
lazily and its entry consulted as a from-import would consult it, then each is forced, so
that its names are learned exactly as in an ordinary run — at the end of its own body, before
anything else binds attributes on it (a module run as another's parent or dependency too) —
an entry it has is checked against what the body really binds, and every source is stamped
before it is read.  Prints one line on stderr per module that could not be learned, one per
module that is never lazy (built in, frozen, an extension, a namespace package: no import of
it consults the cache, so there is nothing to record; its name also goes to FILE, one a
line, for the CLI; ``-``: nowhere) and one if the cache file could not be written, nothing else
(the CLI reads the cache afterwards and says what was recorded); exit status 1 if anything
failed.
"""

import sys

import lazyhook
from lazyhook import _cache, _interp, _module, _state


def never_lazy(module: object) -> "str | None":
    """What *module* is, if the finder never makes it lazy (README "Configuration"): their
    from-imports bind the real objects and never ask the cache."""
    spec = getattr(module, "__spec__", None)
    origin = getattr(spec, "origin", None)
    if origin in ("built-in", "frozen"):
        return f"a {origin} module"
    if type(getattr(spec, "loader", None)).__name__ == "ExtensionFileLoader":
        return "an extension module"
    if spec is not None and origin is None and spec.submodule_search_locations is not None:
        return "a namespace package"
    return None


def warm(cache_dir: str, shared: bool, modules: "list[str]", report: str = "-") -> int:
    lazyhook.install(include=modules, cache_dir=cache_dir)
    # Every import made here feeds the cache: the finder stamps each source before it is read.
    _interp.state.running += 1
    _interp.state.learning += 1
    cache = lazyhook.name_cache(cache_dir)
    cache.shared = shared
    tty = sys.stderr.isatty()
    failed = 0
    imported = []
    for name in modules:
        try:
            # An import statement, not importlib.import_module(): statements are what the
            # finder makes lazy.  All first, so that a module that runs as another's parent or
            # dependency is learned from its own body too.
            # (Read in a function, or nothing would read it and it would be eager.)
            exec(f"import {name}\ndef later():\n    return {name}\n", {})
            st = _state.pending(sys.modules[name])
            if st is not None:
                _module.entry(st)  # a miss: learned when its body ends; a hit: checked then
            imported.append(name)
        except Exception as exc:  # noqa: BLE001 - report and go on with the next module
            failed += 1
            sys.stderr.write(f"lazyhook: cannot learn {name}: {type(exc).__name__}: {exc}\n")
    for i, name in enumerate(imported, 1):
        if tty:
            sys.stderr.write(f"\r[{i}/{len(imported)}] {name[:60]:60}")
        try:
            module = lazyhook.resolve(sys.modules[name])
            what = never_lazy(module)
            if what is not None:  # `cache warm os math` said "not recorded", and exit 1
                sys.stderr.write(
                    f"{chr(10) if tty else ''}lazyhook: nothing to record for {name}: {what} is "
                    "never lazy, so no import of it consults the cache\n"
                )
                if report != "-":
                    with open(report, "a", encoding="utf-8") as f:
                        f.write(f"{name}\n")
                continue
            if not cache.knows(name):  # it had run before it could be made lazy
                _cache.learn(name, module, cache_dir)
        except Exception as exc:  # noqa: BLE001 - report and go on with the next module
            failed += 1
            if tty:
                sys.stderr.write("\n")
            sys.stderr.write(f"lazyhook: cannot learn {name}: {type(exc).__name__}: {exc}\n")
    if tty:
        sys.stderr.write("\n")
    written = cache.flush()
    if not written:
        sys.stderr.write(f"lazyhook: could not write the name cache {cache.path}\n")
    return 1 if failed or not written else 0


if __name__ == "__main__":
    sys.exit(warm(sys.argv[1], sys.argv[2] == "shared", sys.argv[4:], sys.argv[3]))
