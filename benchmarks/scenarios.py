"""What each approach writes for each scenario: the child scripts, as each tool's docs say.

A script is ``PROLOGUE`` (an exit hook that reports ``len(sys.modules)`` and how many of those
modules actually executed, identical for every approach and independent of every tool) +
the approach's activation + the scenario body in that approach's idiom.  Where an approach
cannot express a scenario, it runs its best equivalent and ``Script.note`` says what happened.
"""

from __future__ import annotations

import json
import re
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

# Code that reads an imported name but does not run on this invocation.  A module that never
# reads what an import binds imports it for its side effects, and lazyhook keeps such an
# import eager (lazyhook/_reads.py); real programs import at the top and use the names later.
LATER = "\n\ndef later():\n    return {}\n"

# The CLI of scenario 5a: imports at the top, --help uses none of them but argparse.
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

# The CLI of scenario 5b: ten imports, three of them from-imports of packages (two heavy).
MIXED_IMPORTS = """\
import argparse
import email.mime.text
import json
import shlex
import urllib.parse
import xml.dom.minidom
from decimal import Decimal

import pyparsing
from networkx import path_graph
from sympy import sympify
"""

MIXED_MAIN = """

def main() -> None:
    parser = argparse.ArgumentParser(prog="graphcalc", description="Evaluate over a graph.")
    parser.add_argument("expr", help="a sympy expression in n")
    formats = ("json", "mail", "shell", "url", "xml")
    parser.add_argument("--to", choices=formats, default="json", help="output format")
    args = parser.parse_args()
    graph = path_graph(3)
    value = sympify(args.expr).subs("n", graph.number_of_nodes())
    pyparsing.Word(pyparsing.nums).parse_string("1")
    row = {"expr": args.expr, "value": str(Decimal(str(value)))}
    if args.to == "shell":
        print(shlex.join(row.values()))
    elif args.to == "url":
        print(urllib.parse.urlencode(row))
    elif args.to == "xml":
        doc = xml.dom.minidom.parseString("<row/>")
        for key, text in row.items():
            doc.documentElement.setAttribute(key, text)
        print(doc.toxml())
    else:
        text = json.dumps(row)
        print(email.mime.text.MIMEText(text).as_string() if args.to == "mail" else text)


main()
"""


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    imports: str  # the import statements, eager form (what every tool rewrites its way)
    code: str = ""  # the rest of the program: what runs and what reads the names later
    args: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()  # modules the run needs (argparse for --help): eager everywhere
    floor: bool = False  # has imports this run does not use: measure the program without them

    @property
    def body(self) -> str:
        return self.imports + self.code

    @property
    def floor_body(self) -> str:
        """The same program with the imports this run does not use deleted."""
        lines = [ln for ln in self.imports.splitlines() if ln.strip()]
        kept = [ln for ln in lines if _line(ln)[0] in self.keep]
        return "".join(ln + "\n" for ln in kept) + self.code


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("startup", "1. start, tool active, nothing imported", ""),
    Scenario(
        "import_sympy",
        "2a. import sympy, not used on this run",
        "import sympy\n",
        LATER.format('sympy.Symbol("x")'),
        floor=True,
    ),
    Scenario(
        "import_networkx",
        "2b. import networkx, not used on this run",
        "import networkx\n",
        LATER.format("networkx.path_graph(3)"),
        floor=True,
    ),
    Scenario(
        "from_symbol",
        "3a. from sympy import Symbol, not used on this run",
        "from sympy import Symbol\n",
        LATER.format('Symbol("x")'),
        floor=True,
    ),
    Scenario(
        "from_symbol_use", "3b. ... + Symbol('x')", "from sympy import Symbol\n", "\nSymbol('x')\n"
    ),
    Scenario(
        "star",
        "4a. from sympy import *, not used on this run",
        "from sympy import *  # noqa: F403\n",
        LATER.format('Symbol("x")  # noqa: F405'),
        floor=True,
    ),
    Scenario(
        "star_use",
        "4b. ... + Symbol('x')",
        "from sympy import *  # noqa: F403\n",
        "\nSymbol('x')  # noqa: F405\n",
    ),
    Scenario(
        "cli_help",
        "5a. CLI --help (7 imports)",
        CLI_IMPORTS,
        CLI_MAIN,
        ("--help",),
        keep=("argparse",),
        floor=True,
    ),
    Scenario(
        "cli_mixed",
        "5b. CLI --help (10 imports, 3 from-imports)",
        MIXED_IMPORTS,
        MIXED_MAIN,
        ("--help",),
        keep=("argparse",),
        floor=True,
    ),
)


