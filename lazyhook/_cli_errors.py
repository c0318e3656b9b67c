"""How the command line fails: a usage mistake (one line on stderr, exit status 2), a refusal of
the environment (permissions, a full disk: one line, exit status 1), a reader that stopped
early (quiet, killed by SIGPIPE as ``cat`` is), never a traceback."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any, TextIO, TypeVar

from lazyhook import _config

_T = TypeVar("_T")

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


class OutputFailure(EnvironmentFailure):
    """A write to stdout or to report's ``-o`` file failed (a full disk, an I/O error)."""

    def __init__(self, name: str, exc: OSError) -> None:
        super().__init__(f"cannot write to {name}: {exc.strerror or exc}")
        self.stdout = name == "stdout"


class Checked:
    """A text stream whose failed writes say which stream failed (``cannot write to stdout: No
    space left on device``), wherever they fail: at a ``print`` when unbuffered, at a flush
    when not.  A closed pipe stays a ``BrokenPipeError``: that is ``reader_gone``'s."""

    def __init__(self, stream: TextIO, name: str) -> None:
        self._stream, self._name = stream, name

    def write(self, text: str) -> int:
        return self._checked(self._stream.write, text)

    def flush(self) -> None:
        self._checked(self._stream.flush)

    def close(self) -> None:
        self._checked(self._stream.close)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._stream, attr)

    def _checked(self, func: Callable[..., _T], *args: Any) -> _T:
        try:
            return func(*args)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputFailure(self._name, exc) from None


def discard_stdout() -> None:
    """stdout goes nowhere from now on, so that the interpreter's flush at exit does not fail
    again on what could not be written (Python would print "Exception ignored" and exit 120)."""
    if sys.stdout is not None:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def reader_gone() -> int:
    """stdout's reader stopped early (``lazyhook status | head -1``): end quietly, killed by
    SIGPIPE as ``cat``, ``grep`` or ``git`` are (status 141 in the shell), whichever command
    was writing.  Whether a write meets the closed pipe at all depends on timing, as for them."""
    discard_stdout()
    sig = getattr(signal, "SIGPIPE", None)
    if sig is not None:
        signal.signal(sig, signal.SIG_DFL)  # Python ignores SIGPIPE from start-up
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {sig})
        os.kill(os.getpid(), sig)
    return 1  # no SIGPIPE (Windows): quiet, exit 1, as Python's documentation advises


def patterns(values: list[str] | None) -> list[str]:
    try:
        return _config.pattern_list(values or [])
    except ValueError as exc:
        raise CliError(str(exc)) from None
