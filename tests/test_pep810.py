"""PEP 810's declarations and switches on 3.10-3.13 (issue 15): ``__lazy_modules__``, imports
in ``with`` blocks, ``PYTHON_LAZY_IMPORTS`` / ``-X lazy_imports``, and ``resolve``/``is_lazy``
on what PEP 810's shims (lazy-importer, lazyload-py) and CPython 3.15 bind.

Each case runs in fresh interpreters on packages it writes, whose bodies print ``RUN <name>``:
a test asserts which bodies ran, and whether before or after a marker line the script prints.
Every undeclared import whose laziness a test checks has its binding read somewhere: an import
nothing reads is kept eager as a side-effect import.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
from conftest import ROOT, RUN, Result, Sandbox, same_outcome

INSTALL = "import lazyhook, sys\nlazyhook.install()\n"


def runs_before(r: Result, marker: str) -> list[str]:
    """The bodies that ran before the script printed the line *marker*."""
    lines = r.out.splitlines()
    assert marker in lines, r.out + r.err
    return [line[4:] for line in lines[: lines.index(marker)] if line.startswith("RUN ")]


def run_x(sandbox: Sandbox, code: str, xoption: str, **env: str) -> Result:
    """Run *code* as ``python -X <xoption> script`` in a fresh interpreter."""
    script = sandbox.path / f"x_{len(list(sandbox.path.glob('x_*.py')))}.py"
    script.write_text(code)
    proc = subprocess.run(
        [sys.executable, "-X", xoption, str(script)],
        capture_output=True,
        text=True,
        env=sandbox.env(**env),
        cwd=str(sandbox.path),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return Result(proc)


# -- __lazy_modules__: what it opts in --------------------------------------------------------


def test_a_declared_same_package_import_is_lazy_an_undeclared_one_eager(sandbox: Sandbox) -> None:
    # Boundary mode keeps a package's own imports eager; the declaration opts one in.
    sandbox.write(
        {
            "lib/__init__.py": RUN
            + "__lazy_modules__ = {'lib.declared'}\nimport lib.declared\nimport lib.plain\nX = 1\n",
            "lib/declared.py": RUN + "D = 'd'\n",
            "lib/plain.py": RUN + "P = 'p'\n",
        }
    )
    r = sandbox.run(
        INSTALL
        + """
        import lib
        print("x", lib.X)
        print("lazy", lazyhook.is_lazy(sys.modules["lib.declared"]),
              lazyhook.is_lazy(sys.modules["lib.plain"]))
        print("used", lib.declared.D)
        """
    )
    assert r.lines == ["x 1", "lazy True False", "used d"]
    assert runs_before(r, "x 1") == ["lib", "lib.plain"]
    assert r.runs == ["lib", "lib.plain", "lib.declared"]  # at its first use


def test_a_declared_from_import_in_library_code_binds_a_validated_lazy_name(
    sandbox: Sandbox,
) -> None:
    # names="main" (the default) keeps library from-imports binding real objects; a declared
    # one gets a lazy name from the name cache (warm), checked against the source each run.
    sandbox.write(
        {
            "shapes/__init__.py": RUN
            + """
            __lazy_modules__ = ["geom"]
            from geom import Circle
            from colors import Red
            def area(r):
                return Circle(r).area()
            """,
            "geom/__init__.py": RUN
            + "class Circle:\n    def __init__(self, r):\n        self.r = r\n"
            + "    def area(self):\n        return 3 * self.r * self.r\n",
            "colors.py": RUN + "class Red:\n    pass\n",
        }
    )
    code = (
        INSTALL
        + """
        import shapes
        print("lazy", lazyhook.is_lazy(shapes.Circle), lazyhook.is_lazy(shapes.Red))
        print("area", shapes.area(2))
        """
    )
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["lazy False False", "area 12"]
    assert cold.lines == eager.lines and cold.runs == ["shapes", "geom", "colors"]  # learns
    assert warm.lines == ["lazy True False", "area 12"]
    assert runs_before(warm, "lazy True False") == ["shapes", "colors"]
    assert warm.runs == ["shapes", "colors", "geom"]
    # Validated: after an edit that removes the name, the entry is stale and the statement
    # fails at once, as eagerly, instead of binding a name that no longer exists.
    (sandbox.src / "geom/__init__.py").write_text(RUN + "class Disc:\n    pass\n")
    stale = sandbox.run(code, check=False)
    plain = sandbox.run(code, check=False, env=sandbox.env(LAZYHOOK_DISABLE="1"))
    assert "cannot import name 'Circle' from 'geom'" in plain.err
    assert stale.runs == ["shapes", "geom"] and stale.lines == []
    assert plain.err.splitlines()[-1] in stale.err.splitlines()  # plus lazyhook's note


def test_a_declared_star_import_in_library_code_binds_lazy_names(sandbox: Sandbox) -> None:
    # lazyhook's extra beside PEP 810 (where `from m import *` is always eager): the names of
    # a declared module's star import come from the name cache, in library code too.
    sandbox.write(
        {
            "lib/__init__.py": RUN
            + """
            __lazy_modules__ = {"starry"}
            from starry import *
            from plain import *
            def use():
                return twice(2), thrice(2)
            """,
            "starry.py": RUN + "def twice(x):\n    return 2 * x\n",
            "plain.py": RUN + "def thrice(x):\n    return 3 * x\n",
        }
    )
    code = (
        INSTALL + "import lib\nprint(lazyhook.is_lazy(lib.twice), lazyhook.is_lazy(lib.thrice))\n"
    )
    code += "print(lib.use())\n"
    cold = sandbox.run(code)
    assert cold.lines == ["False False", "(4, 6)"] and cold.runs == ["lib", "starry", "plain"]
    warm = sandbox.run(code)
    assert warm.lines == ["True False", "(4, 6)"]
    assert runs_before(warm, "True False") == ["lib", "plain"]
    assert warm.runs == ["lib", "plain", "starry"]


@pytest.mark.parametrize(
    ("declared", "lazy"),
    [("{'pkg', 'pkg.sub'}", True), ("{'helper', 'sub', '.sub', '..', '.'}", False)],
    ids=["qualified", "as-written"],
)
def test_relative_imports_are_matched_by_fully_qualified_name(
    sandbox: Sandbox, declared: str, lazy: bool
) -> None:
    sandbox.write(
        {
            "pkg/__init__.py": RUN,
            "pkg/mod.py": RUN
            + f"__lazy_modules__ = {declared}\n"
            + "from . import helper\nfrom .sub import value\nREADY = 1\n",
            "pkg/inner/__init__.py": RUN,
            "pkg/inner/leaf.py": RUN
            + f"__lazy_modules__ = {declared}\n"
            + "from .. import helper2\nfrom ..sub import value\nREADY = 1\n",
            "pkg/helper.py": RUN,
            "pkg/helper2.py": RUN,
            "pkg/sub.py": RUN + "def value():\n    return 42\n",
        }
    )
    code = (
        INSTALL
        + """
        import pkg.mod, pkg.inner.leaf
        mod, leaf = sys.modules["pkg.mod"], sys.modules["pkg.inner.leaf"]
        mod.READY, leaf.READY
        print("ready")
        print("lazy", lazyhook.is_lazy(mod.helper), lazyhook.is_lazy(leaf.helper2),
              lazyhook.is_lazy(mod.value))
        print("value", mod.value(), leaf.value())
        """
    )
    sandbox.run(code)  # cold: the cache learns pkg.sub's names
    r = sandbox.run(code)
    assert r.lines[1:] == [f"lazy {lazy} {lazy} {lazy}", "value 42 42"]
    before = runs_before(r, "ready")
    if lazy:
        assert before == ["pkg", "pkg.mod", "pkg.inner", "pkg.inner.leaf"]
    else:  # same package, undeclared: eager at the statements
        assert before == [
            "pkg", "pkg.mod", "pkg.helper", "pkg.sub", "pkg.inner", "pkg.inner.leaf",
            "pkg.helper2",
        ]  # fmt: skip


def test_lazy_modules_is_asked_with_in_and_fully_qualified_names(sandbox: Sandbox) -> None:
    # Any container: only __contains__ is called (a set, a list, or an object that decides
    # by pattern), once or more per import, with the absolute name; one that raises means
    # "not listed".
    sandbox.write(
        {
            "rec/__init__.py": RUN,
            "rec/a.py": RUN,
            "rec/b.py": RUN,
            "rec/c.py": RUN + "C = 3\n",
            "rec/boom.py": RUN,
            "rec/inner/__init__.py": RUN,
            "rec/inner/leaf.py": RUN
            + """
            class Asked:
                def __init__(self):
                    self.names = []
                def __contains__(self, name):
                    if name not in self.names:
                        self.names.append(name)
                    if name == "rec.boom":
                        raise RuntimeError("broken declaration")
                    return name.startswith("rec.")
            __lazy_modules__ = Asked()
            import rec.a
            from .. import b
            from ..c import C
            from . import deep
            import rec.boom
            """,
            "rec/inner/deep.py": RUN,
        }
    )
    r = sandbox.run(
        INSTALL
        + """
        import rec.inner.leaf as leaf
        print("asked", leaf.__lazy_modules__.names)
        print("lazy", sorted(n for n in sys.modules
                             if n.startswith("rec.") and lazyhook.is_lazy(sys.modules[n])))
        """
    )
    assert r.lines == [
        "asked ['rec.a', 'rec', 'rec.c', 'rec.inner', 'rec.boom']",
        "lazy ['rec.a', 'rec.inner.deep']",
    ]
    # rec.b ("rec" is not listed) and rec.boom (the container raised) stay eager, as the
    # same package's imports do; rec.c's from-import ran it (no cache entry yet: cold).
    assert r.runs == ["rec", "rec.inner", "rec.inner.leaf", "rec.b", "rec.c", "rec.boom"]


def test_declared_imports_in_functions_class_bodies_and_try_stay_eager_with_is_lazy(
    sandbox: Sandbox,
) -> None:
    # As on 3.15: a declaration cannot make an import lazy in a function, a class body or a
    # try statement; it does in a with block.  lazyhook's own policy keeps an undeclared with
    # block eager (with suppress(ImportError): import optional relies on it) and leaves class
    # bodies as they were (an import of another package there is lazy).
    sandbox.write(
        {
            "box/__init__.py": RUN
            + """
            import contextlib
            __lazy_modules__ = {"box.in_func", "box.in_class", "box.in_try",
                                "box.in_except", "box.in_with", "box.from_with"}
            def f():
                import box.in_func
            f()
            class C:
                import box.in_class
            class D:
                import ext_class
                E = ext_class
            try:
                import box.in_try
            except ImportError:
                pass
            try:
                raise KeyError
            except KeyError:
                import box.in_except
            with contextlib.nullcontext():
                import box.in_with
                from box.from_with import W
            with contextlib.suppress(ImportError):
                import ext_with
            with contextlib.suppress(ImportError):
                import ext_missing
            print("body done", flush=True)
            """,
            **{
                f"box/{m}.py": RUN + "W = 1\n"
                for m in ("in_func", "in_class", "in_try", "in_except", "in_with", "from_with")
            },
            "ext_class.py": RUN,
            "ext_with.py": RUN,
        }
    )
    r = sandbox.run(
        INSTALL
        + """
        import box
        box.f
        print("lazy", sorted(n for n in sys.modules
                             if n.startswith(("box.", "ext")) and lazyhook.is_lazy(sys.modules[n])))
        print("with", box.in_with.W, box.W)
        """
    )
    assert runs_before(r, "body done") == [
        "box", "box.in_func", "box.in_class", "box.in_try", "box.in_except", "box.from_with",
        "ext_with",
    ]  # fmt: skip
    assert r.lines == ["body done", "lazy ['box.in_with', 'ext_class']", "with 1 1"]
    assert r.runs[-1] == "box.in_with"


# -- what wins over a declaration --------------------------------------------------------------

DECLARED_MAIN = """
__lazy_modules__ = {"dep", "gtk"}
import lazyhook
lazyhook.install()
import dep
import gtk
print("bound")
print(dep.D, gtk.G)
"""


@pytest.mark.parametrize(
    ("env", "before"),
    [
        ({}, []),
        ({"LAZYHOOK_EXCLUDE": "dep"}, ["dep"]),
        ({"LAZYHOOK_DISABLE": "1"}, ["dep", "gtk"]),
        ({"PYTHON_LAZY_IMPORTS": "none"}, ["dep", "gtk"]),
    ],
    ids=["declared", "excluded", "disabled", "pep810-none"],
)
def test_exclude_ignore_list_and_disable_win_over_a_declaration(
    sandbox: Sandbox, env: dict[str, str], before: list[str]
) -> None:
    # gtk is on the built-in ignore list (hgdemandimport's): eager, always.
    sandbox.write({"dep.py": RUN + "D = 1\n", "gtk.py": RUN + "G = 2\n"})
    r = sandbox.run(DECLARED_MAIN, env=sandbox.env(**env))
    gtk = [] if "gtk" in before else ["gtk"]
    assert runs_before(r, "bound") == before + gtk
    assert r.runs == before + gtk + [m for m in ("dep", "gtk") if m not in before + gtk]
    assert r.lines == ["bound", "1 2"] and r.err == ""


def test_without_lazyhook_installed_a_declaration_changes_nothing(sandbox: Sandbox) -> None:
    sandbox.write({"dep.py": RUN + "D = 1\n", "gtk.py": RUN + "G = 2\n"})
    code = DECLARED_MAIN.replace("lazyhook.install()\n", "")
    for env in ({}, {"PYTHON_LAZY_IMPORTS": "all"}):
        r = sandbox.run(code, env=sandbox.env(**env))
        assert runs_before(r, "bound") == ["dep", "gtk"] and r.lines == ["bound", "1 2"]
    r = sandbox.run(code.replace("import lazyhook\n", ""))
    assert runs_before(r, "bound") == ["dep", "gtk"]


# -- PYTHON_LAZY_IMPORTS and -X lazy_imports ---------------------------------------------------

SWITCHED = {
    # sw's body imports its own submodule: boundary mode keeps that eager, mode "all" not.
    "sw/__init__.py": RUN + "import sw.inner\nX = 1\ndef get():\n    return sw.inner\n",
    "sw/inner.py": RUN,
    "dep.py": RUN,
}
SWITCH_MAIN = INSTALL + "import sw, dep\nprint('bound', flush=True)\nsw.X\nunused = dep\n"
EAGER = (["sw", "sw.inner", "dep"], [])
BOUNDARY = ([], ["sw", "sw.inner"])
ALL = ([], ["sw"])


@pytest.mark.parametrize(
    ("xoption", "env", "expected"),
    [
        (None, {"PYTHON_LAZY_IMPORTS": "none"}, EAGER),
        (None, {"PYTHON_LAZY_IMPORTS": " ALL "}, ALL),
        (None, {"PYTHON_LAZY_IMPORTS": "normal"}, BOUNDARY),
        # normal: lazyhook's own settings, whatever they are
        (None, {"PYTHON_LAZY_IMPORTS": "normal", "LAZYHOOK_MODE": "all"}, ALL),
        # a LAZYHOOK_* variable beats PEP 810's switch, as an install() argument beats both
        (None, {"PYTHON_LAZY_IMPORTS": "all", "LAZYHOOK_MODE": "boundary"}, BOUNDARY),
        ("lazy_imports=none", {}, EAGER),
        ("lazy_imports=all", {}, ALL),
        ("lazy_imports=normal", {}, BOUNDARY),
        # -X beats the environment variable, as in CPython
        ("lazy_imports=normal", {"PYTHON_LAZY_IMPORTS": "none"}, BOUNDARY),
        ("lazy_imports=all", {"PYTHON_LAZY_IMPORTS": "none"}, ALL),
    ],
)
def test_pep810_switches(
    sandbox: Sandbox,
    xoption: str | None,
    env: dict[str, str],
    expected: tuple[list[str], list[str]],
) -> None:
    sandbox.write(SWITCHED)
    if xoption is None:
        r = sandbox.run(SWITCH_MAIN, env=sandbox.env(**env))
    else:
        r = run_x(sandbox, SWITCH_MAIN, xoption, **env)
    before = runs_before(r, "bound")
    assert (before, r.runs[len(before) :]) == expected, r.out
    assert r.err == ""


def test_an_install_argument_beats_pep810_all(sandbox: Sandbox) -> None:
    sandbox.write(SWITCHED)
    code = SWITCH_MAIN.replace("install()", "install(mode='boundary')")
    r = sandbox.run(code, env=sandbox.env(PYTHON_LAZY_IMPORTS="all"))
    assert r.runs == ["sw", "sw.inner"] and runs_before(r, "bound") == []


@pytest.mark.parametrize(
    ("xoption", "source"),
    [(None, "environment variable PYTHON_LAZY_IMPORTS"), ("lazy_imports=bogus", "-X lazy_imports")],
)
def test_an_invalid_pep810_value_warns_once_naming_its_source(
    sandbox: Sandbox, xoption: str | None, source: str
) -> None:
    sandbox.write(SWITCHED)
    code = SWITCH_MAIN.replace("install()", "install()\nlazyhook.install()")
    if xoption is None:
        r = sandbox.run(code, env=sandbox.env(PYTHON_LAZY_IMPORTS="bogus"))
    else:
        r = run_x(sandbox, code, xoption)
    assert r.err.count("LazyhookWarning") == 1 and r.err.count("\n") == 1, r.err
    name = source.rpartition(" ")[2] if xoption is None else source
    assert r.err.startswith(f"<{source}>:0: LazyhookWarning: lazyhook: ignoring {name}='bogus'")
    assert (runs_before(r, "bound"), r.runs) == ([], ["sw", "sw.inner"])  # ignored: boundary


# -- one body, one run -------------------------------------------------------------------------


def test_a_declared_import_that_is_used_runs_its_body_exactly_once(sandbox: Sandbox) -> None:
    sandbox.write(
        {
            "counted.py": RUN + "N = 7\n",
            "user_a.py": "__lazy_modules__ = ['counted']\nimport counted\n"
            + "def get():\n    return counted.N\n",
            "user_b.py": "__lazy_modules__ = ['counted']\nfrom counted import N\n",
            "user_c.py": "import contextlib\n__lazy_modules__ = ['counted']\n"
            + "with contextlib.nullcontext():\n    import counted\n",
        }
    )
    code = """
    __lazy_modules__ = ['counted']
    import lazyhook, importlib, threading
    lazyhook.install()
    import user_a, user_b, user_c
    import counted
    print("bound", flush=True)
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(user_a.get())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(seen, user_b.N, user_c.counted.N, counted.N, importlib.import_module("counted").N)
    print(lazyhook.resolve(user_c.counted) is counted is importlib.import_module("counted"))
    """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    same_outcome(eager, cold, warm)
    assert eager.lines == ["bound", "[7, 7, 7, 7] 7 7 7 7", "True"]
    for r in (eager, cold, warm):
        assert r.runs == ["counted"], r.out
    assert runs_before(warm, "bound") == []  # user_b's from-import bound a lazy name


# -- resolve() and is_lazy() on what the shims and CPython 3.15 bind ---------------------------

# Stand-ins with the real types' module and name, and the methods lazyhook calls: lazy-importer
# 0.1.0's documented resolve(value), lazyload-py 0.1.0's _reify(), 3.15's lazy_import.resolve().
# Their attribute reads raise, as a real proxy would import there.
FAKES = {
    "lazy_importer/__init__.py": "",
    "lazy_importer/_imports.py": """
        class _Proxy:
            def __init__(self, value):
                object.__setattr__(self, "_resolved", ())
                object.__setattr__(self, "_value", value)
            def __getattribute__(self, name):
                raise AssertionError("read " + name)
        def resolve(value):
            if type(value) is _Proxy:
                object.__setattr__(value, "_resolved", (object.__getattribute__(value, "_value"),))
                return object.__getattribute__(value, "_value")
            return value
        """,
    "lazyload/__init__.py": "",
    "lazyload/_compat.py": """
        import types
        class _DeferredProxy(types.ModuleType):
            def __init__(self, name):
                super().__init__(name)
                self.__dict__["__lazyload_loaded__"] = False
            def _reify(self):
                import importlib
                self.__dict__["__lazyload_loaded__"] = True
                return importlib.import_module(self.__name__)
            def __getattr__(self, name):
                raise AssertionError("read " + name)
        """,
    "native.py": """
        class lazy_import:
            def __init__(self, name):
                self.name = name
                self.resolved = False
            def resolve(self):
                import importlib
                return importlib.import_module(self.name)
        lazy_import.__module__ = "builtins"
        """,
}


def test_resolve_and_is_lazy_accept_the_shims_and_native_lazy_objects(sandbox: Sandbox) -> None:
    sandbox.write(FAKES | {"dep.py": RUN})
    r = sandbox.run(
        """
        import lazyhook, sys
        from lazy_importer._imports import _Proxy
        from lazyload._compat import _DeferredProxy
        from native import lazy_import
        for install in (False, True):
            if install:
                lazyhook.install()
                import dep  # a lazyhook lazy module exists from here on
                assert lazyhook.is_lazy(dep)
            objects = [_Proxy(3), _DeferredProxy("json"), lazy_import("json")]
            before = [lazyhook.is_lazy(o) for o in objects]
            real = [lazyhook.resolve(o) for o in objects]
            after = [lazyhook.is_lazy(o) for o in objects[:2]]
            print(before, after, real[0], real[1] is real[2] is sys.modules["json"])
        """
    )
    assert r.lines == ["[True, True, True] [False, False] 3 True"] * 2


def test_lazyhook_loads_neither_shim_package(sandbox: Sandbox) -> None:
    # Recognising their objects must not import them (or anything else) for everyone.
    sandbox.write(FAKES | {"dep.py": RUN})
    r = sandbox.run(
        INSTALL
        + """
        import dep
        print(lazyhook.is_lazy(dep), lazyhook.is_lazy(1), lazyhook.resolve(2))
        print("loaded", [m for m in sys.modules if m.startswith(("lazy_importer", "lazyload"))])
        """
    )
    assert r.lines == ["True False 2", "loaded []"]


# lazy-importer needs 3.11+ (its Requires-Python); lazyload-py 3.10+.
SHIMS = {
    "lazy_importer": sys.version_info >= (3, 11) and importlib.util.find_spec("lazy_importer"),
    "lazyload": importlib.util.find_spec("lazyload"),
}
REAL_SHIMS = """
import sys, lazyhook
INSTALL
def probe(obj, name):
    # A function's local: lazy-importer rebinds the globals that hold its proxy on resolution.
    return (type(obj).__name__, lazyhook.is_lazy(obj), name in sys.modules,
            lazyhook.resolve(obj) is sys.modules[name], lazyhook.is_lazy(obj))
