"""The pytest plugin in real pytest runs in a real venv (issue 17): ``--lazyhook`` is a plain
flag, the patterns have their own option, the ini spellings, and the warning under coverage.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from venv_support import Venv, shared_venv

COVERAGE_MESSAGE = "lazyhook: coverage is measuring while lazyhook is active: a module"


@pytest.fixture(scope="session")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    return shared_venv(tmp_path_factory)


# Each test module records whether its module-level imports were lazy when it was imported.
TEST_A = """\
import lazyhook
import moda, modb

LAZY = (lazyhook.is_lazy(moda), lazyhook.is_lazy(modb))

def test_active():
    assert lazyhook.is_installed()

def test_lazy():
    print("LAZY", LAZY)
    assert LAZY == EXPECTED
"""


def project(root: Path, expected: tuple[bool, bool]) -> Path:
    (root / "moda.py").write_text("A = 1\n")
    (root / "modb.py").write_text("B = 1\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_a.py").write_text(f"EXPECTED = {expected!r}\n{TEST_A}")
    # Outside tests/: collected only if `tests` is NOT taken as the directory to run.
    (root / "other").mkdir()
    (root / "other" / "test_other.py").write_text("def test_not_here():\n    assert False\n")
    return root


def pytest_in(venv: Venv, root: Path, *args: str, **env: str) -> tuple[int, str]:
    r = venv.run(
        "-m", "pytest", "-p", "no:cacheprovider", "-rA", *args, cwd=root, env=venv.env(**env),
        check=False,
    )  # fmt: skip
    return r.returncode, r.stdout + r.stderr


def test_lazyhook_flag_does_not_eat_the_test_path(venv: Venv, tmp_path: Path) -> None:
    root = project(tmp_path, (True, True))
    code, out = pytest_in(venv, root, "--lazyhook", "tests")
    assert code == 0 and "2 passed" in out, out
    assert "test_other" not in out  # `tests` was the path, not a pattern list
    assert "lazyhook: include=* names=main" in out  # the report header: every module


def test_include_option_and_ini(venv: Venv, tmp_path: Path) -> None:
    root = project(tmp_path, (True, False))
    code, out = pytest_in(venv, root, "--lazyhook-include=moda", "tests")
    assert code == 0 and "2 passed" in out, out  # implies --lazyhook
    assert "lazyhook: include=moda" in out
    (root / "pytest.ini").write_text("[pytest]\nlazyhook = true\nlazyhook_include = moda\n")
    code, out = pytest_in(venv, root, "tests")
    assert code == 0 and "2 passed" in out, out
    # Patterns alone in the ini file configure, they do not activate.
    (root / "pytest.ini").write_text("[pytest]\nlazyhook_include = moda\n")
    code, out = pytest_in(venv, root, "tests")
    assert code == 1 and "2 failed" in out, out
    code, out = pytest_in(venv, root, "--lazyhook", "tests")
    assert code == 0 and "2 passed" in out, out
    # The old `lazyhook = PATTERNS` spelling is refused, naming the new one.
    (root / "pytest.ini").write_text("[pytest]\nlazyhook = moda\n")
    code, out = pytest_in(venv, root, "tests")
    assert code == 4 and "ini option lazyhook = 'moda'" in out and "lazyhook_include" in out, out
    (root / "pytest.ini").write_text("[pytest]\nlazyhook = false\n")
    code, out = pytest_in(venv, root, "tests")
    assert code == 1 and "2 failed" in out and "lazyhook:" not in out, out


CALC_TEST = """\
import calc
import calc.extra  # imported, used only by code no test runs

def test_add():
    assert calc.add(1, 2) == 3

def helper_no_test_calls():
    return calc.extra.X
