"""The command line: ``python -m lazyhook`` / ``lazyhook``: the parser, ``run``, ``report``,
``cache`` (``enable``/``disable``/``status`` in ``_cli_activation``, report's table and
``--compare`` in ``_cli_report``, how it fails in ``_cli_errors``).

Off the start-up path, so ``argparse``/``json`` are fine here.  User mistakes get a one-line
error and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from typing import Any, NoReturn, TextIO, cast

from lazyhook import _cli_activation, _cli_report, _config, _startup
from lazyhook._cache import NameCache
from lazyhook._cli_errors import (
    FAILURE,
    USAGE_ERROR,
    Checked,
    CliError,
    EnvironmentFailure,
    OutputFailure,
    discard_stdout,
    patterns,
    reader_gone,
)

COMMANDS = "enable, disable, status, run, report, cache (see lazyhook --help)"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise CliError(message)

    def _print_message(self, message: str, file: Any = None) -> None:
        # argparse swallows a failed write: `lazyhook --help > /dev/full` exited 0, silent.
        if message:
            (file or sys.stderr).write(message)


def _bootstrap(ns: argparse.Namespace, report_path: str | None) -> str:
    kw = {
        "include": patterns(ns.include) or None,
        "exclude": patterns(ns.exclude) or None,
        "mode": ns.mode,
        "names": _config.parse_names(ns.names) if ns.names is not None else None,
    }
    lines = ["import lazyhook, lazyhook._startup as _s"]
    if report_path:
        lines.append(f"_s.write_report_at_exit({report_path!r})")
    lines.append(f"lazyhook.install(**{kw!r})")
    lines.append(f"_s.run_main({ns.kind!r}, {ns.target!r}, {ns.args!r})")
    return "\n".join(lines)


def _split_target(ns: argparse.Namespace) -> None:
    rest: list[str] = ns.rest
    if ns.module:
        ns.kind, ns.target, ns.args = "module", ns.module, rest
    elif not rest:
        raise CliError("missing program: give script.py or -m module")
    else:
        ns.kind, ns.target, ns.args = "script", rest[0], rest[1:]
        if not os.path.exists(ns.target):  # a file, or a directory or zip with __main__.py
            raise CliError(f"can't open file {ns.target!r}: no such file")
    if ns.mode is not None:
        try:
            ns.mode = _config.parse_mode(ns.mode)
        except ValueError:
            raise CliError(f"invalid --mode {ns.mode!r}: use boundary or all") from None
    if ns.names is not None:
        try:
            _config.parse_names(ns.names)
        except ValueError as exc:
            raise CliError(str(exc)) from None


def _program(ns: argparse.Namespace, report_path: str) -> tuple[list[str], dict[str, str]]:
    """The program's command line and environment: ``python [this interpreter's options]
    script.py args`` itself, lazyhook installed by ``_run_site/sitecustomize.py`` (see
    ``_startup.start_run``); a ``-c`` bootstrap where ``PYTHONPATH`` or ``sitecustomize`` is
    not read."""
    argv = [sys.executable, *_interpreter_flags()]
    if sys.flags.ignore_environment or sys.flags.no_site:  # -E, -I, -S
        return [*argv, "-c", _bootstrap(ns, report_path or None)], dict(os.environ)
    target = ["-m", ns.target] if ns.kind == "module" else [ns.target]
    include, exclude = patterns(ns.include), patterns(ns.exclude)
    env = _startup.run_environ(dict(os.environ), report_path, include, exclude, ns.mode, ns.names)
    return [*argv, *target, *ns.args], env


def cmd_run(ns: argparse.Namespace) -> int:
    _split_target(ns)
    argv, env = _program(ns, "")
    sys.stdout.flush()
    sys.stderr.flush()
    # exec: the program gets this process (pid, signals, stdin, exit status) as with `python x`.
    os.execve(sys.executable, argv, env)
    return 0  # not reached


def _interpreter_flags() -> list[str]:
    """This interpreter's -W, -X, -O, -B... options, for the program's interpreter: under
    ``python -W error -m lazyhook run x.py`` the program runs as under ``python -W error x.py``."""
    flags: list[str] = list(subprocess._args_from_interpreter_flags())  # type: ignore[attr-defined]
    # That helper forwards only the -X options a test's child needs (dev, importtime...):
    # lazy_imports (PEP 810's switch), int_max_str_digits, pycache_prefix... went missing.
    given = {flags[i + 1].partition("=")[0] for i, f in enumerate(flags[:-1]) if f == "-X"}
    for key, value in sys._xoptions.items():
        if key not in given:
            flags += ["-X", key if value is True else f"{key}={value}"]
    return flags


def cmd_report(ns: argparse.Namespace) -> int:
    _split_target(ns)
    try:
        # Opened (and checked) before the program runs, which may take long.
        file = open(ns.output, "w", encoding="utf-8") if ns.output else None
    except OSError as exc:
        raise CliError(f"cannot write the report to {ns.output!r}: {exc.strerror}") from None
    out = cast(TextIO, Checked(file, ns.output)) if file else sys.stdout
    try:
        fd, path = tempfile.mkstemp(prefix="lazyhook-report-", suffix=".json")
    except OSError as exc:  # no usable temporary directory (TMPDIR full or read-only)
        raise EnvironmentFailure(f"cannot create the report's temporary file: {exc}") from None
    os.close(fd)
    try:
        argv, env = _program(ns, path)
        proc = subprocess.run(argv, env=env)
        try:
            with open(path, encoding="utf-8") as f:
                data: dict[str, Any] = json.load(f)
        except (OSError, ValueError):
            raise CliError("the program exited without a report (os._exit or a crash?)") from None
    finally:
        os.remove(path)
    if ns.compare:
        data["avoided_seconds"] = _cli_report.avoided(_bootstrap(ns, None), data)
    try:
        if ns.json:
            print(json.dumps(data, indent=2), file=out)
        else:
            _cli_report.print_table(data, out)
    finally:
        if out is not sys.stdout:
            out.close()
    return proc.returncode


def cmd_cache(ns: argparse.Namespace) -> int:
    import lazyhook

    cache = lazyhook.name_cache(ns.cache_dir)
    action = ns.action
    if action == "info":
        path = cache.path
        size = os.path.getsize(path) if os.path.exists(path) else 0
        names = cache.entries()
        valid = sum(1 for n in names if cache.valid(n))
        print(f"path: {path}\nstatus: {cache.store.status()}\nsize: {size} bytes")
        print(f"entries: {len(names)} ({valid} valid now)")
        return 0
    if action == "clear":
        ok = cache.clear()
        print("cache cleared" if ok else "could not clear the cache")
        return 0 if ok else 1
    if action == "verify":
        status = cache.store.status()
        if status not in ("ok", "missing"):
            print(f"cache file {cache.path} is {status}")
            return 1
        stale = [n for n in cache.entries() if not cache.valid(n)]
        for n in stale:
            print(f"stale: {n}")
        print(f"{len(cache.entries()) - len(stale)} valid, {len(stale)} stale")
        return 1 if stale else 0  # as `pip check`: a problem found is a failure
    return cmd_warm(ns, cache)


def cmd_warm(ns: argparse.Namespace, cache: NameCache) -> int:
    mods = patterns(ns.modules)
    if not mods:
        raise CliError("cache warm needs at least one module name")
    if "__main__" in mods:  # it would record _warm itself: stale at once, and never consulted
        raise CliError("cache warm __main__: __main__ is whichever program runs: never lazy")
    shared = "shared" if ns.shared else "private"
    status, never_lazy = _run_warm([cache.cache_dir, shared], mods)
    entries = set(NameCache(cache.cache_dir).entries())  # a fresh read
    missing = [m for m in mods if m not in entries and m not in never_lazy]
    recorded = len([m for m in mods if m in entries])
    skipped = f" ({len(never_lazy)} never lazy: nothing to record)" if never_lazy else ""
    print(f"cache: {recorded}/{len(mods)} modules recorded in {cache.path}{skipped}")
    if missing:
        print(f"not recorded: {', '.join(missing)}")
    # A module that is never lazy has no entry to warm: not a failure (said on stderr).
    return 1 if status or missing else 0


def _run_warm(args: list[str], mods: list[str]) -> tuple[int, set[str]]:
    """``_warm`` run in a fresh interpreter: its exit status, and the modules it found never
    lazy (in a file: its stdout and stderr are the modules' own and the terminal's)."""
    try:
        fd, path = tempfile.mkstemp(prefix="lazyhook-warm-", suffix=".txt")
    except OSError as exc:  # no usable temporary directory (TMPDIR full or read-only)
        raise EnvironmentFailure(f"cannot create a temporary file: {exc}") from None
    try:
        os.close(fd)
        argv = [sys.executable, "-m", "lazyhook._warm", *args, path, *mods]
        status = subprocess.run(argv).returncode
        with open(path, encoding="utf-8") as f:
            return status, set(f.read().split())
    finally:
        os.remove(path)


def _add_program_options(sp: argparse.ArgumentParser, report: bool) -> None:
    sp.add_argument("--mode", help="boundary (default) or all: which imports are lazy")
    sp.add_argument(
        "--names", help="where from-imports bind lazy names: main (default), all, none, patterns"
    )
    if report:
        sp.add_argument("--json", action="store_true", help="the report as JSON")
        sp.add_argument("--compare", action="store_true", help="also time a cold eager run")
        sp.add_argument(
            "-o",
            "--output",
            metavar="FILE",
            help="write the report to FILE, not after the program's own output on stdout",
        )
    sp.add_argument(
        "-m", dest="module", metavar="MODULE", help="run a module as __main__ (as python -m)"
    )
    sp.add_argument(
        "rest",
        nargs=argparse.REMAINDER,
        metavar="script.py [args]",
        help="the program and its arguments: everything from here on is the program's",
    )


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="lazyhook", description="Lazy imports from interpreter start-up.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def pats(sp: argparse.ArgumentParser) -> None:
        help = "module patterns (dotted names or '*'; comma-separated or repeated)"
        sp.add_argument("--include", action="append", metavar="PATTERN", help=f"lazy {help}")
        sp.add_argument("--exclude", action="append", metavar="PATTERN", help=f"eager {help}")

    def cache_dir(sp: argparse.ArgumentParser, default: object = None) -> None:
        sp.add_argument("--cache-dir", default=default, help="the name cache's directory")

    sp = sub.add_parser("enable", help="activate lazyhook at every interpreter start (.pth)")
    pats(sp)
    sp.add_argument("--user", action="store_true", help="use the user site, not this environment")
    sp.set_defaults(func=_cli_activation.cmd_enable)
    sp = sub.add_parser("disable", help="remove the activation .pth enable wrote")
    sp.add_argument("--user", action="store_true", help="the user site's, not this environment's")
    sp.set_defaults(func=_cli_activation.cmd_disable)
    sp = sub.add_parser("status", help="is lazyhook enabled, where, with which patterns")
    cache_dir(sp)
    sp.set_defaults(func=_cli_activation.cmd_status)
    for name, func, text in (
        ("run", cmd_run, "run a program with lazyhook installed"),
        ("report", cmd_report, "run a program and report what lazyhook deferred"),
    ):
        sp = sub.add_parser(name, help=text)
        pats(sp)
        _add_program_options(sp, name == "report")
        sp.set_defaults(func=func)
    sp = sub.add_parser("cache", help="inspect or manage the name cache")
    cache_dir(sp)
    csub = sp.add_subparsers(dest="action", required=True, parser_class=_Parser)
    actions = {
        "info": "where the cache is, its size and entries",
        "clear": "delete this environment's cache file",
        "verify": "check every entry against its sources (exit 1 if any is stale)",
        "warm": "execute modules once and record their names",
    }
    for action, text in actions.items():
        # Also after the action (`cache verify --cache-dir X`); SUPPRESS keeps the value
        # given before it (`cache --cache-dir X verify`).
        cache_dir(csub.add_parser(action, help=text), argparse.SUPPRESS)
    w = csub.choices["warm"]
    w.add_argument("modules", nargs="+", metavar="MODULE")
    w.add_argument("--shared", action="store_true", help="readable by all users")
    sp.set_defaults(func=cmd_cache)
    return p


_VALUE_OPTIONS = frozenset({"--include", "--exclude", "--mode", "--names", "-o", "--output"})


def _split_program(argv: list[str]) -> tuple[list[str], list[str]]:
    """For ``run``/``report``: lazyhook's own options, then the program and its arguments.

    Everything from the script (or ``-m MODULE``) on belongs to the program, even
    ``--help``, as with ``python script.py --help``.
    """
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg == "-m":
            return argv[: i + 2], argv[i + 2 :]
        if arg == "--":
            return argv[:i], argv[i + 1 :]
        if not arg.startswith("-"):
            return argv[:i], argv[i:]
        i += 2 if arg in _VALUE_OPTIONS else 1
    return argv, []


def console_main() -> int:
    """The ``lazyhook`` command: the same as ``python -m lazyhook``.

    A console script's ``sys.path[0]`` is its own directory (the environment's ``bin/``),
    where ``python -m`` puts the working directory: a project's own modules then resolved
    elsewhere, or nowhere, and ``cache verify`` called their entries stale where ``python -m
    lazyhook cache verify`` did not.  Under ``-P``/``-I`` neither puts anything there.
    """
    # realpath: Python puts a symlinked script's own directory there (pipx links the command).
    script_dir = os.path.dirname(os.path.realpath(sys.argv[0]))
    first = os.path.realpath(sys.path[0]) if sys.path else None
    if first == script_dir and not getattr(sys.flags, "safe_path", False):
        try:
            sys.path[0] = os.getcwd()
        except OSError:  # the working directory was removed: nothing to resolve from there
            del sys.path[0]
    return main()


def main(argv: list[str] | None = None) -> int:
    stdout = sys.stdout
    if stdout is not None:  # (None when started with stdout closed)
        sys.stdout = cast(TextIO, Checked(stdout, "stdout"))
    try:
        status = _main(sys.argv[1:] if argv is None else list(argv))
        if sys.stdout is not None:
            sys.stdout.flush()  # here: a failure is answered below, not at the exit
        return status
    except CliError as exc:
        return _say(f"lazyhook: error: {exc}", USAGE_ERROR)
    except EnvironmentFailure as exc:
        if isinstance(exc, OutputFailure) and exc.stdout:
            discard_stdout()
        return _say(f"lazyhook: {exc}", FAILURE)
    except BrokenPipeError:
        return reader_gone()
    finally:
        sys.stdout = stdout


def _say(line: str, status: int) -> int:
    try:
        print(line, file=sys.stderr)
    except BrokenPipeError:  # `lazyhook status --bogus 2>&1 | head -0`
        return reader_gone()
    except OSError:  # stderr itself fails: nothing left to say it on
        pass
    return status


def _main(argv: list[str]) -> int:
    if argv and argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        # argparse would only say that a command is required, never naming the option.
        raise CliError(f"unrecognized option {argv[0]!r}: a command comes first: {COMMANDS}")
    program: list[str] = []
    if argv and argv[0] in ("run", "report"):
        argv, program = _split_program(argv)
    try:
        ns = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help: its output is still to be flushed (and checked)
        return exc.code if isinstance(exc.code, int) else 0
    if program:
        ns.rest = [*ns.rest, *program]
    return int(ns.func(ns))
