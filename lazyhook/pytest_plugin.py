"""pytest plugin: ``pytest --lazyhook`` (or ini ``lazyhook = true``).

Registered through the ``pytest11`` entry point and inactive unless asked.  Installs lazyhook
before conftest files and test modules are imported, in the controller and — because
pytest-xdist workers load plugins and receive the same options — in every worker, all sharing
one name cache.

``--lazyhook`` is a plain flag: with an optional value, ``pytest --lazyhook tests`` took
``tests`` as the pattern list (argparse cannot tell it from ``--lazyhook=tests``).  The
patterns have their own option, ``--lazyhook-include`` (ini ``lazyhook_include``), which
implies ``--lazyhook`` on the command line; in the ini file only ``lazyhook = true``
activates.  ``--lazyhook-names`` (ini ``lazyhook_names``) opts packages (e.g. the test
package) into lazy names, which by default are bound only in ``__main__``.

Collection: when it is over, every body it deferred runs before the first test, as eagerly
(``pytest_collection_finish``), unless ``--lazyhook-keep-pending`` (ini
``lazyhook_keep_pending = true``) leaves them to the tests that use them.

Coverage: a module imported while the tests run (with ``--lazyhook-keep-pending``, also one
a test module imports) but never used never runs under lazyhook, so coverage figures can
differ from an eager run.  When coverage is measuring (``coverage run``, or
pytest-cov's ``--cov``) while lazyhook is active (by this plugin or since start-up, e.g.
``lazyhook enable``), the plugin says so once, as a ``LazyhookWarning``;
``--lazyhook-coverage-ok`` (ini ``lazyhook_coverage_ok = true``) silences it.
"""

from __future__ import annotations

import sys
from functools import partial
from itertools import chain
from operator import methodcaller

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    import pytest

    from lazyhook._state import LazyState

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")

