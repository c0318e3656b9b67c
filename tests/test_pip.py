"""pip's install-time import blocker with lazyhook active (issue 13, item 11).

pip >= 26.3 seals its process once an install starts: an audit hook (and a meta path finder
put first) refuses every import of a module not in ``sys.modules`` yet, until the process
exits.  Eagerly every module-level import has run by then; a lazy body first run afterwards
fails on its own imports (``Blocked import of '_csv'``), pip aborts half-way and leaves a
package without ``INSTALLER``/``REQUESTED`` in its RECORD.  lazyhook wraps
``sys.addaudithook``: before the hook exists it runs every pending lazy module, to a fixpoint
(bodies run there defer imports of their own), and loads its own code for the exit path.

* Without pip (fast): a stand-in for pip's blocker in a fresh interpreter, eager = cold = warm,
  plus a positive control that adds the hook through the builtin saved before lazyhook
  wrapped it, and fails; and `types` as a process's first lazy module (what pip's
  build-dependency subprocess hits on 3.12+).
* With the newest pip in a real venv after ``python -m lazyhook enable`` (``slow``, ~30 s): a
  wheel, an editable install and ``pip wheel`` with build isolation (pip installs the build
  dependencies with a ``pip install`` subprocess of the venv's interpreter, lazyhook active
  there too), an editable install without isolation, and uninstalls, cold and warm cache;
  each process's ``lazyhook.report()`` shows that lazyhook deferred modules and left none to
  run under the blocker; last, ``python -m lazyhook report`` of a ``pip install``.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import itertools
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import RUN, Result, Sandbox, installable_copy, same_outcome
from venv_support import Venv

# --- without pip ------------------------------------------------------------------------------

# A stand-in for pip 26.3's blocker (pip/_internal/commands/install.py): an audit hook on the
# "import" event plus a finder put first on sys.meta_path, both raising an exception that is
# not an ImportError (no `except ImportError` fallback catches pip's BlockedImportError) for
# any module not in sys.modules.  Unlike pip's it is active from the moment it is added.
BLOCKER = """
import sys


class Blocked(Exception):
    pass


def check(name):
    if name not in sys.modules:
        raise Blocked(f"Blocked import of {name!r} after install started")


def audit(event, args):
    if event == "import":
        check(args[0])


class BlockerFinder:
    def find_spec(self, fullname, path=None, target=None):
        check(fullname)


def seal(add=sys.addaudithook):
    add(audit)
    sys.meta_path[:] = [BlockerFinder(), *sys.meta_path]  # pip's own statement
"""

MODULES = {
    "blocker.py": BLOCKER,
    "lhb_outer.py": RUN + "import lhb_inner\nVALUE = lhb_inner.X\n",  # a new import when run
    "lhb_inner.py": RUN + "X = 42\n",
    # Its body defers lhb_chain2, whose body imports lhb_chain3: a pending module that only
    # appears while the pending ones run (compileall's `import filecmp` under pip).
    "lhb_chain.py": RUN + "import lhb_chain2\ndef f():\n    return lhb_chain2.Z\n",
    "lhb_chain2.py": RUN + "import lhb_chain3\nZ = lhb_chain3.W\n",
    "lhb_chain3.py": RUN + "W = 7\n",
    "lhb_names.py": RUN + "import lhb_names_dep\ndef helper():\n    return lhb_names_dep.Y * 2\n",
    "lhb_names_dep.py": RUN + "Y = 21\n",
}

# Deferred module-level imports (csv: a stdlib body importing _csv, as under pip), then the
# blocker, then first uses.  lhb_swapped needs no new import, but its file is overwritten
# after the seal (as an installed wheel could): eagerly the original ran.  What was lazy just
# before the seal goes to a side file (stdout must match eager).
PROGRAM = """
import os
import sys

BUILTIN_ADDAUDITHOOK = sys.addaudithook  # saved before lazyhook wraps it: the control's way

