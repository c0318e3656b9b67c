"""Shared fixtures: synthetic packages in a temp dir, run in fresh interpreters.

Import hooks change process-global state, so every behavioural test runs its scenario in a
fresh interpreter (``Sandbox.run``) on small packages it writes, whose bodies print
``RUN <module>`` when they execute, so a test can see exactly what ran and in which order.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# A module body that announces itself, so tests can see when (and in which order) bodies run.
RUN = 'print("RUN " + __name__, flush=True)\n'


def installable_copy(dest: Path) -> Path:
    """A copy of the package sources in *dest*, for ``pip install``.

    Installing from the work tree directly makes setuptools build in ``build/`` there: two
    xdist workers installing at once then collide ("File exists"), and the tree gets litter.
    """
    import shutil

    dest.mkdir(parents=True, exist_ok=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(
        ROOT / "lazyhook", dest / "lazyhook", ignore=shutil.ignore_patterns("__pycache__")
    )
    return dest


def clean_env(**extra: str) -> dict[str, str]:
    """The inherited environment without any LAZYHOOK_* setting, plus *extra*."""
    # Also drop pytest's and xdist's own variables: a pytest run inside a test must not
    # believe it is an xdist worker.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LAZYHOOK_", "PYTEST_XDIST", "PYTEST_CURRENT_TEST"))
    }
    env.pop("PYTHONSTARTUP", None)
    env.update(extra)
    return env


class Result:
    def __init__(self, proc: subprocess.CompletedProcess[str]) -> None:
        self.returncode = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    @property
    def runs(self) -> list[str]:
        """Module names whose bodies ran, in order."""
        return [line[4:] for line in self.out.splitlines() if line.startswith("RUN ")]

    @property
    def lines(self) -> list[str]:
        return [line for line in self.out.splitlines() if not line.startswith("RUN ")]

    def value(self, key: str) -> str:
        """The text after ``key=`` on the first output line that starts with it."""
        for line in self.out.splitlines():
            if line.startswith(key + "="):
                return line[len(key) + 1 :]
        raise AssertionError(f"no {key}= line in output:\n{self.out}\n{self.err}")


def _dedent(code: str) -> str:
    """Dedent *code*, also when an unindented prefix (e.g. an install line) precedes an
    indented triple-quoted block (the two are separated by the block's leading newline)."""
    text = textwrap.dedent(code)
    try:
        compile(text, "<test>", "exec")
        return text
    except SyntaxError:
        head, _, tail = code.partition("\n\n")
        return textwrap.dedent(head) + "\n" + textwrap.dedent(tail)


class Sandbox:
    """A directory of synthetic modules plus a private cache directory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.src = path / "src"
        self.cache = path / "cache"
        self.src.mkdir()
        self._n = 0

    def write(self, files: dict[str, str]) -> None:
        for rel, text in files.items():
            p = self.src / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(_dedent(text))

    def env(self, **extra: str) -> dict[str, str]:
        pythonpath = os.pathsep.join([str(self.src), str(ROOT)])
        env = clean_env(PYTHONPATH=pythonpath, LAZYHOOK_CACHE_DIR=str(self.cache))
        env.update(extra)
        return env

    def run(
        self,
        code: str,
        *,
        check: bool = True,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
        timeout: float = 120,
    ) -> Result:
        """Run *code* as the ``__main__`` script of a fresh interpreter."""
        self._n += 1
        script = self.path / f"main_{self._n}.py"
        script.write_text(_dedent(code))
        proc = subprocess.run(
            [sys.executable, str(script), *(args or [])],
            capture_output=True,
            text=True,
            env=env if env is not None else self.env(),
            cwd=str(self.path),
            timeout=timeout,
        )
        result = Result(proc)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
            )
        return result

    def eager_cold_warm(
        self, code: str, env: dict[str, str] | None = None, args: list[str] | None = None
    ) -> tuple[Result, Result, Result]:
        """Run one script three times: eagerly (``LAZYHOOK_DISABLE=1``), then lazily with an
        empty cache (cold: it learns), then again (warm: lazy names bound)."""
        self._n += 1
        script = self.path / f"main_{self._n}.py"
        script.write_text(_dedent(code))
        runs = []
        for extra in ({"LAZYHOOK_DISABLE": "1"}, {}, {}):
            proc = subprocess.run(
                [sys.executable, str(script), *(args or [])],
                capture_output=True,
                text=True,
                env=self.env(**{**(env or {}), **extra}),
                cwd=str(self.path),
                timeout=120,
            )
            runs.append(Result(proc))
        return runs[0], runs[1], runs[2]


def same_outcome(eager: Result, *lazy: Result) -> None:
    """Exit status, stdout and stderr identical (lazy runs may print RUN lines later)."""
    for other in lazy:
        assert (other.returncode, other.lines, other.err) == (
            eager.returncode,
            eager.lines,
            eager.err,
        ), f"eager:\n{eager.out}{eager.err}\nlazy:\n{other.out}{other.err}"


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    return Sandbox(tmp_path)