COVERAGE_MESSAGE = (
    "lazyhook: coverage is measuring while lazyhook is active: a module imported while the "
    "tests run (with --lazyhook-keep-pending, also one a test module imports) but never used "
    "is never executed, so coverage can differ from an eager run (measure coverage without "
    "--lazyhook, or with LAZYHOOK_DISABLE=1; --lazyhook-coverage-ok or ini "
    "lazyhook_coverage_ok = true silences this)"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lazyhook")
    group.addoption(
        "--lazyhook",
        action="store_true",
        default=False,
        help="make imports lazy with lazyhook (all modules unless --lazyhook-include)",
    )
    group.addoption(
        "--lazyhook-include",
        default=None,
        metavar="PATTERNS",
        help="comma-separated module patterns to make lazy (default '*'); implies --lazyhook",
    )
    group.addoption(
        "--lazyhook-names",
        default=None,
        metavar="NAMES",
        help="where lazy names may be bound: main, all, none or package patterns",
    )
    group.addoption(
        "--lazyhook-keep-pending",
        action="store_true",
        default=False,
        help="leave the bodies collection imported lazily pending into the tests that use them",
    )
    group.addoption(
        "--lazyhook-coverage-ok",
        action="store_true",
        default=False,
        help="do not warn that coverage differs when lazyhook is active",
    )
    parser.addini("lazyhook", "activate lazyhook: true or false", default="")
    parser.addini("lazyhook_include", "module patterns to make lazy (default '*')", default="")
    parser.addini("lazyhook_names", "lazyhook names= setting", default="")
    parser.addini("lazyhook_coverage_ok", "true: no warning under coverage", default="")
    parser.addini("lazyhook_keep_pending", "true: bodies stay pending into the tests", default="")


def _ini_flag(config: pytest.Config, name: str) -> bool:
    value = str(config.getini(name)).strip()
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    import pytest

    hint = "; module patterns go in lazyhook_include" if name == "lazyhook" else ""
    raise pytest.UsageError(f"ini option {name} = {value!r}: use true or false{hint}")


def _settings(config: pytest.Config) -> tuple[str | None, str | None]:
    """(include patterns, names) if lazyhook is to be active, else (None, None)."""
    include = config.getoption("lazyhook_include", None)
    if not (config.getoption("lazyhook", False) or include or _ini_flag(config, "lazyhook")):
        return None, None
    include = include or config.getini("lazyhook_include") or "*"
    names = config.getoption("lazyhook_names", None) or (config.getini("lazyhook_names") or None)
    return str(include), names


def _install(config: pytest.Config) -> None:
    patterns, names = _settings(config)
    if patterns is not None:
        import lazyhook

        try:
            lazyhook.install(include=patterns, names=names)
        except ValueError as exc:
            import pytest

            raise pytest.UsageError(f"lazyhook: {exc}") from None
    _warn_under_coverage(config)


def _warn_under_coverage(config: pytest.Config) -> None:
    """One warning if lazyhook is active here — by this plugin, or at start-up (``lazyhook
    enable``, a sitecustomize) — while coverage measures."""
    import lazyhook

    if not lazyhook.is_installed() or _xdist_worker(config):
        return  # nothing is lazy (LAZYHOOK_DISABLE); or: the controller warns for the run
    if _flag(config, "lazyhook_coverage_ok") or _ini_flag(config, "lazyhook_coverage_ok"):
        return
    if _coverage_measuring(config):
        from lazyhook import _warn

        _warn.warn_once("pytest-coverage", COVERAGE_MESSAGE, origin="<lazyhook pytest plugin>")


def _flag(config: pytest.Config, name: str) -> bool:
    """A command-line flag, also in pytest's early hook (``pytest_load_initial_conftests``),
    where only ``known_args_namespace`` holds the command line yet (lazyhook active since
    start-up warns there, as coverage starts measuring before it)."""
    early = getattr(config, "known_args_namespace", None)
    return bool(config.getoption(name, False) or getattr(early, name, False))


def _xdist_worker(config: pytest.Config) -> bool:
    import os

    return hasattr(config, "workerinput") or "PYTEST_XDIST_WORKER" in os.environ


def _coverage_measuring(config: pytest.Config) -> bool:
    """Is coverage.py measuring this process (``coverage run``), or will pytest-cov?"""
    if config.getoption("cov_source", None) and not config.getoption("no_cov", False):
        return True  # pytest-cov's --cov: it starts measuring after this hook, maybe
    module = sys.modules.get("coverage")
    if module is None:
        return False
    import lazyhook

    if lazyhook.is_lazy(module):
        return False  # imported, never run: it cannot be measuring anything
    current = getattr(getattr(module, "Coverage", None), "current", None)
    try:
        return callable(current) and current() is not None
    except Exception:  # noqa: BLE001 - an unknown coverage version: no warning, no failure
        return False


def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    _install(early_config)


def pytest_configure(config: pytest.Config) -> None:
    _install(config)  # idempotent; covers plugins loaded after the initial conftests


def _settles(config: pytest.Config) -> bool:
    """Do deferred bodies run during collection (as eagerly), not in the tests?"""
    if config.getoption("collectonly", False):
        return False  # no test runs: a body nothing uses never runs (``pytest --co`` stays light)
    keep = config.getoption("lazyhook_keep_pending", False)
    return not (keep or _ini_flag(config, "lazyhook_keep_pending"))


def _pending() -> set[LazyState]:
    from lazyhook import _finder

    if _finder.lazy_support() is None:
        return set()
    from lazyhook import _process

    return _process.pending_states()


def pytest_make_collect_report(collector: pytest.Collector) -> None:
    """A test module's collection runs the bodies its import deferred, inside it: eagerly its
    imports ran them there, so a body's error is that module's collection error, its
    ``pytest.skip(allow_module_level=True)``/``importorskip`` skips the module, and its output
    is the collection's.  Left pending, each ran inside the first test that used it, under
    that test's context (monkeypatch.setenv or mock.patch.dict(sys.modules) read at import, a
    warning recorded or made an error by the test, capsys's stream, freezegun's clock,
    pyfakefs's file system) and kept it for the whole session."""
    import pytest

    import lazyhook

    if not isinstance(collector, pytest.Module) or not _settles(collector.config):
        return
    before = _pending()
    if not (before or lazyhook.is_installed()):
        return  # only installed, not active: pytest's own collect, untouched

    def run_new_pending() -> "list[pytest.Item | pytest.Collector]":
        if before or _pending():
            from lazyhook import _process

            try:
                _process.run_new_pending(before, vars(collector.obj))
            except (ImportError, SyntaxError) as exc:
                raise _as_collect_error(collector, exc) from exc
        return []

    # No frame of lazyhook's may be on the stack while the module collects: pytest starts a
    # collection error's traceback at the first frame outside _pytest (a Python wrapper here
    # showed itself and pytest's own frames).  So the collect pytest calls is built in C: a
    # list of the module's own collect's items, then the pending bodies run.
    calls = _Calls(collector.collect, run_new_pending)
    collector.collect = partial(list, calls)  # type: ignore[method-assign]


def _as_collect_error(collector: pytest.Collector, exc: BaseException) -> BaseException:
    """A test module's ``ImportError`` or ``SyntaxError`` as pytest words it when the module's
    own import raises it (``_pytest.python.importtestmodule``, pytest 7-9): "ImportError while
    importing test module ...", then the short traceback from the test module's line on (a
    missing dependency is the commonest collection error)."""
    import pytest

    info = pytest.ExceptionInfo.from_exception(exc)
    info.traceback = info.traceback.cut(path=collector.path)  # from the test module's line
    if isinstance(exc, SyntaxError):
        return collector.CollectError(info.getrepr(style="short"))
    verbosity = getattr(collector.config, "get_verbosity", None)
    if (verbosity() if verbosity else collector.config.option.verbose) < 2:
        try:
            from _pytest._code.code import filter_traceback  # (pytest's own filter)

            info.traceback = info.traceback.filter(filter_traceback)
        except ImportError:
            pass
    shown = info.getrepr(style="short") if info.traceback else info.exconly()
    return collector.CollectError(
        f"ImportError while importing test module '{collector.path}'.\n"
        "Hint: make sure your test modules/packages have valid Python names.\n"
        f"Traceback:\n{shown}"
    )


class _Calls:
    """Iterating yields what each function returns, in turn; the calls are made by C code
    (``list`` draining the chain), after ``__iter__`` has returned: no frame of this file's."""

    __slots__ = ("functions",)

    def __init__(self, *functions: "Callable[[], Iterable[object]]") -> None:
        self.functions = functions

    def __iter__(self) -> "Iterator[object]":
        return chain.from_iterable(map(methodcaller("__call__"), self.functions))


def pytest_collection_finish(session: pytest.Session) -> None:
    """What is pending still when collection is over (a conftest's imports, a plugin's) runs
    before the first test; a failing body raises at its first use, as lazily ever.  What it
    prints is the collection's, not the first test's setup's."""
    if not _settles(session.config) or not _pending():
        return
    from lazyhook import _process

    _process.run_all_pending()
    capman = session.config.pluginmanager.getplugin("capturemanager")
    if capman is not None:
        capman.read_global_capture()  # eagerly printed while conftests were imported: dropped


def pytest_report_header(config: pytest.Config) -> str | None:
    patterns, names = _settings(config)
    if patterns is None:
        return None
    import lazyhook

    if not lazyhook.is_installed():
        return "lazyhook: requested but not installed (LAZYHOOK_DISABLE?): imports are eager"
    return f"lazyhook: include={patterns} names={names or 'main'}"