SWAPPED = os.path.join(os.environ["LHB_SRC"], "lhb_swapped.py")
with open(SWAPPED, "w") as f:
    f.write("print('RUN ' + __name__, flush=True)\\nWHO = 'original'\\n")

import lazyhook

lazyhook.install()

import csv
import lhb_chain
import lhb_outer
import lhb_swapped
from lhb_names import helper

import blocker

with open(os.environ["LHB_STATE"], "a") as f:
    # (helper in that tuple would be a value use: bound real at the statement)
    mods = [lazyhook.is_lazy(o) for o in (csv, lhb_chain, lhb_outer, lhb_swapped)]
    print(mods + [lazyhook.is_lazy(helper)], file=f)
blocker.seal(BUILTIN_ADDAUDITHOOK if os.environ.get("LHB_BYPASS") else sys.addaudithook)
print("SEALED", flush=True)
with open(SWAPPED, "w") as f:
    f.write("WHO = 'replaced by the installed wheel'\\n")
print(list(csv.reader(["a,b"])), lhb_chain.f(), lhb_outer.VALUE, lhb_swapped.WHO, helper())
"""
EXPECTED = ["SEALED", "[['a', 'b']] 7 42 original 42"]


def _run_program(sandbox: Sandbox, **env: str) -> tuple[Result, Result, Result, list[list[bool]]]:
    sandbox.write(MODULES)
    state = sandbox.path / "lazy-at-seal.txt"
    eager, cold, warm = sandbox.eager_cold_warm(
        PROGRAM, env={"LHB_SRC": str(sandbox.src), "LHB_STATE": str(state), **env}
    )
    lazy = [ast.literal_eval(line) for line in state.read_text().splitlines()]
    assert len(lazy) == 3, lazy  # one line per run: eager, cold, warm
    return eager, cold, warm, lazy


def test_lazy_modules_pending_when_an_import_blocker_is_added_run_first(
    sandbox: Sandbox,
) -> None:
    eager, cold, warm, lazy = _run_program(sandbox)
    assert (eager.returncode, eager.lines, eager.err) == (0, EXPECTED, "")
    # stderr identical to eager's (empty): no "Blocked import", no LazyhookWarning, and no
    # "Exception ignored" from lazyhook's exit path (the cold run writes its name cache at
    # exit, under the blocker).
    same_outcome(eager, cold, warm)
    assert lazy[0] == [False] * 5
    # csv and the synthetic modules were lazy at the seal; on the warm run `helper` is a lazy
    # name too, so the cold run's cache write at exit went through.
    assert lazy[1] == [True, True, True, True, False], lazy
    assert lazy[2] == [True] * 5, lazy
    # Every body ran before the hook took effect: none after the SEALED line.
    for run in (cold, warm):
        tail = run.out.split("SEALED\n", 1)[1]
        assert "RUN " not in tail, run.out
        assert {"lhb_chain2", "lhb_chain3", "lhb_inner", "lhb_swapped"} <= set(run.runs)


def test_positive_control_the_same_program_fails_when_the_hook_bypasses_lazyhook(
    sandbox: Sandbox,
) -> None:
    # The hook added through the builtin saved before lazyhook wrapped it: lazyhook cannot see
    # it, so the lazy bodies run under the blocker, as before the fix.  Eagerly nothing changes.
    eager, cold, warm, lazy = _run_program(sandbox, LHB_BYPASS="1")
    assert (eager.returncode, eager.lines, eager.err) == (0, EXPECTED, "")
    assert lazy[1][:4] == lazy[2][:4] == [True] * 4, lazy
    for run in (cold, warm):
        assert run.returncode == 1, run.out + run.err
        assert "Blocked: Blocked import of '_csv' after install started" in run.err, run.err
        assert "SEALED" in run.lines and EXPECTED[1] not in run.lines


def test_a_blocker_added_by_a_lazy_body_runs_the_other_pending_modules(
    sandbox: Sandbox,
) -> None:
    # The hook is added while lazyhook runs a deferred body (the sealing module is lazy too):
    # that body is left alone, every other pending module runs before the hook is added.
    sandbox.write(
        {
            **MODULES,
            "lhb_sealer.py": RUN + "import blocker\nblocker.seal()\nSEALED = True\n",
        }
    )
    code = """
        import lazyhook

        lazyhook.install()

        import csv
        import lhb_chain
        import lhb_outer
        from lhb_names import helper

        import lhb_sealer  # last: eagerly its body seals the process here

        print(lhb_sealer.SEALED)
        print(list(csv.reader(["a,b"])), lhb_chain.f(), lhb_outer.VALUE, helper())
        """
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert (eager.returncode, eager.lines, eager.err) == (0, ["True", "[['a', 'b']] 7 42 42"], "")
    same_outcome(eager, cold, warm)
    for run in (cold, warm):
        # lhb_sealer's body printed its RUN line, then the others ran inside its seal().
        tail = run.out.split("RUN lhb_sealer\n", 1)[1]
        assert "RUN " not in tail.split("True\n", 1)[1], run.out
        assert {"lhb_chain2", "lhb_chain3", "lhb_inner"} <= set(run.runs), run.out


def test_types_as_the_first_lazy_module(sandbox: Sandbox) -> None:
    # pip's build-dependency subprocess (__pip-runner__.py: `import runpy` -> importlib.util ->
    # `import types`) on 3.12+ in a venv without an editable install: `types` is not loaded at
    # start-up and becomes the process's first lazy module; loading lazyhook's lazy-module
    # code then imported `types` while it was still empty ("cannot import name
    # 'FunctionType' from partially initialized module 'types'").  -S: nothing loads it early.
    code = (
        "import sys\n"
        "assert 'types' not in sys.modules\n"
        "import lazyhook\n"
        "lazyhook.install()\n"
        "import types\n"
        "print(lazyhook.is_lazy(types), types.SimpleNamespace(a=1))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-S", "-c", code],  # PYTHONPATH (lazyhook's tree) still applies
        capture_output=True,
        text=True,
        env=sandbox.env(),
        timeout=60,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "True namespace(a=1)\n", "")


# --- with pip, in a real venv -----------------------------------------------------------------

# Loaded at start-up by a .pth that sorts before _lazyhook.pth (so it is imported eagerly),
# in every interpreter of the venv, pip's subprocesses included: at exit it writes
# `lazyhook.report()` with repr (json may not be importable under the blocker).  lazyhook loads
# its _report module before the blocker's hook is added.
REPORTER = """\
import atexit
import os
import sys


