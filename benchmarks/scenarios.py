"""What each approach writes for each scenario: the child scripts, as each tool's docs say.

A script is ``PROLOGUE`` (an exit hook that reports ``len(sys.modules)`` and how many of those
modules actually executed, identical for every approach and independent of every tool) +
the approach's activation + the scenario body in that approach's idiom.  Where an approach
cannot express a scenario, it runs its best equivalent and ``Script.note`` says what happened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# The exit hook.  A module that has not executed yet is an instance of a class named
# ``_LazyModule`` for importlib.util.LazyLoader (also used by lazy_loader.load) and lazyhook.
PROLOGUE = """\
import atexit as _bench_atexit
import sys as _bench_sys


def _bench_report() -> None:
    mods = list(_bench_sys.modules.values())
    lazy = sum(type(m).__name__ == "_LazyModule" for m in mods)
    _bench_sys.stderr.write(f"BENCH-MODULES {len(mods)} {len(mods) - lazy}\\n")


_bench_atexit.register(_bench_report)
"""

# importlib.util.LazyLoader, the documented recipe turned into a meta path finder: specs come
# from PathFinder and get a LazyLoader.  Applied to the imports __main__ makes (what the recipe
# is for); the frames of the frozen import machinery are skipped to find who asked.
LAZYLOADER_MAIN = '''\
import importlib.machinery
import importlib.util


class LazyMainFinder:
    """importlib.util.LazyLoader for every import made by __main__."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        frame = _bench_sys._getframe(1)
        while frame is not None and frame.f_code.co_filename.startswith("<frozen importlib"):
            frame = frame.f_back
        if frame is None or frame.f_globals.get("__name__") != "__main__":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if spec is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


_bench_sys.meta_path.insert(0, LazyMainFinder)
'''

# The same recipe applied to every import in the process, as Mercurial's hgdemandimport does
# (with its habit of leaving a few side-effect modules eager).
LAZYLOADER_ALL = '''\
import importlib.machinery
import importlib.util

IGNORE = {"__future__", "_hashlib", "_imp", "fcntl", "pyexpat", "builtins", "collections.abc"}


class LazyAllFinder:
    """importlib.util.LazyLoader for every import (hgdemandimport-style)."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name in IGNORE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if spec is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


_bench_sys.meta_path.insert(0, LazyAllFinder)
'''

LAZYHOOK = "import lazyhook\n\nlazyhook.install()\n"
LAZY_LOADER = "import lazy_loader as lazy\n"
SAGE = "from sage.misc.lazy_import import lazy_import\n"
LAZY_IMPORTER = "from lazy_importer import lazy_importer\n"
LAZYLOAD = "import lazyload\n"

# The CLI of scenario 5: imports at the top, --help uses none of them.
CLI_IMPORTS = """\
import argparse
import decimal
import email.mime.text
import json

import networkx
import pyparsing
import sympy
"""

CLI_MAIN = """

def main() -> None:
    parser = argparse.ArgumentParser(prog="graphcalc", description="Evaluate over a graph.")
    parser.add_argument("expr", help="a sympy expression in n")
    parser.add_argument("--mail", action="store_true", help="print the result as an e-mail")
    args = parser.parse_args()
    graph = networkx.path_graph(3)
    value = sympy.sympify(args.expr).subs("n", graph.number_of_nodes())
    pyparsing.Word(pyparsing.nums).parse_string("1")
    text = json.dumps({"value": str(decimal.Decimal(str(value)))})
    print(email.mime.text.MIMEText(text).as_string() if args.mail else text)


main()
"""

# lazy_loader's documented form for external packages: lazy.load per module.
CLI_LAZY_LOADER = """\
import argparse

decimal = lazy.load("decimal")
email = lazy.load("email.mime.text")  # a submodule: lazy_loader loads its parents eagerly
json = lazy.load("json")
networkx = lazy.load("networkx")
pyparsing = lazy.load("pyparsing")
sympy = lazy.load("sympy")
"""

# lazy-importer's form (its README, PEP 810's declaration): the imports inside
# ``with lazy_importer():``, selected by the module's ``__lazy_modules__``.
CLI_LAZY_IMPORTER = """\
import argparse

__lazy_modules__ = {"decimal", "email.mime.text", "json", "networkx", "pyparsing", "sympy"}

