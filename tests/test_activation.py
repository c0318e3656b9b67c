"""Activation and tooling in a REAL virtual environment (issue 6), plus the start-up budget.

One venv per test process (``venv_support.shared_venv``): ``python -m venv``, lazyhook
installed into it with pip (a real, non-editable install, as users get it), and the tools the
plugin tests need.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from venv_support import Venv, shared_venv

# Exactly what `import lazyhook; lazyhook.install()` may add to a fresh venv interpreter
# (atexit: built in, for the exit handler install() registers before the program's own).
STARTUP_ALLOWLIST = ["atexit", "lazyhook", "lazyhook._config", "lazyhook._finder"]


@pytest.fixture(scope="session")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    return shared_venv(tmp_path_factory)


def test_startup_adds_exactly_the_allowlisted_modules(venv: Venv) -> None:
    code = (
        "import sys; before = set(sys.modules)\n"
        "import lazyhook; lazyhook.install()\n"
        "print(sorted(set(sys.modules) - before))\n"
    )
    venv.run("-c", code)  # first run writes the bytecode
    out = venv.run("-c", code).stdout.strip()
    assert out == repr(STARTUP_ALLOWLIST)


def test_enable_status_disable(venv: Venv, tmp_path: Path) -> None:
    (tmp_path / "heavymod.py").write_text("print('RUN heavymod')\nX = 1\n")
    probe = (
        "import sys, lazyhook\nimport heavymod\n"
        "print(lazyhook.is_installed(), lazyhook.is_lazy(heavymod))\n"
    )
    try:
        out = venv.run("-m", "lazyhook", "enable", "--exclude", "json").stdout
        assert "lazyhook enabled" in out and (venv.site / "_lazyhook.pth").exists()
        status = venv.run("-m", "lazyhook", "status").stdout
        assert "enabled:" in status and "exclude: json" in status and "entries:" in status
        # Where the activation comes from, and that this interpreter really reads it.
        assert f"enabled: {venv.site / '_lazyhook.pth'}\n" in status
        assert f"  in: this virtual environment's site-packages ({venv.site})\n" in status
        assert f"  read at start-up by {venv.python}: yes\n" in status
        assert "active in this interpreter: yes\n" in status
        r = venv.run("-c", probe, cwd=tmp_path)
        assert r.stdout == "True True\n" and r.stderr == ""
        r = venv.run("-c", "import json, lazyhook; print(lazyhook.is_lazy(json))", cwd=tmp_path)
        assert r.stdout == "False\n"  # --exclude json was baked into the .pth line
        r = venv.run("-c", probe, cwd=tmp_path, env=venv.env(LAZYHOOK_DISABLE="1"))
        assert r.stdout == "RUN heavymod\nFalse False\n"
        # Switched off, the .pth line decides before importing anything: a disabled start
        # costs what a bare start costs.
        loaded = "import sys; print(sorted(m for m in sys.modules if m.startswith('lazyhook')))"
        for off in ({"LAZYHOOK_DISABLE": " Yes"}, {"PYTHON_LAZY_IMPORTS": "none"}):
            r = venv.run("-c", loaded, cwd=tmp_path, env=venv.env(**off))
            assert r.stdout == "[]\n" and r.stderr == "", (off, r.stdout, r.stderr)
        r = venv.run("-X", "lazy_imports=none", "-c", loaded, cwd=tmp_path)
        assert r.stdout == "[]\n"
        # -E: PYTHON* variables are not read (by CPython, so not by PEP 810's switch either).
        r = venv.run("-E", "-c", loaded, cwd=tmp_path, env=venv.env(PYTHON_LAZY_IMPORTS="none"))
        assert r.stdout.startswith("['lazyhook', "), r.stdout + r.stderr
        r = venv.run("-c", loaded, cwd=tmp_path, env=venv.env(LAZYHOOK_DISABLE="0"))
        assert r.stdout.startswith("['lazyhook', 'lazyhook._config', 'lazyhook._finder'")
    finally:
        venv.run("-m", "lazyhook", "disable")
    assert not (venv.site / "_lazyhook.pth").exists()
    status = venv.run("-m", "lazyhook", "status").stdout
    assert "not enabled" in status and "active in this interpreter: no" in status
    r = venv.run("-c", probe, cwd=tmp_path)
    assert r.stdout == "RUN heavymod\nFalse False\n"


def test_failing_activation_still_starts_with_one_warning(venv: Venv) -> None:
    breaker = venv.site / "_00break.pth"  # sorts before _lazyhook.pth
    breaker.write_text("import lazyhook; lazyhook.install = lambda *a, **k: 1 / 0\n")
    try:
        venv.run("-m", "lazyhook", "enable")
        r = venv.run("-c", "print('started')")
        assert r.stdout == "started\n"
        assert r.stderr.count("LazyhookWarning") == 1 and "ZeroDivisionError" in r.stderr
        assert "Traceback" not in r.stderr
    finally:
        breaker.unlink()
        venv.run("-m", "lazyhook", "disable")


def test_uninstalled_package_with_leftover_pth_starts_silently(venv: Venv) -> None:
    venv.run("-m", "lazyhook", "enable")
    pkg = venv.site / "lazyhook"
    hidden = venv.site / "lazyhook.hidden"
    pkg.rename(hidden)  # as after `pip uninstall` (which does not know our .pth)
    try:
        r = venv.run("-c", "print('started')")
        assert r.stdout == "started\n" and r.stderr == ""
    finally:
        hidden.rename(pkg)
        venv.run("-m", "lazyhook", "disable")


def test_sitecustomize_activation(venv: Venv, tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(
        "import lazyhook\nlazyhook.install(include=['email'])\n"
    )
    env = venv.env(PYTHONPATH=str(tmp_path))
    r = venv.run(
        "-c",
        "import email.mime.text, json, lazyhook, sys\n"
        "def later():\n    return email.mime.text, json\n"  # read (an unread import is eager)
        "print(lazyhook.is_lazy(sys.modules['email']), lazyhook.is_lazy(json))",
        env=env,
    )
    assert r.stdout == "True False\n"


PROG = """\
import sys
print("argv", sys.argv, __name__, __file__ == {path!r})
import email.mime.text
if sys.argv[1:] == ["fail"]:
    raise ValueError("bad")