"""


def coverage_project(root: Path) -> Path:
    (root / "calc").mkdir()
    (root / "calc" / "__init__.py").write_text("def add(a, b):\n    return a + b\n")
    (root / "calc" / "extra.py").write_text("def unused():\n    return 1\n\nX = unused()\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_calc.py").write_text(CALC_TEST)
    return root


def extra_percent(venv: Venv, root: Path) -> float:
    venv.run("-m", "coverage", "json", "-q", "-o", "cov.json", cwd=root)
    files = json.loads((root / "cov.json").read_text())["files"]
    return float(files["calc/extra.py"]["summary"]["percent_covered"])


def test_warns_once_when_coverage_measures(venv: Venv, tmp_path: Path) -> None:
    root = coverage_project(tmp_path)
    cov = ["-m", "coverage", "run", "--source=calc", "-m", "pytest", "-p", "no:cacheprovider"]
    # Eager: calc.extra runs at its import.
    r = venv.run(*cov, "tests", cwd=root)
    assert "LazyhookWarning" not in r.stdout + r.stderr
    assert extra_percent(venv, root) == 100.0
    # Lazy: it runs when collection is over, as eagerly at its import; the plugin still
    # says once that coverage can differ (a module imported while the tests run).
    r = venv.run(*cov, "--lazyhook", "tests", cwd=root)
    out = r.stdout + r.stderr
    assert "1 passed" in out and out.count("LazyhookWarning") == 1, out
    assert " ".join(COVERAGE_MESSAGE.split()[:8]) in " ".join(out.split())
    assert extra_percent(venv, root) == 100.0
    # Kept pending into the tests, it never runs: coverage differs.
    r = venv.run(*cov, "--lazyhook", "--lazyhook-keep-pending", "tests", cwd=root)
    assert "1 passed" in r.stdout and "LazyhookWarning" in r.stdout + r.stderr, r.stdout
    assert extra_percent(venv, root) == 0.0
    # Under -W error it is printed, not raised: the run goes on.
    r = venv.run(*cov, "-W", "error", "--lazyhook", "tests", cwd=root)
    assert "1 passed" in r.stdout and "LazyhookWarning" in r.stdout + r.stderr, r.stdout
    # The documented switches silence it.
    r = venv.run(*cov, "--lazyhook", "--lazyhook-coverage-ok", "tests", cwd=root)
    assert "1 passed" in r.stdout and "LazyhookWarning" not in r.stdout + r.stderr
    (root / "pytest.ini").write_text("[pytest]\nlazyhook_coverage_ok = true\n")
    r = venv.run(*cov, "--lazyhook", "tests", cwd=root)
    assert "1 passed" in r.stdout and "LazyhookWarning" not in r.stdout + r.stderr
    (root / "pytest.ini").unlink()
    # No coverage, no warning.
    code, out = pytest_in(venv, root, "--lazyhook", "tests")
    assert code == 0 and "LazyhookWarning" not in out, out
    # Active since start-up (`lazyhook enable`), not through the plugin: the same warning.
    venv.run("-m", "lazyhook", "enable")
    try:
        r = venv.run(*cov, "tests", cwd=root)
        assert "1 passed" in r.stdout and (r.stdout + r.stderr).count("LazyhookWarning") == 1
        # Its switch on the command line silences it there too: pytest's early hook, where
        # the plugin first looks, had not parsed the command line into the options yet.
        r = venv.run(*cov, "--lazyhook-coverage-ok", "tests", cwd=root)
        assert "1 passed" in r.stdout and "LazyhookWarning" not in r.stdout + r.stderr
        r = venv.run(*cov, "tests", cwd=root, env=venv.env(LAZYHOOK_DISABLE="1"))
        assert "1 passed" in r.stdout and "LazyhookWarning" not in r.stdout + r.stderr
        assert extra_percent(venv, root) == 100.0
    finally:
        venv.run("-m", "lazyhook", "disable")


def test_warns_under_pytest_cov(venv: Venv, tmp_path: Path) -> None:
    root = coverage_project(tmp_path)
    code, out = pytest_in(venv, root, "--lazyhook", "--cov=calc", "tests")
    assert code == 0 and out.count("LazyhookWarning") == 1, out
    assert re.search(r"calc/extra.py +3 +0 +100%", out), out  # run when collection was over
    code, out = pytest_in(
        venv, root, "--lazyhook", "--lazyhook-keep-pending", "--cov=calc", "tests"
    )
    assert code == 0 and out.count("LazyhookWarning") == 1, out
    assert re.search(r"calc/extra.py +3 +3 +0%", out), out  # never executed
    code, out = pytest_in(venv, root, "--lazyhook", "--cov=calc", "-n", "2", "tests")
    assert code == 0 and out.count("LazyhookWarning") == 1, out  # not once per worker
    code, out = pytest_in(venv, root, "--lazyhook", "--cov=calc", "--no-cov", "tests")
    assert code == 0 and "LazyhookWarning" not in out, out


CONTEXT_TEST = """\
import warnings
import settings, legacy