def _dump():
    lazyhook = sys.modules.get("lazyhook")
    directory = os.environ.get("LHTEST_REPORT_DIR")
    if lazyhook is None or not lazyhook.is_installed() or not directory:
        return
    record = {"argv": sys.argv, "report": lazyhook.report()}
    with open(os.path.join(directory, f"report-{os.getpid()}.txt"), "w") as f:
        f.write(repr(record))


atexit.register(_dump)
"""
PROJECT = """\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "demoproj"
version = "0.1"

[tool.setuptools]
py-modules = ["demoproj"]
"""
# On stderr of any pip command, cold or warm.
NEVER = (
    "Blocked import",
    "Unsafe import",  # pip 26.3: an import after the install, in-process
    "Unexpected import",  # pip 26.1/26.2: the warning before the block
    "Exception ignored",
    "LazyhookWarning",
    "Traceback",
)


def _make_wheel(out: Path, name: str = "lhdemo", version: str = "0.1") -> Path:
    """A minimal valid pure-Python wheel (no build backend, no index)."""
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}.py": "VALUE = 42\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test_pip\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for path, text in files.items():
        digest = hashlib.sha256(text.encode()).digest()
        b64 = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        record.append(f"{path},sha256={b64},{len(text.encode())}")
    files[f"{dist}/RECORD"] = "\n".join([*record, f"{dist}/RECORD,,"]) + "\n"
    wheel = out / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return wheel


class PipVenv(Venv):
    """A venv with the newest pip, lazyhook (non-editable) enabled, the reporter, a wheelhouse
    (the demo wheel, setuptools and wheel: the commands under test use no index) and a
    one-module setuptools project."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.wheelhouse = path.parent / "wheelhouse"
        self.project = path.parent / "demoproj"
        self.pip_script = str(path / "bin" / "pip")

    @classmethod
    def create(cls, root: Path) -> PipVenv:
        subprocess.run([sys.executable, "-m", "venv", str(root / "env")], check=True)
        v = cls(root / "env")
        off = v.env(LAZYHOOK_DISABLE="1")
        pip = [v.python, "-m", "pip", "--disable-pip-version-check"]
        setup = [
            # The newest pip from the configured index: 26.3 is the first that blocks.
            [*pip, "install", "-q", "-U", "pip>=26.3"],
            [*pip, "install", "-q", str(installable_copy(root / "src"))],
            [*pip, "download", "-q", "--only-binary", ":all:", "-d", str(v.wheelhouse)]
            + ["setuptools>=64", "wheel"],
            # For --no-build-isolation: the venv's own setuptools (3.11: 65.5) cannot build.
            [*pip, "install", "-q", "--no-index", "--find-links", str(v.wheelhouse)]
            + ["-U", "setuptools>=64", "wheel"],
        ]
        for cmd in setup:
            subprocess.run(cmd, check=True, env=off, timeout=600)
        _make_wheel(v.wheelhouse)
        v.project.mkdir()
        (v.project / "pyproject.toml").write_text(PROJECT)
        (v.project / "demoproj.py").write_text("X = 1\n")
        (v.site / "lhtest_reporter.py").write_text(REPORTER)
        (v.site / "00lhtest_reporter.pth").write_text("import lhtest_reporter\n")
        v.run("-m", "lazyhook", "enable", env=off)
        return v

    def pip(
        self, cache: Path, reports: Path, *args: str, via: tuple[str, ...] = ()
    ) -> list[dict[str, Any]]:
        """``python [VIA] bin/pip ARGS`` (the console script) with lazyhook active: exit 0, a
        clean stderr; returns the reports of every interpreter it ran."""
        reports.mkdir(parents=True)
        env = self.env(LAZYHOOK_CACHE_DIR=str(cache), LHTEST_REPORT_DIR=str(reports))
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        proc = self.run(*via, self.pip_script, *args, env=env, check=False)
        shown = f"pip {' '.join(args)}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        assert proc.returncode == 0, shown
        for text in NEVER:
            assert text not in proc.stderr, shown
        return [ast.literal_eval(p.read_text()) for p in sorted(reports.glob("report-*.txt"))]

    def leftovers(self) -> list[str]:
        return sorted(
            str(p.relative_to(self.site))
            for p in self.site.rglob("*")
            if "lhdemo" in p.name or "demoproj" in p.name
        )


