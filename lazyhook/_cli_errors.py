"""How the command line fails: a usage mistake (one line on stderr, exit status 2), a refusal of
the environment (permissions, a full disk: one line, exit status 1), never a traceback."""

from __future__ import annotations

from lazyhook import _config

USAGE_ERROR = 2
FAILURE = 1


class CliError(Exception):
    """A user mistake: printed as one line, exit status 2."""


class EnvironmentFailure(Exception):
    """The environment refused what the command needs (no write access to site-packages, a
    full disk): printed as one line naming the file and the reason, exit status 1."""


def os_failure(doing: str, path: str, exc: OSError) -> EnvironmentFailure:
    """*exc* as one line: ``cannot write /x/_lazyhook.pth: Permission denied``."""
    return EnvironmentFailure(f"cannot {doing} {path}: {exc.strerror or exc}")


def patterns(values: list[str] | None) -> list[str]:
    try:
        return _config.pattern_list(values or [])
    except ValueError as exc:
        raise CliError(str(exc)) from None
