"""The command line's activation commands: ``enable``, ``disable``, ``status`` (the ``.pth``
that activates lazyhook at start-up; where it is written lives in ``_startup``)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from lazyhook import _config, _startup
from lazyhook._cli_errors import CliError, os_failure, patterns


def _pth_files() -> list[tuple[str, str, str]]:
    """(file, directory, what it is) where ``enable`` writes, this environment's first."""
    return [(os.path.join(d, _startup.PTH_NAME), d, place) for d, place in _startup.pth_places()]


def cmd_enable(ns: argparse.Namespace) -> int:
    include, exclude = patterns(ns.include), patterns(ns.exclude)
    (env_dir, _), (user_dir, _) = _startup.pth_places()
    directory = user_dir if ns.user else env_dir
    off = _startup.not_processed_because(directory) if ns.user else None
    if off is not None:
        # A .pth there would do nothing for this interpreter (issue 17): refuse, not pretend.
        raise CliError(
            f"--user: {sys.executable} does not read the user site at start-up ({off}); "
            "run `lazyhook enable` without --user to enable it for this environment"
        )
    path = os.path.join(directory, _startup.PTH_NAME)
    _write_pth(path, _startup.pth_line(include, exclude))
    print(f"lazyhook enabled: {path}")
    return 0


def _write_pth(path: str, line: str) -> None:
    """*line* into *path* atomically: an interpreter starting right now sees the old or the new
    line.  A root-owned venv, a full disk: one line naming the file, never a traceback (nor a
    temp file left behind)."""
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(line)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise os_failure("write", path, exc) from None


def cmd_disable(ns: argparse.Namespace) -> int:
    """Removes the one file ``enable`` with the same ``--user`` writes.  Removing both switched
    lazyhook off, unasked, for the base interpreter and every venv that reads its user site."""
    (env, _, env_place), (user, _, user_place) = _pth_files()
    path, place, other = (user, user_place, env) if ns.user else (env, env_place, user)
    try:
        os.remove(path)
        print(f"lazyhook disabled: removed {path}")
    except FileNotFoundError:
        print(f"lazyhook was not enabled in {place} (no {path})")
    except OSError as exc:  # a root-owned venv: its site-packages is not ours to change
        raise os_failure("remove", path, exc) from None
    if other != path and os.path.exists(other):
        switch = "" if ns.user else " --user"
        reads = _startup.not_processed_because(os.path.dirname(other)) is None
        state = f"still enables lazyhook for {sys.executable}" if reads else "remains"
        print(f"{other} {state} (`lazyhook disable{switch}` removes it)")
    return 0


def _read_pth(path: str) -> tuple[list[str], list[str]] | None:
    import ast

    try:
        with open(path, encoding="utf-8") as f:
            line = f.readline()
    except OSError:
        return None
    start = line.find("activate(")
    end = line.rfind(")')")
    if start < 0 or end < 0:
        return ([], [])
    try:
        include, exclude = ast.literal_eval(line[start + len("activate(") : end].replace('"', "'"))
    except (ValueError, SyntaxError):
        return ([], [])
    return list(include), list(exclude)


def cmd_status(ns: argparse.Namespace) -> int:
    import lazyhook

    found = {f: (d, place, pats) for f, d, place in _pth_files() if (pats := _read_pth(f))}
    read = [f for f, (d, _, _) in found.items() if _startup.not_processed_because(d) is None]
    for path, (directory, place, pats) in found.items():
        off = _startup.not_processed_because(directory)
        print(f"{'enabled' if off is None else 'found, but not in effect'}: {path}")
        print(f"  in: {place} ({directory})")
        print(f"  read at start-up by {sys.executable}: {'yes' if off is None else 'no: ' + off}")
        print(f"  include: {', '.join(pats[0]) or '* (default)'}")
        print(f"  exclude: {', '.join(pats[1]) or '(none)'}")
        if len(read) > 1 and path in read:
            # Both read: site reads the user site first, then site-packages, and each file
            # calls install(), whose second call reconfigures: this environment's file wins.
            print(f"  patterns: {_which_applies(path, applies=read[0])}")
    if not read:
        print(f"not enabled for {sys.executable} (no lazyhook .pth that it reads)")
    if _config.disabled():
        print("LAZYHOOK_DISABLE is set: activation is a no-op")
    active = lazyhook.is_installed()
    other = " (not by a lazyhook .pth: a sitecustomize?)" if active and not read else ""
    print(f"active in this interpreter: {'yes' if active else 'no'}{other}")
    cache = lazyhook.name_cache(ns.cache_dir)
    print(f"cache: {cache.path}")
    print(f"entries: {len(cache.entries())}")
    return 0


def _which_applies(path: str, applies: str) -> str:
    if path == applies:
        return "these apply (this file is read after the user site's)"
    return f"replaced by those of {applies}, read after this file"