@pytest.fixture(scope="module")
def pip_venv(tmp_path_factory: pytest.TempPathFactory) -> PipVenv:
    return PipVenv.create(tmp_path_factory.mktemp("pipvenv"))


def _installing(reports: list[dict[str, Any]], *, build_deps: bool) -> dict[str, Any]:
    """The report of the `pip install` process that installed: pip's own (argv[0] .../pip), or
    the one pip ran to install build dependencies (argv[0] .../__pip-runner__.py, --prefix)."""
    runner = "__pip-runner__.py" if build_deps else "pip"
    found = [
        r for r in reports if os.path.basename(r["argv"][0]) == runner and r["argv"][1] == "install"
    ]
    assert len(found) == 1, [r["argv"] for r in reports]
    return found[0]["report"]  # type: ignore[no-any-return]


def _sealed_cleanly(report: dict[str, Any]) -> None:
    """lazyhook deferred modules in that process, and when pip's hook was added it ran every
    one still pending (no use site: run by the seal), leaving none to run under the block."""
    totals, rows = report["totals"], report["modules"]
    at_seal = [r["module"] for r in rows if r["resolved"] and r["used_at"] is None]
    assert totals["deferred"] > 0 and at_seal, totals
    assert totals["never_executed"] == 0, [r["module"] for r in rows if not r["resolved"]]


