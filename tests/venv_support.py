"""A REAL virtual environment with lazyhook pip-installed (not editable, as users get it),
plus pytest, pytest-xdist, coverage and pytest-cov for the plugin tests.

Shared by ``test_activation``, ``test_cli`` and ``test_plugin``: each declares a
session-scoped ``venv`` fixture that calls ``shared_venv``, which builds the venv once per
process (once per xdist worker) however many test modules ask for it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import clean_env, installable_copy


class Venv:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.python = str(path / "bin" / "python")
        out = subprocess.run(
            [self.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        )
        self.site = Path(out.stdout.strip())

    def run(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [self.python, *args],
            capture_output=True,
            text=True,
            env=env or self.env(),
            cwd=str(cwd) if cwd else None,
            timeout=300,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        return proc

    def env(self, **extra: str) -> dict[str, str]:
        env = clean_env()
        env.pop("PYTHONPATH", None)
        # The user site of this venv's runs is private to it: `enable --user` and a leftover
        # user-site .pth must never touch the real user's ~/.local.
        env["PYTHONUSERBASE"] = str(self.path.parent / "userbase")
        env.update(extra)
        env.setdefault("LAZYHOOK_CACHE_DIR", str(self.path / "cache"))
        env["PYTHONDONTWRITEBYTECODE"] = ""
        return env


_built: dict[str, Venv] = {}


def shared_venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """The venv of this process, built on first use."""
    if "venv" not in _built:
        path = tmp_path_factory.mktemp("venv") / "env"
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        v = Venv(path)
        pip = [v.python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        src = installable_copy(path.parent / "src")
        tools = ["pytest", "pytest-xdist", "coverage", "pytest-cov"]
        subprocess.run([*pip, str(src), *tools], check=True, env=v.env())
        _built["venv"] = v
    return _built["venv"]