results = {}
if "lazy_importer" in SHIMS:
    from lazy_importer import lazy_importer
    __lazy_modules__ = {"fractions"}
    with lazy_importer():
        import fractions
    results["lazy_importer"] = probe(globals()["fractions"], "fractions")
if "lazyload" in SHIMS:
    import lazyload
    results["lazyload"] = probe(lazyload.lazy("colorsys"), "colorsys")
print(sorted(results.items()))
"""


@pytest.mark.parametrize("install", ["", "lazyhook.install()"])
def test_resolve_and_is_lazy_on_the_real_shims(sandbox: Sandbox, install: str) -> None:
    # The test extras install both (lazy-importer only on 3.11+, which it requires).
    assert SHIMS["lazyload"], "lazyload-py is missing: pip install -e '.[test]'"
    assert SHIMS["lazy_importer"] or sys.version_info < (3, 11), "lazy-importer is missing"
    shims = sorted(name for name, found in SHIMS.items() if found)
    code = REAL_SHIMS.replace("SHIMS", repr(shims)).replace("INSTALL", install)
    r = sandbox.run(code)
    types = {"lazy_importer": "_Proxy", "lazyload": "_DeferredProxy"}
    # before: lazy, not imported; resolve() gives the real module; after: not lazy
    assert r.lines == [str([(name, (types[name], True, False, True, False)) for name in shims])]


def test_python_lazy_imports_is_ignored_under_e_and_i_as_by_cpython(sandbox: Sandbox) -> None:
    # -E and -I make CPython ignore every PYTHON* variable, PEP 810's among them: under
    # them lazyhook went eager for PYTHON_LAZY_IMPORTS=none (and mode "all" for "all").
    sandbox.write(SWITCHED)
    path = f"import sys\nsys.path[:0] = [{str(sandbox.src)!r}, {str(ROOT)!r}]\n"
    script = sandbox.path / "e.py"
    script.write_text(path + SWITCH_MAIN)
    for flag in ("-E", "-I"):
        for value in ("none", "all"):
            proc = subprocess.run(
                [sys.executable, flag, str(script)],
                capture_output=True,
                text=True,
                env=sandbox.env(PYTHON_LAZY_IMPORTS=value),
                cwd=str(sandbox.path),
                timeout=120,
            )
            r = Result(proc)
            before = runs_before(r, "bound")
            assert (before, r.runs[len(before) :]) == BOUNDARY, (flag, value, r.out, r.err)
