"""Environment values as users type them (issue 17, items 5 and 6), each in a fresh
interpreter: ``LAZYHOOK_DISABLE``'s true/false spellings, ``LAZYHOOK_MODE`` in any case, and a
bad value warning once, naming the variable, printed (never raised) under ``-W error``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import RUN, Sandbox

PROBE = """\
import lazyhook, sys
lazyhook.install()
lazyhook.install()  # a second call: still one warning per cause
import pkg
import pkg.other
use = lambda: pkg.other  # read: an import nothing reads stays eager (lazyhook/_reads.py)
print(f"installed={lazyhook.is_installed()}")
print(f"pkg_lazy={lazyhook.is_lazy(pkg)}")
"""


def write_pkg(sandbox: Sandbox) -> None:
    # pkg's body imports pkg.sub: boundary mode keeps that eager, mode "all" makes it lazy.
    sandbox.write(
        {
            "pkg/__init__.py": RUN + "import pkg.sub\nX = 1\nuse = lambda: pkg.sub\n",
            "pkg/sub.py": RUN + "S = 1\n",
            "pkg/other.py": RUN + "O = 1\n",
        }
    )


def warning_line(variable: str) -> str:
    return f"<environment variable {variable}>:0: LazyhookWarning: lazyhook: ignoring {variable}="


@pytest.mark.parametrize(
    ("value", "installed"),
    [("1", False), ("true", False), ("TRUE", False), ("yes", False), ("On", False),
     (" on ", False), ("0", True), ("false", True), ("No", True), ("OFF", True), ("", True)],
)  # fmt: skip
def test_disable_spellings(sandbox: Sandbox, value: str, installed: bool) -> None:
    write_pkg(sandbox)
    r = sandbox.run(PROBE, env=sandbox.env(LAZYHOOK_DISABLE=value))
    assert r.value("installed") == str(installed) and r.value("pkg_lazy") == str(installed)
    assert r.err == ""


@pytest.mark.parametrize("variable", ["LAZYHOOK_DISABLE", "LAZYHOOK_STRICT_STARTUP"])
def test_a_bad_flag_value_warns_once_naming_the_variable_and_is_ignored(
    sandbox: Sandbox, variable: str
) -> None:
    write_pkg(sandbox)
    r = sandbox.run(PROBE, env=sandbox.env(**{variable: "bogus"}))
    assert r.value("installed") == "True" and r.value("pkg_lazy") == "True"  # still enabled
    assert r.err.count("LazyhookWarning") == 1 and r.err.count("\n") == 1, r.err
    assert r.err.startswith(warning_line(variable) + "'bogus'"), r.err


MODE_PROBE = """\
import lazyhook, sys
lazyhook.install()
import pkg
pkg.X
print(f"sub_lazy={lazyhook.is_lazy(sys.modules['pkg.sub'])}")
"""


@pytest.mark.parametrize(
    ("value", "sub_lazy"),
    [("ALL", True), ("All", True), (" all ", True), ("BOUNDARY", False), ("boundary", False)],
)
def test_mode_is_case_insensitive(sandbox: Sandbox, value: str, sub_lazy: bool) -> None:
    write_pkg(sandbox)
    r = sandbox.run(MODE_PROBE, env=sandbox.env(LAZYHOOK_MODE=value))
    assert r.value("sub_lazy") == str(sub_lazy) and r.err == ""
    assert r.runs == (["pkg"] if sub_lazy else ["pkg", "pkg.sub"])


def test_a_bad_mode_warns_once_and_the_default_applies(sandbox: Sandbox) -> None:
    write_pkg(sandbox)
    r = sandbox.run(MODE_PROBE, env=sandbox.env(LAZYHOOK_MODE="sideways"))
    assert r.value("sub_lazy") == "False"  # boundary, the default
    assert r.err.count("LazyhookWarning") == 1 and r.err.count("\n") == 1, r.err
    assert r.err.startswith(warning_line("LAZYHOOK_MODE") + "'sideways'"), r.err


@pytest.mark.parametrize("how", ["-W error", "PYTHONWARNINGS=error"])
def test_under_w_error_bad_values_are_printed_and_the_program_runs(
    sandbox: Sandbox, how: str
) -> None:
    write_pkg(sandbox)
    script = sandbox.path / "prog.py"
    script.write_text(PROBE)
    env = sandbox.env(LAZYHOOK_DISABLE="perhaps", LAZYHOOK_MODE="sideways")
    flags = ["-W", "error"] if how == "-W error" else []
    if not flags:
        env["PYTHONWARNINGS"] = "error"
    r = subprocess.run(
        [sys.executable, *flags, str(script)], capture_output=True, text=True, env=env
    )
    assert r.returncode == 0 and "installed=True\npkg_lazy=True\n" in r.stdout, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 2 and "Traceback" not in r.stderr, r.stderr
    assert lines[0].startswith(warning_line("LAZYHOOK_DISABLE") + "'perhaps'")
    assert lines[1].startswith(warning_line("LAZYHOOK_MODE") + "'sideways'")


# --- The cache location per platform: only Linux runs here, the others are simulated --------


@pytest.mark.parametrize(
    ("platform", "env", "expected"),
    [
        ("linux", {"XDG_CACHE_HOME": "/xdg"}, "/xdg/lazyhook"),
        ("linux", {"XDG_CACHE_HOME": "relative"}, "~/.cache/lazyhook"),  # XDG: ignored
        ("linux", {}, "~/.cache/lazyhook"),
        ("darwin", {"XDG_CACHE_HOME": "/xdg"}, "~/Library/Caches/lazyhook"),
        ("win32", {"LOCALAPPDATA": "/appdata"}, "/appdata/lazyhook"),
    ],
)
def test_default_cache_dir_per_platform(
    monkeypatch: pytest.MonkeyPatch, platform: str, env: dict[str, str], expected: str
) -> None:
    from lazyhook import _config

    monkeypatch.setattr(sys, "platform", platform)
    for var in ("XDG_CACHE_HOME", "LOCALAPPDATA"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert _config.default_cache_dir() == os.path.expanduser(expected)


CACHE_PROBE = """\
import lazyhook
lazyhook.install()
print(lazyhook.name_cache().path)
"""


def test_a_cache_dir_variable_with_a_tilde_or_relative(sandbox: Sandbox) -> None:
    # A Dockerfile's ENV or a systemd unit does not expand ``~``: each program made a literal
    # ``./~/lzc/`` in its working directory; a relative value scattered one cache per working
    # directory, silently.  ``~`` is expanded; a relative value warns once and is ignored.
    home = sandbox.path / "home"
    home.mkdir()
    r = sandbox.run(CACHE_PROBE, env=sandbox.env(HOME=str(home), LAZYHOOK_CACHE_DIR="~/lzc"))
    assert r.out.startswith(str(home / "lzc") + os.sep) and r.err == "", r.out + r.err
    env = sandbox.env(HOME=str(home), LAZYHOOK_CACHE_DIR="lzc", XDG_CACHE_HOME="")
    r = sandbox.run(CACHE_PROBE, env=env)
    assert r.out.startswith(str(home / ".cache" / "lazyhook") + os.sep), r.out
    assert r.err.count("LazyhookWarning") == 1 and r.err.count("\n") == 1, r.err
    assert r.err.startswith(warning_line("LAZYHOOK_CACHE_DIR") + "'lzc': not an absolute path")


@pytest.mark.parametrize("argument", ["include=5", "exclude=[5]", "cache_dir=5", "names=5"])
def test_an_argument_of_the_wrong_type_is_a_value_error(sandbox: Sandbox, argument: str) -> None:
    # The README: "An invalid argument to install() raises ValueError"; some raised TypeError.
    code = f"import lazyhook\ntry:\n    lazyhook.install({argument})\nexcept ValueError as e:\n"
    r = sandbox.run(code + "    print('ValueError', e)\n")
    assert r.out.startswith("ValueError ") and r.err == "", r.out + r.err