with lazy_importer():
    import decimal
    import email.mime.text
    import json

    import networkx
    import pyparsing
    import sympy
"""

# lazyload-py's first documented form, one call per module.  Its ``lazy_imports()`` block
# defers only bare ``import x`` (from-imports and dotted ones run at once) and patches
# ``builtins.__import__`` for the whole process meanwhile, so the modules those eager imports
# run get proxies too: ``from sympy import Symbol`` inside it fails here (sympy's probe for
# the optional gmpy2, removed from this venv, gets a proxy instead of ImportError).
CLI_LAZYLOAD = """\
import argparse

decimal = lazyload.lazy("decimal")
email = lazyload.lazy("email.mime.text")  # the submodule (as lazy_loader's form above)
json = lazyload.lazy("json")
networkx = lazyload.lazy("networkx")
pyparsing = lazyload.lazy("pyparsing")
sympy = lazyload.lazy("sympy")
"""

# SageMath's form: lazy_import binds names (proxies), not modules.
CLI_SAGE = """\
import argparse

lazy_import("decimal", "Decimal")
lazy_import("email.mime.text", "MIMEText")
lazy_import("json", "dumps")
lazy_import("networkx", "path_graph")
lazy_import("pyparsing", ["Word", "nums"])
lazy_import("sympy", "sympify")


def main() -> None:
    parser = argparse.ArgumentParser(prog="graphcalc", description="Evaluate over a graph.")
    parser.add_argument("expr", help="a sympy expression in n")
    parser.add_argument("--mail", action="store_true", help="print the result as an e-mail")
    args = parser.parse_args()
    graph = path_graph(3)
    value = sympify(args.expr).subs("n", graph.number_of_nodes())
    Word(nums).parse_string("1")
    text = dumps({"value": str(Decimal(str(value)))})
    print(MIMEText(text).as_string() if args.mail else text)


main()
"""


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    body: str  # the eager form
    args: tuple[str, ...] = ()


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("startup", "1. start, tool active, nothing imported", ""),
    Scenario("import_sympy", "2a. import sympy, unused", "import sympy\n"),
    Scenario("import_networkx", "2b. import networkx, unused", "import networkx\n"),
    Scenario("from_symbol", "3a. from sympy import Symbol", "from sympy import Symbol\n"),
    Scenario(
        "from_symbol_use", "3b. ... + Symbol('x')", "from sympy import Symbol\n\nSymbol('x')\n"
    ),
    Scenario("star", "4a. from sympy import *", "from sympy import *  # noqa: F403\n"),
    Scenario(
        "star_use",
        "4b. ... + Symbol('x')",
        "from sympy import *  # noqa: F403\n\nSymbol('x')  # noqa: F405\n",
    ),
    Scenario("cli_help", "5. CLI --help (6 imports)", CLI_IMPORTS + CLI_MAIN, ("--help",)),
)


@dataclass(frozen=True)
class Approach:
    key: str
    title: str


APPROACHES: tuple[Approach, ...] = (
    Approach("eager", "eager"),
    Approach("lazyloader", "LazyLoader (imports of __main__)"),
    Approach("lazyloader_all", "LazyLoader (all imports)"),
    Approach("lazy_loader", "lazy_loader"),
    Approach("sage", "Sage lazy_import"),
    Approach("lazy_importer", "lazy-importer"),
    Approach("lazyload", "lazyload-py"),
    Approach("lazyhook", "lazyhook (warm)"),
    Approach("lazyhook_cold", "lazyhook (cold cache)"),
)


@dataclass(frozen=True)
class Script:
    text: str
    note: str = ""  # what happened, for the table: "executes at statement", "rewritten: ..."
    prepare: str = ""  # an untimed script run once before timing (e.g. to fill a cache)
    cold: bool = False  # empty the cache before every timed run


# Approaches measured in some scenarios only (elsewhere their table cell is empty).
ONLY = {"lazyhook_cold": {"star"}}


def applies(scenario: Scenario, approach: str) -> bool:
    return scenario.key in ONLY.get(approach, {scenario.key})


def script(scenario: Scenario, approach: str) -> Script | None:
    """The child script of *approach* for *scenario*, or None where it cannot be expressed."""
    build = _BUILDERS[approach]
    return build(scenario)


FROM = {"from_symbol", "from_symbol_use"}
STAR = {"star", "star_use"}
USE = {"from_symbol_use", "star_use"}


def _eager(sc: Scenario) -> Script:
    return Script(PROLOGUE + sc.body)


def _lazyloader(header: str) -> Callable[[Scenario], Script]:
    def build(sc: Scenario) -> Script:
        note = ""
        if sc.key in FROM | STAR:
            note = "executes at statement (a from-import reads __path__ and the names)"
        return Script(PROLOGUE + header + sc.body, note)

    return build


def _per_module(header: str, load: str, tool: str, cli: str) -> Callable[[Scenario], Script]:
    """A tool whose documented form is one call per module (``sympy = <load>("sympy")``)."""

    def build(sc: Scenario) -> Script:
        text = PROLOGUE + header
        note = ""
        if sc.key == "import_sympy":
            text += f'sympy = {load}("sympy")\n'
        elif sc.key == "import_networkx":
            text += f'networkx = {load}("networkx")\n'
        elif sc.key in FROM | STAR:
            text += f'sympy = {load}("sympy")\n'
            if sc.key in USE:
                text += 'sympy.Symbol("x")\n'
            kind = "star import" if sc.key in STAR else "from-import"
            note = f"rewritten as sympy.Symbol ({tool} has no lazy {kind})"
        elif sc.key == "cli_help":
            text += cli + CLI_MAIN
            note = "argparse stays eager (used by --help)"
        return Script(text, note)

    return build


def _lazy_importer(sc: Scenario) -> Script:
    """The scenario's statement inside ``with lazy_importer():``, its module declared."""
    text = PROLOGUE + LAZY_IMPORTER
    if sc.key == "cli_help":
        return Script(text + CLI_LAZY_IMPORTER + CLI_MAIN, "argparse stays eager (used by --help)")
    if not sc.body:
        return Script(text)
    statement, _, use = sc.body.partition("\n\n")
    module = "networkx" if sc.key == "import_networkx" else "sympy"
    text += f"\n__lazy_modules__ = {{{module!r}}}\n\nwith lazy_importer():\n    {statement}\n"
    if use:
        text += "\n" + use
    # It forwards star imports to the import system unchanged.
    return Script(text, "executes at statement (no lazy star import)" if sc.key in STAR else "")


