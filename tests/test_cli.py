"""The command line as a user meets it in the first hour (issue 17): every answer checked in a
fresh ``python -m lazyhook`` process — exit statuses, what goes to stdout and stderr — and
``enable``/``status`` in a real venv whose user site is private to the test."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, clean_env
from venv_support import Venv, shared_venv


@pytest.fixture(scope="session")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    return shared_venv(tmp_path_factory)


def lazyhook(
    *args: str, cwd: Path, flags: tuple[str, ...] = (), **env: str
) -> subprocess.CompletedProcess[str]:
    """``python [flags] -m lazyhook ARGS`` from the work tree, in a fresh interpreter."""
    environ = clean_env(
        **{"PYTHONPATH": str(ROOT), "LAZYHOOK_CACHE_DIR": str(cwd / "cache"), **env}
    )
    return subprocess.run(
        [sys.executable, *flags, "-m", "lazyhook", *args],
        capture_output=True,
        text=True,
        cwd=str(cwd),
        env=environ,
        timeout=300,
    )


def one_line_usage_error(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.startswith("lazyhook: error:") and r.stderr.count("\n") == 1, r.stderr
    return r.stderr


@pytest.mark.parametrize("option", ["--bogus", "-x", "--cache-dir"])
def test_an_option_before_the_command_is_named(tmp_path: Path, option: str) -> None:
    err = one_line_usage_error(lazyhook(option, "status", cwd=tmp_path))
    assert repr(option) in err and "a command comes first" in err


PROG = """\
import sys
print("program output", sys.argv[1:])
import email.mime.text
email.mime.text.MIMEText("x")
"""


def test_report_to_a_file_leaves_the_programs_stdout_alone(tmp_path: Path) -> None:
    (tmp_path / "prog.py").write_text(PROG)
    plain = subprocess.run(
        [sys.executable, "prog.py", "a"], capture_output=True, text=True, cwd=tmp_path
    )
    r = lazyhook("report", "--json", "-o", "rep.json", "prog.py", "a", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == plain.stdout, r.stdout + r.stderr
    data = json.loads((tmp_path / "rep.json").read_text())
    mods = {m["module"]: m for m in data["modules"]}
    assert mods["email.mime.text"]["resolved"]
    assert mods["email.mime.text"]["used_at"].endswith("prog.py:4")
    # The long spelling, and the table rather than JSON.
    r = lazyhook("report", "--output", "rep.txt", "prog.py", cwd=tmp_path)
    assert r.stdout == "program output []\n"
    table = (tmp_path / "rep.txt").read_text()
    assert table.startswith("module") and "modules deferred" in table
    # An unwritable destination is a usage error before the program runs.
    r = lazyhook("report", "-o", str(tmp_path / "no" / "such" / "r"), "prog.py", cwd=tmp_path)
    assert "cannot write the report" in one_line_usage_error(r) and r.stdout == ""


def test_report_compare_counts_each_never_executed_module_once(tmp_path: Path) -> None:
    # `import email.mime.text` never used: --compare counted only `email`'s own 0.4 ms of the
    # 34 (a module whose package never ran was skipped, as if nested in it).  Here: slowpkg.sub
    # (0.3 s) under a package that costs nothing; slow (0.1 s), whose body imports slow.inner
    # (0.2 s), itself imported by the program too: counted once, inside slow.
    (tmp_path / "slowpkg").mkdir()
    (tmp_path / "slowpkg" / "__init__.py").write_text("")
    (tmp_path / "slowpkg" / "sub.py").write_text("import time\ntime.sleep(0.3)\n")
    (tmp_path / "slow").mkdir()
    (tmp_path / "slow" / "__init__.py").write_text(
        "import time\ntime.sleep(0.1)\nfrom . import inner\n"
    )
    (tmp_path / "slow" / "inner.py").write_text("import time\ntime.sleep(0.2)\n")
    (tmp_path / "prog.py").write_text(
        "import slowpkg.sub, slow.inner\ndef later():\n    return slowpkg.sub, slow.inner\n"
    )
    r = lazyhook("report", "--json", "--compare", "-o", "r.json", "prog.py", cwd=tmp_path)
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    data = json.loads((tmp_path / "r.json").read_text())
    never = {m["module"] for m in data["modules"] if not m["resolved"]}
    assert never == {"slowpkg", "slowpkg.sub", "slow", "slow.inner"}, never
    # 0.6 s slept; 0.8 or more would count slow.inner twice, ~0.1 is the old sum.
    assert 0.6 <= data["avoided_seconds"] < 0.78, data["avoided_seconds"]


def test_run_and_report_options_all_have_help(tmp_path: Path) -> None:
    for command in ("run", "report"):
        r = lazyhook(command, "--help", cwd=tmp_path)
        assert r.returncode == 0
        text = " ".join(r.stdout.split())  # argparse wraps long help lines
        for option, words in (
            ("--include PATTERN", "lazy module patterns"),
            ("--exclude PATTERN", "eager module patterns"),
            ("--mode MODE", "boundary (default) or all"),
            ("--names NAMES", "where from-imports bind lazy names"),
            ("-m MODULE", "run a module as __main__"),
            ("script.py [args]", "the program and its arguments"),
        ):
            assert f"{option} {words}" in text, (command, option, r.stdout)
    text = " ".join(lazyhook("report", "--help", cwd=tmp_path).stdout.split())
    # "-o FILE, --output FILE" before 3.13, "-o, --output FILE" since
    assert re.search(r"-o( FILE)?, --output FILE write the report to FILE", text), text


def test_cache_verify_exits_1_when_stale_and_takes_cache_dir_after_the_action(
    tmp_path: Path,
) -> None:
    (tmp_path / "wm.py").write_text("A = 1\n")
    cache = str(tmp_path / "c")
    env = {"PYTHONPATH": f"{tmp_path}:{ROOT}"}
    r = lazyhook("cache", "warm", "--cache-dir", cache, "wm", cwd=tmp_path, **env)
    assert r.returncode == 0 and "1/1 modules recorded" in r.stdout, r.stdout + r.stderr
    assert not (tmp_path / "cache").exists()  # LAZYHOOK_CACHE_DIR was not used
    for argv in (
        ["cache", "verify", "--cache-dir", cache],
        ["cache", "--cache-dir", cache, "verify"],
    ):
        r = lazyhook(*argv, cwd=tmp_path)
        assert r.returncode == 0 and r.stdout == "1 valid, 0 stale\n", (argv, r.stdout)
    (tmp_path / "wm.py").write_text("A = 1\nB = 2\n")
    for argv in (
        ["cache", "verify", "--cache-dir", cache],
        ["cache", "--cache-dir", cache, "verify"],
    ):
        r = lazyhook(*argv, cwd=tmp_path)
        assert r.returncode == 1 and r.stdout == "stale: wm\n0 valid, 1 stale\n", (argv, r.stdout)


def test_cache_warm_learns_each_module_from_its_own_body(tmp_path: Path) -> None:
    # wa writes on wb, and wp runs as wp.sub's parent before wp's own turn: each entry must
    # still hold what its own body bound (no EXTRA, no submodule), as an ordinary run learns.
    (tmp_path / "wa.py").write_text("import wb\nwb.EXTRA = 1\n")
    (tmp_path / "wb.py").write_text("Y = 2\n")
    (tmp_path / "wp").mkdir()
    (tmp_path / "wp" / "__init__.py").write_text("X = 1\n")
    (tmp_path / "wp" / "sub.py").write_text("Z = 3\n")
    cache = str(tmp_path / "c")
    env = {"PYTHONPATH": f"{tmp_path}:{ROOT}"}
    mods = ["wa", "wb", "wp.sub", "wp"]
    r = lazyhook("cache", "warm", "--cache-dir", cache, *mods, cwd=tmp_path, **env)
    assert r.returncode == 0 and "4/4 modules recorded" in r.stdout, r.stdout + r.stderr
    code = (
        f"import lazyhook\nc = lazyhook.name_cache({cache!r})\n"
        "print(sorted(n for n in c.raw('wb').names if n[0] != '_'),"
        " sorted(n for n in c.raw('wp').names if n[0] != '_'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={
        **os.environ, **env})  # fmt: skip
    assert out.stdout == "['Y'] ['X']\n", out.stdout + out.stderr


def test_cache_warm_keeps_a_packages_own_imports_eager(tmp_path: Path) -> None:
    # cache warm made every import lazy (mode="all"), a package's own ones too: sqlalchemy's
    # preloader iterates a set of module names its submodules' bodies add to ("Set changed
    # size during iteration"), where a program with `from sqlalchemy import *` learned it.
    files = {
        "__init__.py": "from rp import util\nfrom rp import engine\nfrom rp import sql\n"
        "VERSION = (engine.NAME, sql.NAME)\n",
        "util.py": "registry = set()\ndef preload(*names):\n    registry.update(names)\n"
        "def import_prefix(prefix):\n    for name in registry:\n        __import__(name)\n",
        "engine.py": "from rp import util\nutil.preload('rp.extra')\nNAME = 'engine'\n",
        "extra.py": "from rp import hooks\nX = hooks.NAME\n",
        "hooks.py": "from rp import util\nutil.preload('rp.more')\nNAME = 'hooks'\n",
        "more.py": "Y = 1\n",
        "sql.py": "from rp import util\nfrom rp import hooks\n"
        "util.import_prefix('rp')\nNAME = 'sql'\ndef hooks_name():\n    return hooks.NAME\n",
    }
    (tmp_path / "rp").mkdir()
    for name, text in files.items():
        (tmp_path / "rp" / name).write_text(text)
    cache = str(tmp_path / "c")
    env = {"PYTHONPATH": f"{tmp_path}:{ROOT}"}
    r = lazyhook("cache", "warm", "--cache-dir", cache, "rp", cwd=tmp_path, **env)
    assert r.returncode == 0 and "1/1 modules recorded" in r.stdout, r.stdout + r.stderr


def test_cache_warm_of_a_missing_module_says_what_was_recorded(tmp_path: Path) -> None:
    (tmp_path / "wm.py").write_text("A = 1\n")
    r = lazyhook("cache", "warm", "nosuchmod", "wm", cwd=tmp_path, PYTHONPATH=f"{tmp_path}:{ROOT}")
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert lines[0].startswith("cache: 1/2 modules recorded in ") and len(lines) == 2
    assert lines[1] == "not recorded: nosuchmod"
    assert r.stderr == (
        "lazyhook: cannot learn nosuchmod: ModuleNotFoundError: No module named 'nosuchmod'\n"
    )
    assert "written" not in r.stdout


def test_cache_warm_says_why_a_module_has_nothing_to_record(tmp_path: Path) -> None:
    # `cache warm os sys _io math` said "not recorded: os, sys, _io, math" and exited 1,
    # never why: they are never lazy (README), so no import of them consults the cache.
    import importlib.machinery
    import importlib.util

    def is_extension(name: str) -> bool:
        spec = importlib.util.find_spec(name)
        return spec is not None and isinstance(spec.loader, importlib.machinery.ExtensionFileLoader)

    (tmp_path / "wm.py").write_text("A = 1\n")
    (tmp_path / "nsp").mkdir()
    extension = next(n for n in ("math", "_json", "_csv", "array", "select") if is_extension(n))
    mods = {"sys": "a built-in", "_frozen_importlib": "a frozen", extension: "an extension",
            "nsp": "a namespace"}  # fmt: skip
    cache = tmp_path / "c"
    env = {"PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    r = lazyhook("cache", "warm", "--cache-dir", str(cache), *mods, "wm", cwd=tmp_path, **env)
    assert r.returncode == 0, r.stdout + r.stderr
    (path,) = cache.glob("*.lzc")
    assert r.stdout == f"cache: 1/5 modules recorded in {path} (4 never lazy: nothing to record)\n"
    assert r.stderr.splitlines() == [
        f"lazyhook: nothing to record for {name}: {what} "
        f"{'package' if name == 'nsp' else 'module'} is never lazy, so no import of it "
        "consults the cache"
        for name, what in mods.items()
    ]
    # __main__ would record _warm's own file, stale at once (and never consulted).
    err = one_line_usage_error(lazyhook("cache", "warm", "__main__", cwd=tmp_path))
    assert "__main__ is whichever program runs" in err


BAD_MODE_PROG = "import sys\nprint('started', sys.warnoptions)\n"


@pytest.mark.parametrize("flags", [(), ("-W", "error")])
def test_run_names_the_variable_and_keeps_interpreter_flags(
    tmp_path: Path, flags: tuple[str, ...]
) -> None:
    (tmp_path / "prog.py").write_text(BAD_MODE_PROG)
    env = clean_env(LAZYHOOK_MODE="bogus")
    plain = subprocess.run(
        [sys.executable, *flags, "prog.py"], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    r = lazyhook("run", "prog.py", cwd=tmp_path, flags=flags, LAZYHOOK_MODE="bogus")
    # The program sees the same -W options as under plain python; the warning is printed, not
    # raised, and names the variable (not the bootstrap's `<string>:2`).
    assert r.returncode == 0 and r.stdout == plain.stdout, r.stdout + r.stderr
    assert r.stderr == (
        "<environment variable LAZYHOOK_MODE>:0: LazyhookWarning: "
        "lazyhook: ignoring LAZYHOOK_MODE='bogus': use boundary or all\n"
    )


XOPTIONS_PROG = (
    "import sys, json, lazyhook\n"
    "print(sorted(sys._xoptions.items()), sys.get_int_max_str_digits(), lazyhook.is_lazy(json))\n"
)


def test_run_passes_every_x_option_to_the_program(tmp_path: Path) -> None:
    # subprocess's helper forwards only some -X options: -X lazy_imports=none (PEP 810's
    # switch) did not reach the program, which ran lazily; -X int_max_str_digits changed
    # what it computed.
    (tmp_path / "prog.py").write_text(XOPTIONS_PROG)
    cases = {
        ("lazy_imports=none",): "[('lazy_imports', 'none')] 4300 False\n",  # eager
        (
            "int_max_str_digits=1000",
            "dev",
        ): "[('dev', True), ('int_max_str_digits', '1000')] 1000 True\n",
    }
    for xs, expected in cases.items():
        flags = tuple(f for x in xs for f in ("-X", x))
        r = lazyhook("run", "prog.py", cwd=tmp_path, flags=flags)
        assert (r.returncode, r.stdout, r.stderr) == (0, expected, ""), r.stdout + r.stderr


# --- enable --user and status, in a real venv (no system site packages) ---------------------


def user_site(venv: Venv) -> Path:
    out = venv.run("-c", "import site; print(site.getusersitepackages())").stdout.strip()
    return Path(out)


def test_enable_user_in_a_venv_is_refused(venv: Venv) -> None:
    r = venv.run("-m", "lazyhook", "enable", "--user", check=False)
    err = one_line_usage_error(r)
    assert "does not read the user site" in err and "virtual environment" in err
    assert not (user_site(venv) / "_lazyhook.pth").exists()


def test_status_says_a_user_site_pth_is_not_read_in_a_venv(venv: Venv) -> None:
    site_dir = user_site(venv)
    site_dir.mkdir(parents=True, exist_ok=True)
    pth = site_dir / "_lazyhook.pth"
    # A leftover from `enable --user` made outside the venv.
    pth.write_text("import sys; exec('lazyhook._activate((), ())')  # lazyhook activation\n")
    try:
        status = venv.run("-m", "lazyhook", "status").stdout
        assert f"found, but not in effect: {pth}\n" in status
        assert f"  in: the user site ({site_dir})\n" in status
        assert "no: a virtual environment without system site packages ignores" in status
        assert "\nenabled:" not in "\n" + status
        assert f"not enabled for {venv.python}" in status
        assert "active in this interpreter: no" in status
    finally:
        pth.unlink()


def test_enable_user_where_the_user_site_is_read(venv: Venv, tmp_path: Path) -> None:
    # A venv WITH system site packages reads the user site; lazyhook comes from PYTHONPATH.
    env_dir = tmp_path / "sysvenv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(env_dir)],
        check=True,
    )
    other = Venv(env_dir)
    env = other.env(PYTHONUSERBASE=str(tmp_path / "ub"), PYTHONPATH=str(ROOT))
    r = other.run("-m", "lazyhook", "enable", "--user", env=env)
    site_dir = Path(
        other.run("-c", "import site; print(site.getusersitepackages())", env=env).stdout.strip()
    )
    pth = site_dir / "_lazyhook.pth"
    assert r.stdout == f"lazyhook enabled: {pth}\n" and pth.exists()
    status = other.run("-m", "lazyhook", "status", env=env).stdout
    assert f"enabled: {pth}\n  in: the user site ({site_dir})\n" in status
    assert f"read at start-up by {other.python}: yes" in status
    assert "active in this interpreter: yes" in status
    # ... and `python -s` (no user site) is told the truth as well.
    status = other.run("-s", "-m", "lazyhook", "status", env=env).stdout
    assert "found, but not in effect" in status and "(python -s or PYTHONNOUSERSITE)" in status
    # Both files read: status said nothing of whose patterns apply, and `disable` removed both
    # (switching lazyhook off for the base interpreter and every venv reading the user site);
    # `disable --user` was refused.
    env_pth = other.site / "_lazyhook.pth"
    other.run("-m", "lazyhook", "enable", "--exclude", "json", env=env)
    other.run("-m", "lazyhook", "enable", "--user", "--exclude", "re", env=env)
    status = other.run("-m", "lazyhook", "status", env=env).stdout
    applies = "  exclude: json\n  patterns: these apply (this file is read after the user site's)\n"
    assert applies in status, status
    assert (
        f"  exclude: re\n  patterns: replaced by those of {env_pth}, read after this file\n"
        in status
    )
    probe = (
        "import sys\nprint([sorted(f.settings.exclude & {'json', 're'}) for f in sys.meta_path\n"
    )
    probe += "       if type(f).__name__ == 'LazyFinder'])\n"
    assert other.run("-c", probe, env=env).stdout == "[['json']]\n"  # what status says
    r = other.run("-m", "lazyhook", "disable", env=env)
    assert r.stdout == (
        f"lazyhook disabled: removed {env_pth}\n{pth} still enables lazyhook for "
        f"{other.python} (`lazyhook disable --user` removes it)\n"
    )
    assert pth.exists() and not env_pth.exists()
    assert other.run("-c", probe, env=env).stdout == "[['re']]\n"
    r = other.run("-m", "lazyhook", "disable", "--user", env=env)
    assert r.stdout == f"lazyhook disabled: removed {pth}\n" and not pth.exists()
    r = other.run("-m", "lazyhook", "disable", "--user", env=env)
    assert r.stdout == f"lazyhook was not enabled in the user site (no {pth})\n"


@pytest.mark.parametrize("flags", [(), ("-W", "error")])
def test_pth_activation_warning_names_the_variable(venv: Venv, flags: tuple[str, ...]) -> None:
    venv.run("-m", "lazyhook", "enable")
    try:
        env = venv.env(LAZYHOOK_MODE="bogus")
        r = venv.run(*flags, "-c", "import lazyhook; print(lazyhook.is_installed())", env=env)
    finally:
        venv.run("-m", "lazyhook", "disable")
    assert r.stdout == "True\n"  # started, activated, with the default mode
    assert r.stderr == (
        "<environment variable LAZYHOOK_MODE>:0: LazyhookWarning: "
        "lazyhook: ignoring LAZYHOOK_MODE='bogus': use boundary or all\n"
    )


def test_run_reports_a_syntax_error_as_python_does(tmp_path: Path) -> None:
    # The script was compiled inside lazyhook's runner: its frames led the traceback.
    (tmp_path / "bad.py").write_text("x = 1\ndef f(:\n    pass\n")
    plain = subprocess.run(
        [sys.executable, "bad.py"], capture_output=True, text=True, cwd=tmp_path, env=clean_env()
    )
    r = lazyhook("run", "bad.py", cwd=tmp_path)
    assert plain.returncode == 1 and "SyntaxError" in plain.stderr
    assert (r.returncode, r.stdout, r.stderr) == (1, "", plain.stderr)


def test_the_lazyhook_command_resolves_modules_as_python_m_lazyhook(
    venv: Venv, tmp_path: Path
) -> None:
    # The console script's sys.path[0] was the venv's bin/, where `python -m` puts the working
    # directory: `lazyhook cache verify` called a project module's entry stale, `python -m
    # lazyhook cache verify` valid.
    proj = tmp_path / "proj"
    (proj / "pkg").mkdir(parents=True)
    (proj / "pkg" / "__init__.py").write_text(
        '__lazy_modules__ = {"pkg.sub"}\nfrom pkg.sub import thing\n'
    )
    (proj / "pkg" / "sub.py").write_text("def thing():\n    return 1\n")
    (proj / "main.py").write_text("import pkg\nprint(pkg.thing())\n")
    env = venv.env(LAZYHOOK_CACHE_DIR=str(tmp_path / "c"))
    for _ in range(2):
        assert venv.run("-m", "lazyhook", "run", "main.py", cwd=proj, env=env).stdout == "1\n"
    exe = str(venv.path / "bin" / "lazyhook")
    for argv in (["cache", "verify"], ["cache", "info"], ["cache", "warm", "pkg.sub"]):
        command = subprocess.run(
            [exe, *argv], capture_output=True, text=True, cwd=proj, env=env, timeout=300
        )
        module = venv.run("-m", "lazyhook", *argv, cwd=proj, env=env, check=False)
        assert (command.returncode, command.stdout, command.stderr) == (
            module.returncode, module.stdout, module.stderr
        ), argv  # fmt: skip
        if argv[1] == "verify":
            assert (command.returncode, command.stdout) == (0, "1 valid, 0 stale\n")


# --- enable/disable where site-packages is not ours to change --------------------------------


def _unprivileged() -> tuple[list[str], str] | None:
    """How to run as a user without write access to a root-owned venv: (command prefix, an
    interpreter that user can run).  Root ignores permissions, so root runs the command as
    the real second user ``nobody`` (setpriv); anyone else is already such a user."""
    import shutil

    if os.geteuid() != 0:
        return [], sys.executable
    if not shutil.which("setpriv"):
        return None
    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    # The interpreter under test may live where nobody cannot reach (/root/.pyenv).
    for python in (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"):
        probe = [*prefix, python, "-c", "import sys, venv; assert sys.version_info >= (3, 10)"]
        if subprocess.run(probe, capture_output=True).returncode == 0:
            return prefix, python
    return None


UNPRIVILEGED = _unprivileged()


@pytest.mark.skipif(UNPRIVILEGED is None, reason="root without setpriv or a second user's python")
def test_enable_and_disable_without_write_access_say_so_in_one_line() -> None:
    # A non-root user on a root-owned venv got a PermissionError traceback from both.
    import shutil
    import tempfile

    from conftest import installable_copy

    assert UNPRIVILEGED is not None
    prefix, python = UNPRIVILEGED
    base = Path(tempfile.mkdtemp(prefix="lazyhook-ro-", dir="/tmp"))  # nobody can reach it
    try:
        base.chmod(0o755)
        src = installable_copy(base / "src")
        subprocess.run([python, "-m", "venv", "--without-pip", str(base / "v")], check=True)
        vpy = str(base / "v" / "bin" / "python")
        out = subprocess.run(
            [vpy, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        site = Path(out.stdout.strip())
        pth = site / "_lazyhook.pth"
        env = clean_env(
            PYTHONPATH=str(src), PYTHONDONTWRITEBYTECODE="1", HOME=str(base),
            PYTHONUSERBASE=str(base / "ub"), LAZYHOOK_CACHE_DIR=str(base / "c"),
        )  # fmt: skip

        def lazyhook_as_user(*args: str) -> subprocess.CompletedProcess[str]:
            argv = [*prefix, vpy, "-m", "lazyhook", *args]
            return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(base))

        if not prefix:
            site.chmod(0o555)
        r = lazyhook_as_user("enable")
        assert (r.returncode, r.stdout) == (1, ""), r.stderr
        assert r.stderr == f"lazyhook: cannot write {pth}: Permission denied\n", r.stderr
        assert not [p.name for p in site.iterdir() if "lazyhook" in p.name]  # no temp file
        site.chmod(0o755)
        pth.write_text("# a leftover of root's `lazyhook enable`\n")
        if not prefix:
            site.chmod(0o555)
        r = lazyhook_as_user("disable")
        assert (r.returncode, r.stdout) == (1, ""), r.stderr
        assert r.stderr == f"lazyhook: cannot remove {pth}: Permission denied\n", r.stderr
        assert pth.exists()
    finally:
        for d in base.rglob("site-packages"):
            d.chmod(0o755)
        shutil.rmtree(base)


# --- run/report start the program as `python script.py` itself --------------------------------

SHOW_PROG = """\
import inspect, os, subprocess, sys
import helper
print("outermost", inspect.stack()[-1].frame.f_code.co_filename, len(inspect.stack()))
print("main", type(__loader__).__name__, __spec__, sys.argv)
print("path", sys.path)
print("env", os.environ.get("PYTHONPATH"), [k for k in os.environ if "RUN_STATE" in k])
print("sitecustomize", getattr(sys.modules.get("sitecustomize"), "MARK", None))
child = "import sys; print(sorted(m for m in sys.modules if 'lazyhook' in m))"
print("child", subprocess.run([sys.executable, "-c", child], capture_output=True, text=True).stdout)
print("lazy", type(sys.modules["helper"]).__name__ != "module", file=sys.stderr)
raise SystemExit(helper.CODE)
"""


def _show(tmp_path: Path, sitecustomize: str | None) -> tuple[Path, dict[str, str]]:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "helper.py").write_text("CODE = 3\n")
    (tmp_path / "show.py").write_text(SHOW_PROG)
    path = [str(tmp_path / "lib"), str(ROOT)]
    if sitecustomize is not None:
        (tmp_path / "site").mkdir()
        (tmp_path / "site" / "sitecustomize.py").write_text(sitecustomize)
        path.insert(0, str(tmp_path / "site"))
    return tmp_path / "show.py", {"PYTHONPATH": os.pathsep.join(path)}


@pytest.mark.parametrize(
    "sitecustomize",
    [None, "print('own sitecustomize')\nMARK = 1\n", "raise ValueError('broken site')\n"],
)
@pytest.mark.parametrize("how", [["show.py"], ["-m", "show"]])
def test_run_starts_the_program_as_python_does(
    tmp_path: Path, sitecustomize: str | None, how: list[str]
) -> None:
    # Before: the program ran from a `python -c` bootstrap, so its outermost frame was
    # `<string>`, `__loader__` None, and `coverage run` through its console script took the
    # wrong sys.path.  Now Python itself starts the program; only lazyhook is installed, and
    # the environment's own sitecustomize still runs (or fails) as it would.
    _, env = _show(tmp_path, sitecustomize)

    def python(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=clean_env(**env),
        )

    plain, cli = python(*how), python("-c", "pass")  # the CLI's own start runs sitecustomize
    r = lazyhook("run", *how, cwd=tmp_path, **env)
    addr = re.compile(r" at 0x[0-9a-f]+")
    assert plain.returncode == 3, plain.stderr
    assert (r.returncode, addr.sub("", r.stdout)) == (3, addr.sub("", cli.stdout + plain.stdout))
    assert r.stderr == cli.stderr + plain.stderr.replace("lazy False", "lazy True"), r.stderr
    if how == ["show.py"]:
        assert "outermost " + str(tmp_path / "show.py") + " 1" in plain.stdout
    assert ("broken site" in plain.stderr) == (
        sitecustomize is not None and "raise" in sitecustomize
    )


def test_report_starts_the_program_as_python_does(tmp_path: Path) -> None:
    _, env = _show(tmp_path, None)
    plain = subprocess.run(
        [sys.executable, "show.py"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_env(**env),
    )
    r = lazyhook("report", "--json", "-o", "r.json", "show.py", cwd=tmp_path, **env)
    assert (r.returncode, r.stdout) == (3, plain.stdout), r.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert {m["module"]: m["resolved"] for m in report["modules"]}["helper"] is True


@pytest.mark.parametrize("flag", ["-E", "-S"])
def test_run_without_pythonpath_or_site_still_runs_lazily(tmp_path: Path, flag: str) -> None:
    # -E ignores PYTHONPATH and -S skips sitecustomize: `run` falls back to its bootstrap.
    (tmp_path / "prog.py").write_text(
        "import sys, json\nprint(type(json).__name__ != 'module', sys.flags.no_site)\n"
    )
    # (-E: the work tree cannot come from PYTHONPATH, so the CLI is started with it on sys.path.)
    cli = f"import sys; sys.path.insert(0, {str(ROOT)!r}); from lazyhook._cli import main; "
    r = subprocess.run(
        [sys.executable, flag, "-c", cli + "sys.exit(main(sys.argv[1:]))", "run", "prog.py"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_env(PYTHONPATH=str(ROOT)),
    )
    assert (r.returncode, r.stdout, r.stderr) == (0, f"True {int(flag == '-S')}\n", "")


@pytest.mark.parametrize("flag", [None, "-S"])
def test_run_takes_what_python_takes(tmp_path: Path, flag: str | None) -> None:
    # A directory or zip with __main__.py, and a compiled script: `run` refused the first
    # ("no such file") and failed on the others ("source code string cannot contain null
    # bytes"), where `python` runs all three.  (-S: the bootstrap's own way.)
    import py_compile
    import zipapp

    app = tmp_path / "app"
    app.mkdir()
    (app / "__main__.py").write_text(
        "import sys, json\nprint(sys.argv, json.dumps(1), sys.path[0])\n"
    )
    zipapp.create_archive(app, tmp_path / "app.pyz")
    (tmp_path / "prog.py").write_text(
        "import sys\nprint('compiled', sys.argv[1:], type(__loader__).__name__)\n"
    )
    py_compile.compile(str(tmp_path / "prog.py"), str(tmp_path / "prog.pyc"))
    flags = (flag,) if flag else ()
    cli = f"import sys; sys.path.insert(0, {str(ROOT)!r}); from lazyhook._cli import main; "
    for target in ("app", "app.pyz", "prog.pyc"):
        plain = subprocess.run(
            [sys.executable, *flags, target, "x"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=clean_env(),
        )
        argv = [sys.executable, *flags, "-c", cli + "sys.exit(main(sys.argv[1:]))", "run"]
        r = subprocess.run(
            [*argv, target, "x"], capture_output=True, text=True, cwd=tmp_path,
            env=clean_env(PYTHONPATH=str(ROOT)),
        )  # fmt: skip
        assert plain.returncode == 0 and "x" in plain.stdout, plain.stderr
        assert (r.returncode, r.stdout, r.stderr) == (0, plain.stdout, ""), (target, r.stderr)


def test_report_under_warn_default_encoding(tmp_path: Path) -> None:
    # `report` opened its files without an encoding: under -X warn_default_encoding with such
    # warnings made errors it exited 1 without a report.
    (tmp_path / "prog.py").write_text("import json\nprint('ok')\n")
    flags = ("-X", "warn_default_encoding", "-W", "error::EncodingWarning")
    r = lazyhook("report", "--json", "-o", "r.json", "prog.py", cwd=tmp_path, flags=flags)
    assert (r.returncode, r.stdout, r.stderr) == (0, "ok\n", ""), r.stderr
    assert "modules" in json.loads((tmp_path / "r.json").read_text())


def test_run_from_a_checkout_with_an_empty_pythonpath(tmp_path: Path) -> None:
    # `python -m lazyhook run` where lazyhook is importable only from the working directory
    # (a checkout, in a venv without it): the program could not import lazyhook (its
    # sitecustomize failed, PYTHONPATH and the private variable leaked).  And an empty
    # PYTHONPATH became "RUN_SITE:", whose empty entry put the working directory on the
    # program's sys.path.
    import shutil

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "v")], check=True)
    python = str(tmp_path / "v" / "bin" / "python")
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "lazyhook", checkout / "lazyhook")
    (checkout / "helper.py").write_text("print('helper from the working directory ran')\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "prog.py").write_text(
        "import os, sys, json\n"
        "try:\n    import helper\nexcept ImportError:\n    print('no helper')\n"
        "print(type(json).__name__, repr(os.environ.get('PYTHONPATH')),"
        " [k for k in os.environ if 'RUN_STATE' in k], [p for p in sys.path if 'run_site' in p])\n"
    )
    env = clean_env(PYTHONPATH="", LAZYHOOK_CACHE_DIR=str(tmp_path / "cache"))
    r = subprocess.run(
        [python, "-m", "lazyhook", "run", str(tmp_path / "app" / "prog.py")],
        capture_output=True, text=True, cwd=checkout, env=env,
    )  # fmt: skip
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    assert r.stdout == "no helper\n_LazyModule '' [] []\n", r.stdout


SETTINGS_PROG = """\
import sys
print([(f.settings.mode_all, f.settings.names) for f in sys.meta_path
       if type(f).__name__ == "LazyFinder"])
