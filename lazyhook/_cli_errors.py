"""How the command line fails: a usage mistake (one line on stderr, exit status 2), never a
traceback."""

from __future__ import annotations

from lazyhook import _config

USAGE_ERROR = 2


class CliError(Exception):
    """A user mistake: printed as one line, exit status 2."""


def patterns(values: list[str] | None) -> list[str]:
    try:
        return _config.pattern_list(values or [])
    except ValueError as exc:
        raise CliError(str(exc)) from None