if sys.argv[1:] == ["use"]:
    email.mime.text.MIMEText("x")
sys.exit(int(sys.argv[1]) if sys.argv[1:] and sys.argv[1].isdigit() else 0)
"""


def test_cli_run_matches_python(venv: Venv, tmp_path: Path) -> None:
    prog = tmp_path / "prog.py"
    prog.write_text(PROG.format(path=str(prog)))
    for args in (["a", "b"], ["3"], ["fail"]):
        plain = venv.run(str(prog), *args, cwd=tmp_path, check=False)
        lazy = venv.run("-m", "lazyhook", "run", str(prog), *args, cwd=tmp_path, check=False)
        assert (lazy.returncode, lazy.stdout, lazy.stderr) == (
            plain.returncode, plain.stdout, plain.stderr
        ), args  # fmt: skip
    (tmp_path / "pkgm").mkdir()
    (tmp_path / "pkgm" / "__init__.py").write_text("")
    (tmp_path / "pkgm" / "__main__.py").write_text(
        "import sys\nprint('mod', sys.argv[1:], __name__)\n"
    )
    r = venv.run("-m", "lazyhook", "run", "-m", "pkgm", "--help", "x", cwd=tmp_path)
    assert r.stdout == "mod ['--help', 'x'] __main__\n"


def test_cli_report_json_and_table(venv: Venv, tmp_path: Path) -> None:
    prog = tmp_path / "prog.py"
    prog.write_text(PROG.format(path=str(prog)))
    r = venv.run("-m", "lazyhook", "report", "--json", str(prog), "use", cwd=tmp_path)
    data = json.loads(r.stdout[r.stdout.index("{") :])
    mods = {m["module"]: m for m in data["modules"]}
    assert mods["email"]["resolved"] and mods["email.mime.text"]["resolved"]
    assert mods["email.mime.text"]["used_at"].endswith("prog.py:7")
    assert data["totals"]["deferred"] >= 3
    r = venv.run("-m", "lazyhook", "report", "--compare", str(prog), cwd=tmp_path)
    assert "never executed" in r.stdout and "execution avoided (cold eager run)" in r.stdout
    assert "email.mime.text" in r.stdout


def test_cli_cache_commands(venv: Venv, tmp_path: Path) -> None:
    cache = tmp_path / "c"
    (tmp_path / "wm.py").write_text("A = 1\nB = 2\n")
    env = venv.env(LAZYHOOK_CACHE_DIR=str(cache), PYTHONPATH=str(tmp_path))
    r = venv.run("-m", "lazyhook", "cache", "warm", "wm", "email.mime.text", env=env)
    assert "2/2 modules recorded" in r.stdout
    info = venv.run("-m", "lazyhook", "cache", "info", env=env).stdout
    assert "entries: 2 (2 valid now)" in info and "status: ok" in info
    (tmp_path / "wm.py").write_text("A = 1\nB = 2\nC = 3\n")
    v = venv.run("-m", "lazyhook", "cache", "verify", env=env, check=False)
    assert "stale: wm" in v.stdout and "1 valid, 1 stale" in v.stdout
    assert v.returncode == 1  # a stale entry is a problem found, as with `pip check`
    cache_file = next(cache.glob("*.lzc"))
    cache_file.write_bytes(b"garbage" * 10)
    bad = venv.run("-m", "lazyhook", "cache", "verify", env=env, check=False)
    assert bad.returncode == 1 and "corrupt" in bad.stdout
    assert "cache cleared" in venv.run("-m", "lazyhook", "cache", "clear", env=env).stdout
    assert "entries: 0" in venv.run("-m", "lazyhook", "cache", "info", env=env).stdout


@pytest.mark.parametrize(
    "argv",
    [["bogus"], ["run", "missing.py"], ["run", "--include", "a-b", "x.py"], ["run"],
     ["enable", "--include", "*x"], ["cache"], ["report", "--mode", "odd", "-m", "json"],
     ["--bogus"], ["cache", "verify", "--bogus"], ["report", "-o", "/no/such/dir/r", "-m", "json"]],
)  # fmt: skip
def test_cli_usage_errors_exit_2_with_one_line(venv: Venv, tmp_path: Path, argv: list[str]) -> None:
    r = venv.run("-m", "lazyhook", *argv, cwd=tmp_path, check=False)
    assert r.returncode == 2
    assert r.stderr.startswith("lazyhook: error:") and r.stderr.count("\n") == 1, r.stderr
    assert "Traceback" not in r.stderr


def test_console_script(venv: Venv) -> None:
    exe = venv.path / "bin" / "lazyhook"
    r = subprocess.run([str(exe), "status"], capture_output=True, text=True, env=venv.env())
    assert r.returncode == 0 and "cache:" in r.stdout


PLUGIN_TESTS = """
import sys
import lazyhook
import plugmod  # a module-level import statement: lazy when the plugin is active