@dataclass(frozen=True)
class Approach:
    key: str
    title: str


APPROACHES: tuple[Approach, ...] = (
    Approach("floor", "floor (unused imports deleted)"),
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
# The other lazy-import tools, against which lazyhook's excess over the floor is compared.
PEERS = ("lazyloader", "lazyloader_all", "lazy_loader", "sage", "lazy_importer", "lazyload")


@dataclass(frozen=True)
class Script:
    text: str
    note: str = ""  # what happened, for the table: "executes at statement", "rewritten: ..."
    prepare: str = ""  # an untimed script run once before timing (e.g. to fill a cache)
    cold: bool = False  # empty the cache before every timed run


# Approaches measured in some scenarios only (elsewhere their table cell is empty).
ONLY = {"lazyhook_cold": {"star"}}


def applies(scenario: Scenario, approach: str) -> bool:
    if approach == "floor":
        return scenario.floor  # elsewhere the floor is the eager program itself
    return scenario.key in ONLY.get(approach, {scenario.key})


def script(scenario: Scenario, approach: str) -> Script | None:
    """The child script of *approach* for *scenario*, or None where it cannot be expressed."""
    build = _BUILDERS[approach]
    return build(scenario)


FROM = {"from_symbol", "from_symbol_use"}
STAR = {"star", "star_use"}
STAR_NAMES = ("Symbol",)  # the star-imported names the scenarios use
CLIS = {"cli_help", "cli_mixed"}


def _line(line: str) -> tuple[str, str | None]:
    """(module, name) of one import line; name is None for ``import m``, "*" for a star."""
    words = line.split("#")[0].split()
    if words[0] == "from":
        return words[1], words[3]
    return words[1], None


def _imports(sc: Scenario) -> list[tuple[str, str, str | None]]:
    """The scenario's import lines, each with its module and from-imported name."""
    return [(ln, *_line(ln)) for ln in sc.imports.splitlines() if ln.strip()]


def _sub(code: str, name: str, new: str) -> str:
    """*code* with the bare name *name* (not an attribute, not a longer name) as *new*."""
    return re.sub(rf"(?<![\w.]){re.escape(name)}\b", new, code)


def _floor(sc: Scenario) -> Script:
    return Script(PROLOGUE + sc.floor_body)


def _eager(sc: Scenario) -> Script:
    return Script(PROLOGUE + sc.body)


def _lazyloader(header: str) -> Callable[[Scenario], Script]:
    def build(sc: Scenario) -> Script:
        note = ""
        if sc.key in FROM | STAR:
            note = "executes at statement (a from-import reads __path__ and the names)"
        elif any(name for _, _, name in _imports(sc)):
            note = "runs the from-imported modules at their statements"
        return Script(PROLOGUE + header + sc.body, note)

    return build


def _per_module(header: str, load: str, tool: str) -> Callable[[Scenario], Script]:
    """A tool whose documented form is one call per module (``sympy = <load>("sympy")``).

    ``import a.b.c`` becomes ``a_b_c = <load>("a.b.c")`` (both return the submodule) and
    ``from m import n`` becomes ``m = <load>("m")`` with ``n`` read as ``m.n``: neither tool
    has a lazy from-import.
    """

    def build(sc: Scenario) -> Script:
        lines, code, loaded, rewritten = [], sc.code, set(), False
        for line, module, name in _imports(sc):
            if module in sc.keep:
                lines.append(line)
                continue
            alias = module.replace(".", "_")
            if alias not in loaded:
                lines.append(f'{alias} = {load}("{module}")')
                loaded.add(alias)
            if "." in module:
                code = code.replace(f"{module}.", f"{alias}.")
            for used in STAR_NAMES if name == "*" else () if name is None else (name,):
                code, rewritten = _sub(code, used, f"{alias}.{used}"), True
        note = "argparse stays eager (used by --help)" if sc.keep else ""
        if rewritten:
            kind = "star import" if sc.key in STAR else "from-import"
            what = "sympy.Symbol" if sc.key in FROM | STAR else "module attributes"
            note = "; ".join(
                filter(None, [note, f"rewritten as {what} ({tool} has no lazy {kind})"])
            )
        return Script(PROLOGUE + header + "".join(ln + "\n" for ln in lines) + code, note)

    return build


def _lazy_importer(sc: Scenario) -> Script:
    """The scenario's imports inside ``with lazy_importer():``, their modules declared."""
    text = PROLOGUE + LAZY_IMPORTER
    if not sc.imports:
        return Script(text)
    lazy = [(ln, m) for ln, m, _ in _imports(sc) if m not in sc.keep]
    text += "".join(ln + "\n" for ln, m, _ in _imports(sc) if m in sc.keep)
    declared = ", ".join(repr(m) for m in sorted({m for _, m in lazy}))
    text += f"\n__lazy_modules__ = {{{declared}}}\n\nwith lazy_importer():\n"
    text += "".join(f"    {ln}\n" for ln, _ in lazy) + sc.code
    note = "argparse stays eager (used by --help)" if sc.keep else ""
    # It forwards star imports to the import system unchanged.
    return Script(text, "executes at statement (no lazy star import)" if sc.key in STAR else note)


def _sage(sc: Scenario) -> Script | None:
    """``lazy_import(module, names)``: it binds names, so a module's attributes the program
    reads (``json.dumps``) are bound as names (``dumps``) and read as such."""
    if sc.key in ("import_sympy", "import_networkx"):
        return None  # lazy_import binds names from a module; a top-level module has no form
    text, code = PROLOGUE + SAGE, sc.code
    for line, module, name in _imports(sc):
        if module in sc.keep:
            text += line + "\n"
        elif name is not None:
            text += f'lazy_import("{module}", "{name}")\n'
        else:
            used = sorted(set(re.findall(rf"(?<![\w.]){re.escape(module)}\.(\w+)", code)))
            names = json.dumps(used if len(used) > 1 else used[0])
            text += f'lazy_import("{module}", {names})\n'
            for attr in used:
                code = code.replace(f"{module}.{attr}", attr)
    text += code
    if sc.key in STAR:
        # Sage fills its star-import cache from sage.all at start-up; here: one learning run.
        learn = (
            "from sage.misc.lazy_import import get_star_imports, save_cache_file\n\n"
            'get_star_imports("sympy")\nsave_cache_file()\n'
        )
        return Script(text, "warm pickle cache; star form deprecated (warns)", prepare=learn)
    return Script(text, "names bound as LazyImport proxies" if sc.key in CLIS else "")


def _lazyhook(sc: Scenario) -> Script:
    return Script(PROLOGUE + LAZYHOOK + sc.body, "warm name cache (after one cold run)")


def _lazyhook_cold(sc: Scenario) -> Script:
    return Script(PROLOGUE + LAZYHOOK + sc.body, "cache emptied before every run", cold=True)


_BUILDERS: dict[str, Callable[[Scenario], Script | None]] = {
    "floor": _floor,
    "eager": _eager,
    "lazyloader": _lazyloader(LAZYLOADER_MAIN),
    "lazyloader_all": _lazyloader(LAZYLOADER_ALL),
    "lazy_loader": _per_module(LAZY_LOADER, "lazy.load", "lazy_loader"),
    "sage": _sage,
    "lazy_importer": _lazy_importer,
    "lazyload": _per_module(LAZYLOAD, "lazyload.lazy", "lazyload-py"),
    "lazyhook": _lazyhook,
    "lazyhook_cold": _lazyhook_cold,
}
