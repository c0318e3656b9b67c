"""The benchmark environment: a fresh venv under ``benchmarks/.work/`` with lazyhook and the peers.

lazyhook is installed non-editable from a copy of the repository's sources (so the build
leaves no ``build/`` or ``*.egg-info`` in the work tree); the peers and their dependencies go
into this venv only and never into lazyhook's own dependencies.  A fresh ``python -m venv``
starts with ~33 modules, unlike this machine's base interpreter (~100, through a site .pth),
so every start-up figure is taken with this venv's interpreter.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from procs import child_env

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
WORK = BENCH_DIR / ".work"
VENV = WORK / "venv"
LOG = WORK / "setup.log"

PEERS = ["sympy", "networkx", "lazy_loader", "matplotlib"]
SAGE = ["passagemath-objects", "passagemath-environment"]
# passagemath-objects pulls in gmpy2, which sympy and mpmath then import: that would change
# what ``import sympy`` executes for every approach, so it is removed again (lazy_import
# itself does not need it).
SAGE_DROP = ["gmpy2"]
# PEP 810's shims for 3.11-3.14 (issue 15), each its own approach: the package and the module
# whose import tells it works.  lazy-importer requires Python 3.11+: elsewhere its column is
# left out and RESULTS.md says why.
SHIMS = {
    "lazy_importer": ("lazy-importer", "lazy_importer"),
    "lazyload": ("lazyload-py", "lazyload"),
}
REPORTED = [
    "lazyhook",
    "sympy",
    "mpmath",
    "networkx",
    "lazy_loader",
    "matplotlib",
    "pyparsing",
    "passagemath-objects",
    "passagemath-environment",
    "cysignals",
    "lazy-importer",
    "lazyload-py",
]


@dataclass
class BenchEnv:
    python: Path
    notes: dict[str, str] = field(default_factory=dict)  # what installed, what failed
    versions: dict[str, str] = field(default_factory=dict)
    start_modules: int = 0
    pth_files: list[str] = field(default_factory=list)
    sage: bool = False
    shims: set[str] = field(default_factory=set)  # the SHIMS approaches that import
    strace: bool = False


def _log(text: str) -> None:
    with LOG.open("a") as f:
        f.write(text.rstrip() + "\n")


def _run(argv: list[str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    _log("$ " + " ".join(argv))
    proc = subprocess.run(argv, capture_output=True, text=True, env=child_env(), timeout=timeout)
    _log(proc.stdout + proc.stderr)
    return proc


def _tail(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
    return lines[-1][:200] if lines else f"exit status {proc.returncode}"


def _copy_sources(dest: Path) -> None:
    """The files pip needs to build lazyhook, copied out of the work tree."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copytree(
        REPO / "lazyhook", dest / "lazyhook", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md", "LICENSE", "setup.cfg", "setup.py"):
        if (REPO / name).exists():
            shutil.copy2(REPO / name, dest / name)


def _site_packages(python: Path) -> Path:
    out = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        env=child_env(),
        check=True,
    )
    return Path(out.stdout.strip())


def _install(env: BenchEnv, pip: list[str]) -> None:
    _copy_sources(WORK / "src")
    proc = _run([*pip, "install", "--no-deps", "--force-reinstall", str(WORK / "src")])
    if proc.returncode != 0:
        raise SystemExit(f"cannot install lazyhook from {REPO}: {_tail(proc)} (see {LOG})")
    env.notes["lazyhook"] = "installed (non-editable, from a copy of the repository)"
    proc = _run([*pip, "install", *PEERS])
    if proc.returncode != 0:
        raise SystemExit(f"cannot install {' '.join(PEERS)}: {_tail(proc)} (see {LOG})")
    env.notes["peers"] = "installed: " + ", ".join(PEERS)
    proc = _run([*pip, "install", *SAGE])
    if proc.returncode != 0:
        env.notes["sage"] = f"pip install {' '.join(SAGE)} failed: {_tail(proc)}"
    else:
        dropped = _run([*pip, "uninstall", "-y", *SAGE_DROP])
        env.notes["sage"] = "installed: " + ", ".join(SAGE)
        if dropped.returncode == 0 and "Successfully uninstalled" in dropped.stdout:
            env.notes["sage"] += f"; removed {', '.join(SAGE_DROP)} (sympy would import it)"
    for key, (package, _) in SHIMS.items():
        proc = _run([*pip, "install", package])
        env.notes[key] = "installed" if proc.returncode == 0 else f"failed: {_tail(proc)}"


def _check(env: BenchEnv) -> None:
    py = str(env.python)
    probe = _run([py, "-c", "from sage.misc.lazy_import import lazy_import, get_star_imports"])
    env.sage = probe.returncode == 0
    if not env.sage and "failed" not in env.notes.get("sage", ""):
        env.notes["sage"] = env.notes.get("sage", "") + f"; import failed: {_tail(probe)}"
    for key, (_, module) in SHIMS.items():
        probe = _run([py, "-c", f"import {module}"])
        if probe.returncode == 0:
            env.shims.add(key)
        elif "failed" not in env.notes.get(key, ""):
            env.notes[key] = env.notes.get(key, "") + f"; import failed: {_tail(probe)}"
    # Byte-compile everything the children import (PYTHONDONTWRITEBYTECODE may be set here).
    _run([py, "-m", "compileall", "-q", "-j0", str(_site_packages(env.python))])
    count = _run([py, "-c", "import sys; print(len(sys.modules))"])
    env.start_modules = int(count.stdout.strip() or 0)
    env.pth_files = sorted(p.name for p in _site_packages(env.python).glob("*.pth"))
    listing = _run([py, "-m", "pip", "list", "--format=json"])
    installed = {d["name"].lower(): d["version"] for d in json.loads(listing.stdout or "[]")}
    env.versions = {n: installed[n] for n in REPORTED if n in installed}


def _ensure_strace(env: BenchEnv) -> None:
    if shutil.which("strace") is None and hasattr(os, "geteuid") and os.geteuid() == 0:
        _run(["apt-get", "install", "-y", "-q", "strace"], timeout=600)
    env.strace = shutil.which("strace") is not None
    env.notes["strace"] = (
        "available" if env.strace else "unavailable: file-system calls not counted"
    )


def prepare(reuse: bool) -> BenchEnv:
    """Create (or with *reuse*, refresh) the venv and report what it holds."""
    WORK.mkdir(parents=True, exist_ok=True)
    LOG.write_text("")
    python = VENV / "bin" / "python"
    if not (reuse and python.exists()):
        if VENV.exists():
            shutil.rmtree(VENV)
        base = getattr(sys, "_base_executable", sys.executable)
        proc = _run([base, "-m", "venv", str(VENV)])
        if proc.returncode != 0:
            raise SystemExit(f"python -m venv failed: {_tail(proc)}")
    env = BenchEnv(python=python)
    pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
    if reuse and python.exists() and (WORK / "src").exists():
        _copy_sources(WORK / "src")
        proc = _run([*pip, "install", "--no-deps", "--force-reinstall", str(WORK / "src")])
        if proc.returncode != 0:
            raise SystemExit(f"cannot reinstall lazyhook: {_tail(proc)}")
        env.notes["lazyhook"] = "reinstalled into the reused venv (--reuse-venv)"
        env.notes["peers"] = "reused venv"
        env.notes["sage"] = "reused venv"
    else:
        _install(env, pip)
    _check(env)
    _ensure_strace(env)
    return env