def _pip_completed(v: PipVenv, dist: str, *names: str) -> None:
    """pip rewrote the RECORD at the end of the install: it lists the files pip adds last."""
    record = (v.site / f"{dist}.dist-info" / "RECORD").read_text().splitlines()
    listed = {line.split(",", 1)[0] for line in record}
    assert {f"{dist}.dist-info/{name}" for name in names} <= listed, record


@pytest.mark.slow
def test_pip_installs_builds_and_uninstalls_in_a_lazyhook_venv(
    pip_venv: PipVenv, tmp_path: Path
) -> None:
    v = pip_venv
    version = v.run("-c", "import pip; print(pip.__version__)").stdout.strip()
    major, minor = re.match(r"(\d+)\.(\d+)", version).groups()  # type: ignore[union-attr]
    assert (int(major), int(minor)) >= (26, 3), version  # the first pip that blocks
    index = ("--no-index", "--find-links", str(v.wheelhouse))
    cache = tmp_path / "cache"
    steps = itertools.count()

    def pip(*args: str, via: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        return v.pip(cache, tmp_path / f"reports{next(steps)}", *args, via=via)

    for mode in ("cold", "warm"):
        # A wheel: pip rewrites its RECORD (INSTALLER, REQUESTED) at the end, and byte-compiles.
        _sealed_cleanly(_installing(pip("install", *index, "lhdemo"), build_deps=False))
        _pip_completed(v, "lhdemo-0.1", "INSTALLER", "REQUESTED")
        assert list((v.site / "__pycache__").glob("lhdemo.*.pyc")), mode

        # Editable, with build isolation: the build dependencies are installed by a `pip
        # install` subprocess of this venv's interpreter, lazyhook active there too.
        reports = pip("install", *index, "-e", str(v.project))
        _sealed_cleanly(_installing(reports, build_deps=False))
        _sealed_cleanly(_installing(reports, build_deps=True))
        _pip_completed(v, "demoproj-0.1", "INSTALLER", "REQUESTED", "direct_url.json")
        assert v.run("-c", "import demoproj, lhdemo; print(demoproj.X, lhdemo.VALUE)").stdout == (
            "1 42\n"
        )

        # pip wheel, with build isolation: only the build dependencies are installed.
        out = tmp_path / mode / "wheels"
        reports = pip("wheel", *index, "--no-deps", "-w", str(out), str(v.project))
        _sealed_cleanly(_installing(reports, build_deps=True))
        assert [p.name for p in out.iterdir()] == ["demoproj-0.1-py3-none-any.whl"]

        pip("uninstall", "-y", "lhdemo", "demoproj")
        assert v.leftovers() == [], mode

        # Without isolation the install itself is what the blocker guards (before the fix:
        # built, then a RECORD without INSTALLER/REQUESTED, files left by uninstall).
        _sealed_cleanly(
            _installing(
                pip("install", "--no-build-isolation", "-e", str(v.project)), build_deps=False
            )
        )
        _pip_completed(v, "demoproj-0.1", "INSTALLER", "REQUESTED", "direct_url.json")
        pip("uninstall", "-y", "demoproj")
        assert v.leftovers() == [], mode
        if mode == "cold":
            # Written at exit by the sealed processes (lazyhook's exit path under the block).
            assert any(p.is_file() for p in cache.rglob("*")), "no name cache was written"

    # `lazyhook report` of a pip install: its JSON report is written at exit, under the block.
    out = tmp_path / "report.json"
    via = ("-m", "lazyhook", "report", "--json", "-o", str(out))
    pip("install", *index, "lhdemo", via=via)
    totals = json.loads(out.read_text())["totals"]
    assert totals["deferred"] > 0 and totals["never_executed"] == 0, totals
    pip("uninstall", "-y", "lhdemo")
    assert v.leftovers() == []