def test_env_first(monkeypatch):
    monkeypatch.setenv("APP_DEBUG", "1")
    assert settings.DEBUG in (True, False)

def test_default():
    assert settings.DEBUG is False

def test_no_warning_here():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert legacy.f() == 1
"""


def test_bodies_collection_deferred_run_before_the_first_test(venv: Venv, tmp_path: Path) -> None:
    # Eagerly the test module's imports ran at collection.  Left pending, settings ran inside
    # the first test that used it, under its monkeypatch.setenv, and kept DEBUG = True for the
    # session (test_default failed); legacy's import warning was the test's, an error there.
    (tmp_path / "settings.py").write_text("import os\nDEBUG = os.environ.get('APP_DEBUG') == '1'\n")
    (tmp_path / "legacy.py").write_text(
        "import warnings\nwarnings.warn('legacy is deprecated', DeprecationWarning, stacklevel=2)\n"
        "def f():\n    return 1\n"
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_ctx.py").write_text(CONTEXT_TEST)
    args = ("-p", "no:randomly", "tests")
    code, eager = pytest_in(venv, tmp_path, *args)
    assert code == 0 and "3 passed, 1 warning" in eager, eager
    assert "tests/test_ctx.py:2: DeprecationWarning: legacy is deprecated" in eager
    code, out = pytest_in(venv, tmp_path, "--lazyhook", *args)
    assert code == 0 and "3 passed, 1 warning" in out, out
    assert "tests/test_ctx.py:2: DeprecationWarning: legacy is deprecated" in out
    # Kept pending on request: the bodies run inside the tests, under their context.
    code, out = pytest_in(venv, tmp_path, "--lazyhook", "--lazyhook-keep-pending", *args)
    assert code == 1 and "FAILED tests/test_ctx.py::test_default" in out, out


def test_a_helper_module_failing_or_skipping_at_import_is_its_importers(
    venv: Venv, tmp_path: Path
) -> None:
    # Run when collection was over, a body's pytest.importorskip (a BaseException) was an
    # INTERNALERROR, its error no collection error (the tests ran), and what it printed was
    # the first test's "Captured stdout setup".  Each test module's collection now runs the
    # bodies its import deferred, as eagerly its import did.
    (tmp_path / "tests").mkdir()
    files = {
        "_opt.py": "import pytest\nnp = pytest.importorskip('no_such_module_xyz')\n",
        "_noisy.py": "print('noisy: loaded')\nVALUE = 1\n",
        "test_opt.py": "import _opt\n\ndef test_opt():\n    assert _opt.np\n",
        "test_noisy.py": "import _noisy\n\ndef test_noisy():\n    assert _noisy.VALUE == 1\n",
    }
    for name, text in files.items():
        (tmp_path / "tests" / name).write_text(text)
    args = ("-p", "no:randomly", "tests")  # pytest_in asks -rA: passes show their output
    outcomes = []
    for lazy in ((), ("--lazyhook",)):
        code, out = pytest_in(venv, tmp_path, *lazy, *args)
        assert "INTERNALERROR" not in out and "Captured stdout setup" not in out, out
        assert "SKIPPED [1] tests/_opt.py:2: could not import 'no_such_module_xyz'" in out, out
        outcomes.append((code, re.findall(r"\d+ (?:passed|skipped|failed|errors?)", out)))
    assert outcomes[0] == outcomes[1] and outcomes[0][0] == 0, outcomes  # eager = lazy
    (tmp_path / "tests" / "_broken.py").write_text(
        "with open(__file__ + '.runs', 'a') as f:\n    f.write('run\\n')\n"
        "raise RuntimeError('config missing')\n"
    )
    runs = tmp_path / "tests" / "_broken.py.runs"
    for name in ("test_broken.py", "test_broken2.py"):  # each import runs it again, eagerly
        (tmp_path / "tests" / name).write_text(
            "import _broken\n\ndef test_uses():\n    assert _broken\n"
        )
    for lazy in ((), ("--lazyhook",)):
        runs.unlink(missing_ok=True)
        code, out = pytest_in(venv, tmp_path, *lazy, "--continue-on-collection-errors", *args)
        assert "ERROR tests/test_broken.py - RuntimeError: config missing" in out, out
        assert "ERROR tests/test_broken2.py - RuntimeError: config missing" in out, out
        assert code == 1 and "lazyhook:" not in out.split("short test summary")[-1], out
        # Once per importer, as eagerly: the failed module left sys.modules (pytest's
        # inspect.getmodule ran it again while formatting the error; the end of collection too).
        assert runs.read_text() == "run\nrun\n", (lazy, runs.read_text())
    # One that fails only at its first run: the second importer runs it again, and then no
    # state of the failed run is left pending for the end of collection to run a third time.
    (tmp_path / "tests" / "_broken.py").write_text(
        "with open(__file__ + '.runs', 'a') as f:\n    f.write('run\\n')\n"
        "import os\nif not os.path.exists(__file__ + '.ok'):\n"
        "    open(__file__ + '.ok', 'w').close()\n    raise RuntimeError('config missing')\n"
    )
    for lazy in ((), ("--lazyhook",)):
        runs.unlink(missing_ok=True)
        (tmp_path / "tests" / "_broken.py.ok").unlink(missing_ok=True)
        code, out = pytest_in(venv, tmp_path, *lazy, "--continue-on-collection-errors", *args)
        assert code == 1 and "1 error" in out, out
        assert runs.read_text() == "run\nrun\n", (lazy, runs.read_text())


def test_a_conftests_import_warning_is_in_the_summary(venv: Venv, tmp_path: Path) -> None:
    # The body a conftest's import deferred ran with the warning recorder of the conftest's
    # loading put back, long read: its import warning was in no summary.
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "conftest.py").write_text(
        "import pytest\nimport oldmod\n\n@pytest.fixture\ndef name():\n    return oldmod.NAME\n"
    )
    (tmp_path / "tests" / "oldmod.py").write_text(
        "import warnings\nwarnings.warn('oldmod is deprecated', DeprecationWarning, stacklevel=2)\n"
        "NAME = 'oldmod'\n"
    )
    (tmp_path / "tests" / "test_v.py").write_text("def test_v(name):\n    assert name\n")
    code, out = pytest_in(venv, tmp_path, "-p", "no:randomly", "tests")
    assert code == 0 and "1 passed, 1 warning" in out, out
    venv.run("-m", "lazyhook", "enable")  # lazy from start-up: the conftest's imports too
    try:
        code, out = pytest_in(venv, tmp_path, "-p", "no:randomly", "tests")
    finally:
        venv.run("-m", "lazyhook", "disable")
    assert code == 0 and "1 passed, 1 warning" in out, out
    assert "DeprecationWarning: oldmod is deprecated" in out, out


def test_collection_errors_read_as_without_lazyhook(venv: Venv, tmp_path: Path) -> None:
    # The plugin wrapped every test module's collect() in a Python function, even where
    # lazyhook was only installed: pytest starts a collection error's traceback at the first
    # frame outside _pytest, so it began at lazyhook's wrapper and showed pytest's own frames
    # (click's suite under filterwarnings=error on pytest 9: 8 lines more).  Now no frame of
    # lazyhook's is on the stack while pytest collects, active or not.
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "conftest.py").write_text(
        "def pytest_generate_tests(metafunc):\n    raise ValueError('bad parameters')\n"
    )
    (tmp_path / "tests" / "test_a.py").write_text("import json\n\ndef test_a():\n    pass\n")
    outs = {}
    for how in (("-p", "no:lazyhook"), (), ("--lazyhook",)):
        code, out = pytest_in(venv, tmp_path, "-q", *how, "tests")
        outs[how] = code, re.sub(r" in [\d.]+s", "", out)
    plain = outs[("-p", "no:lazyhook")]
    assert plain[0] == 2 and "ValueError: bad parameters" in plain[1], plain
    assert outs[()] == plain and outs[("--lazyhook",)] == plain, outs


def _error_section(out: str) -> str:
    section = out.split("ERROR collecting", 1)[1].split("short test summary", 1)[0]
    summary = [line for line in out.splitlines() if line.startswith("ERROR ")]
    return section + "\n".join(summary)


COLLECTED = {
    "calc/__init__.py": "",
    "calc/broken.py": "X = 1\n\nraise RuntimeError('broken here')\n",
    "calc/old.py": "import warnings\n"
    "warnings.warn('old is deprecated', DeprecationWarning, stacklevel=2)\n",
    # Chained: the cause and the context are the body's own.
    "calc/chained.py": "try:\n    {}['k']\nexcept KeyError as e:\n"
    "    raise ValueError('boom') from e\n",
    # A missing dependency (the commonest collection error) and a syntax error: pytest words
    # them its own way ("ImportError while importing test module ...").
    "calc/needs.py": "import not_installed_anywhere\n",
    "calc/typo.py": "def f(:\n    pass\n",
    # Imported by a module the test module imports (both lazy): eagerly the traceback runs
    # through the test module's line and the helper's.
    "helper.py": "import libx\n\ndef f():\n    return libx.X\n",
    "libx.py": "X = 1\nraise RuntimeError('libx broken')\n",
    "tests/test_b.py": "import os\nimport calc.broken\n\ndef test_a():\n    calc.broken.X\n",
    "tests/test_o.py": "import calc.old\n\ndef test_o():\n    calc.old\n",
    "tests/test_c.py": "import calc.chained\n\ndef test_c():\n    calc.chained\n",
    "tests/test_n.py": "import calc.needs\n\ndef test_n():\n    calc.needs\n",
    "tests/test_t.py": "import calc.typo\n\ndef test_t():\n    calc.typo\n",
    "tests/test_h.py": "import helper\n\ndef test_h():\n    helper.f()\n",
}


@pytest.mark.parametrize(
    "args",
    [
        ["tests/test_b.py"],
        ["-W", "error::DeprecationWarning", "tests/test_o.py"],
        ["tests/test_c.py"],
        ["tests/test_n.py"],
        ["tests/test_t.py"],
        ["tests/test_h.py"],
    ],
)
def test_a_collection_error_shows_the_test_modules_import_as_eagerly(
    venv: Venv, tmp_path: Path, args: list[str]
) -> None:
    # A body the test module's import deferred fails when its collection ends: the error's
    # traceback began in lazyhook's plugin and went through ~10 frames of lazyhook's and
    # importlib's, and the test module's line was not in it.  Eagerly: that line, then the
    # module's.  The same for a body's warning made an error by -W error, a chained error,
    # a missing dependency, a syntax error, and a body a lazily imported helper imported.
    for rel, text in COLLECTED.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    for style in ("short", "long", "native"):
        (code, eager), (lazy_code, lazy) = (
            pytest_in(venv, tmp_path, f"--tb={style}", *args, LAZYHOOK_DISABLE="1"),
            pytest_in(venv, tmp_path, f"--tb={style}", "--lazyhook", *args),
        )
        assert code == lazy_code == 2, eager + lazy
        eager, lazy = _from_test_line(eager, args[-1]), _from_test_line(lazy, args[-1])
        assert lazy == eager, f"{style}\n--- eager\n{eager}\n--- lazy\n{lazy}"


def _from_test_line(out: str, rel: str) -> str:
    """The error's section and summary, its traceback from the test module's own line on:
    frames before it are pytest's and importlib's machinery (a whole stack for --tb=native
    and for the ImportError and SyntaxError pytest words itself), which a body run when the
    collection ends has no part in (the plugin's own three with --tb=native)."""
    lines = _error_section(out).splitlines()
    head = next((i for i, line in enumerate(lines) if line == "Traceback:"), 0) + 1
    at = [f"{rel}:", f'{rel}", line']
    start = next((i for i, line in enumerate(lines) if any(a in line for a in at)), head)
    return "\n".join(lines[:head] + lines[max(start, head) :])