LAZY_AT_IMPORT = lazyhook.is_lazy(plugmod)

def test_installed():
    assert lazyhook.is_installed()

def test_lazy_module():
    assert LAZY_AT_IMPORT
    assert plugmod.V == 1
    assert not lazyhook.is_lazy(plugmod)
"""


@pytest.mark.parametrize("xdist", [False, True])
def test_pytest_plugin(venv: Venv, tmp_path: Path, xdist: bool) -> None:
    (tmp_path / "plugmod.py").write_text("V = 1\n")
    (tmp_path / "test_plug.py").write_text(PLUGIN_TESTS)
    args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "--lazyhook"]
    if xdist:
        args += ["-n", "2"]
    r = venv.run(*args, cwd=tmp_path, check=False)
    assert r.returncode == 0 and "2 passed" in r.stdout, r.stdout + r.stderr
    # Inactive unless asked: the same tests fail without the option.
    r = venv.run("-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=tmp_path, check=False)
    assert r.returncode == 1 and "2 failed" in r.stdout
    # ... and the ini option activates it too.
    (tmp_path / "pytest.ini").write_text("[pytest]\nlazyhook = true\nlazyhook_include = plugmod\n")
    r = venv.run("-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=tmp_path, check=False)
    assert r.returncode == 0 and "2 passed" in r.stdout, r.stdout


def test_strict_startup_warns_for_modules_resolved_before_the_mark(
    venv: Venv, tmp_path: Path
) -> None:
    (tmp_path / "early.py").write_text("E = 1\n")
    (tmp_path / "late.py").write_text("L = 1\n")
    prog = tmp_path / "app.py"
    prog.write_text(
        textwrap.dedent(
            """\
            import lazyhook
            lazyhook.install()
            import early, late
            early.E
            lazyhook.startup_finished()
            late.L
            """
        )
    )
    r = venv.run(str(prog), cwd=tmp_path, env=venv.env(LAZYHOOK_STRICT_STARTUP="1"))
    assert r.stderr.count("LazyhookWarning") == 1
    assert "'early'" in r.stderr and "app.py:4" in r.stderr and "late" not in r.stderr
    r = venv.run(str(prog), cwd=tmp_path)
    assert r.stderr == ""


def test_shared_cache_prebuilt_read_only(venv: Venv, tmp_path: Path) -> None:
    cache = tmp_path / "shared"
    (tmp_path / "shmod.py").write_text("def S():\n    return 1\n")
    env = venv.env(LAZYHOOK_CACHE_DIR=str(cache), PYTHONPATH=str(tmp_path))
    venv.run("-m", "lazyhook", "cache", "warm", "--shared", "shmod", env=env)
    cache_file = next(cache.glob("*.lzc"))
    assert oct(cache_file.stat().st_mode & 0o777) == "0o644"
    assert oct(cache.stat().st_mode & 0o777) == "0o755"
    r = venv.run(
        "-c",
        "import lazyhook; lazyhook.install()\nfrom shmod import S\nprint(lazyhook.is_lazy(S))",
        env=env,
    )
    assert r.stdout == "True\n" and r.stderr == ""
    shutil.rmtree(cache)