"""


@pytest.mark.parametrize(
    "mode, names, expected",
    [("ALL", None, "[(True, 'main')]"), (" All ", "ALL", "[(True, True)]"),
     (None, "None", "[(False, False)]"), ("Boundary", " Main", "[(False, 'main')]")],
)  # fmt: skip
def test_run_options_take_a_word_in_any_case_as_install_and_the_variables_do(
    tmp_path: Path, mode: str | None, names: str | None, expected: str
) -> None:
    # `run --mode ALL` was a usage error where install(mode="ALL") and LAZYHOOK_MODE=ALL were
    # `all`; `--names ALL` (and LAZYHOOK_NAMES, names=) meant a package called ALL.
    (tmp_path / "prog.py").write_text(SETTINGS_PROG)
    options = [*(["--mode", mode] if mode else []), *(["--names", names] if names else [])]
    r = lazyhook("run", *options, "prog.py", cwd=tmp_path)
    assert (r.returncode, r.stdout, r.stderr) == (0, expected + "\n", ""), r.stderr
    variables = {"LAZYHOOK_MODE": mode or "", "LAZYHOOK_NAMES": names or ""}
    r = lazyhook("run", "prog.py", cwd=tmp_path, **variables)
    assert (r.returncode, r.stdout, r.stderr) == (0, expected + "\n", ""), r.stderr
    code = f"import lazyhook\nlazyhook.install(mode={mode!r}, names={names!r})\n" + SETTINGS_PROG
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=clean_env(PYTHONPATH=str(ROOT)))  # fmt: skip
    assert (r.returncode, r.stdout, r.stderr) == (0, expected + "\n", ""), r.stderr


def test_run_options_win_over_an_install_in_sitecustomize(tmp_path: Path) -> None:
    # The environment's own sitecustomize ran after run's install(): its install(mode="all")
    # overrode `run --mode boundary` (the -c bootstrap had installed after it).
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(
        "import lazyhook\nlazyhook.install(mode='all')\n"
    )
    (tmp_path / "prog.py").write_text(
        "import sys\n"
        "print([f.settings.mode_all for f in sys.meta_path if type(f).__name__ == 'LazyFinder'])\n"
    )
    path = os.pathsep.join([str(tmp_path / "site"), str(ROOT)])
    r = lazyhook("run", "--mode", "boundary", "prog.py", cwd=tmp_path, PYTHONPATH=path)
    assert (r.returncode, r.stdout, r.stderr) == (0, "[False]\n", ""), r.stderr


OUTPUT_COMMANDS = [
    ["status"], ["cache", "info"], ["cache", "verify"], ["cache", "warm", "wm"],
    ["report", "prog.py"], ["report", "--json", "prog.py"], ["--help"], ["status", "--help"],
    ["cache", "warm", "--help"],
]  # fmt: skip


def _output_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    (tmp_path / "wm.py").write_text("A = 1\n")
    (tmp_path / "prog.py").write_text("import json\n")
    path = os.pathsep.join([str(tmp_path), str(ROOT)])
    return clean_env(PYTHONPATH=path, LAZYHOOK_CACHE_DIR=str(tmp_path / "cache"), **extra)


@pytest.mark.parametrize("command", OUTPUT_COMMANDS)
def test_a_reader_that_stops_early_ends_it_quietly_as_cat_does(
    tmp_path: Path, command: list[str]
) -> None:
    # ``lazyhook status | head -1``: a BrokenPipeError traceback on stderr (a hunt found it);
    # then exit 1 for some commands, a traceback for `cache warm`, 0 for --help.  Now every
    # command ends as cat does, killed by SIGPIPE (the shell's 141), and says nothing.
    # The pipe's reading end is closed before lazyhook writes, so every write fails.
    import signal

    proc = subprocess.Popen(
        [sys.executable, "-m", "lazyhook", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=str(tmp_path),
        env=_output_env(tmp_path),
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == -signal.SIGPIPE and err == b"", err.decode()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("unbuffered", ["", "1"])
def test_a_full_disk_on_stdout_is_one_line_and_exit_1(tmp_path: Path, unbuffered: str) -> None:
    # ``lazyhook status > /dev/full``: an OSError traceback (ENOSPC); `--help` exited 0, silent
    # (argparse swallows the error).  A write fails at the print (unbuffered) or at the flush.
    env = _output_env(tmp_path, PYTHONUNBUFFERED=unbuffered)
    for command in OUTPUT_COMMANDS + [["report", "-o", "/dev/full", "prog.py"]]:
        with open("/dev/full", "w") as full:
            r = subprocess.run(
                [sys.executable, "-m", "lazyhook", *command],
                stdout=full, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env,
            )  # fmt: skip
        where = "/dev/full" if "-o" in command else "stdout"
        assert (r.returncode, r.stderr) == (
            1, f"lazyhook: cannot write to {where}: No space left on device\n"
        ), command  # fmt: skip


def test_a_closed_stdout_gets_no_traceback(tmp_path: Path) -> None:
    # ``lazyhook cache info >&-``: sys.stdout is None then; the flush meant for a closed pipe
    # raised AttributeError.
    environ = clean_env(PYTHONPATH=str(ROOT), LAZYHOOK_CACHE_DIR=str(tmp_path / "cache"))
    r = subprocess.run(
        [sys.executable, "-m", "lazyhook", "cache", "info"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=str(tmp_path),
        env=environ,
        preexec_fn=lambda: os.close(1),
    )
    assert r.returncode == 0 and r.stderr == b"", r.stderr.decode()
