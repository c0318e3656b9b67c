"""pytest plugin: ``pytest --lazyhook[=PATTERNS]`` (or ini ``lazyhook = PATTERNS``).

Registered through the ``pytest11`` entry point and inactive unless asked.  Installs lazyhook
before conftest files and test modules are imported, in the controller and — because
pytest-xdist workers load plugins and receive the same options — in every worker, all sharing
one name cache.  ``--lazyhook-names`` (ini ``lazyhook_names``) opts packages (e.g. the test
package) into lazy names, which by default are bound only in ``__main__``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lazyhook")
    group.addoption(
        "--lazyhook",
        nargs="?",
        const="*",
        default=None,
        metavar="PATTERNS",
        help="make imports lazy (comma-separated module patterns; default '*')",
    )
    group.addoption(
        "--lazyhook-names",
        default=None,
        metavar="NAMES",
        help="where lazy names may be bound: main, all, none or package patterns",
    )
    parser.addini("lazyhook", "module patterns to make lazy (activates lazyhook)", default="")
    parser.addini("lazyhook_names", "lazyhook names= setting", default="")


def _settings(config: pytest.Config) -> tuple[str | None, str | None]:
    patterns = config.getoption("lazyhook", None) or (config.getini("lazyhook") or None)
    names = config.getoption("lazyhook_names", None) or (config.getini("lazyhook_names") or None)
    return patterns, names


def _install(config: pytest.Config) -> None:
    patterns, names = _settings(config)
    if patterns is None:
        return
    import lazyhook

    lazyhook.install(include=str(patterns), names=names)


def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    _install(early_config)


def pytest_configure(config: pytest.Config) -> None:
    _install(config)  # idempotent; covers plugins loaded after the initial conftests


def pytest_report_header(config: pytest.Config) -> str | None:
    patterns, names = _settings(config)
    if patterns is None:
        return None
    return f"lazyhook: include={patterns} names={names or 'main'}"