def _sage(sc: Scenario) -> Script | None:
    text = PROLOGUE + SAGE
    if sc.key in ("import_sympy", "import_networkx"):
        return None  # lazy_import binds names from a module; a top-level module has no form
    if sc.key in FROM:
        text += 'lazy_import("sympy", "Symbol")\n'
    elif sc.key in STAR:
        text += 'lazy_import("sympy", "*")\n'
    elif sc.key == "cli_help":
        return Script(text + CLI_SAGE, "names bound as LazyImport proxies")
    if sc.key in USE:
        text += 'Symbol("x")\n'
    if sc.key in STAR:
        # Sage fills its star-import cache from sage.all at start-up; here: one learning run.
        learn = (
            "from sage.misc.lazy_import import get_star_imports, save_cache_file\n\n"
            'get_star_imports("sympy")\nsave_cache_file()\n'
        )
        return Script(text, "warm pickle cache; star form deprecated (warns)", prepare=learn)
    return Script(text)


def _lazyhook(sc: Scenario) -> Script:
    return Script(PROLOGUE + LAZYHOOK + sc.body, "warm name cache (after one cold run)")


def _lazyhook_cold(sc: Scenario) -> Script:
    return Script(PROLOGUE + LAZYHOOK + sc.body, "cache emptied before every run", cold=True)


_BUILDERS: dict[str, Callable[[Scenario], Script | None]] = {
    "eager": _eager,
    "lazyloader": _lazyloader(LAZYLOADER_MAIN),
    "lazyloader_all": _lazyloader(LAZYLOADER_ALL),
    "lazy_loader": _per_module(LAZY_LOADER, "lazy.load", "lazy_loader", CLI_LAZY_LOADER),
    "sage": _sage,
    "lazy_importer": _lazy_importer,
    "lazyload": _per_module(LAZYLOAD, "lazyload.lazy", "lazyload-py", CLI_LAZYLOAD),
    "lazyhook": _lazyhook,
    "lazyhook_cold": _lazyhook_cold,
}
