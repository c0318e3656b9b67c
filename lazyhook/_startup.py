"""Activation at interpreter start-up, and running a program under lazyhook.

``pth_line()`` is the line ``python -m lazyhook enable`` writes: it calls
``lazyhook._activate``, which must never stop an interpreter from starting (any failure
becomes one ``LazyhookWarning`` on stderr).  The patterns are baked into the line as literals,
so start-up parses no configuration file (no ``tomllib``/``json``).

``run_environ()`` and ``start_run()`` are the two ends of the CLI's ``run``/``report``: the
program starts as ``python script.py`` (or ``-m module``) itself, so Python gives it its own
outermost frame, ``__main__``, ``sys.argv``, exit status and tracebacks, with the directory
``_run_site`` first on ``PYTHONPATH``; its ``sitecustomize`` calls ``start_run()``, which puts
the environment back as it was and installs lazyhook before the program runs.  Where
``PYTHONPATH`` or ``sitecustomize`` is not read (``-E``, ``-I``, ``-S``), ``run_main()`` runs
the program from a ``python -c`` bootstrap instead, as close to ``python script.py`` as it can.
"""

import os
import sys

from lazyhook._config import TRUE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

PTH_NAME = "_lazyhook.pth"  # sorts before most .pth files, so their imports can be lazy too
PTH_MARK = "# lazyhook activation"


def pth_line(include: "Sequence[str]", exclude: "Sequence[str]") -> str:
    """The single line of the activation ``.pth`` file.

    ``site`` executes lines that start with ``import``.  Everything is wrapped in one ``try``:
    if lazyhook was uninstalled while its ``.pth`` stayed behind, the interpreter still starts
    silently (a bare failing import line would make ``site`` print a traceback every start).
    It calls ``lazyhook._activate`` rather than something in this module: one module fewer
    to load at every interpreter start.
    """
    args = f"{tuple(include)!r}, {tuple(exclude)!r}".replace("'", '"')
    # Switched off (LAZYHOOK_DISABLE true, PEP 810's "none"): decided before importing
    # anything, so a disabled start costs what a bare start costs (importing lazyhook,
    # _config and _finder to decide cost ~1.1 ms).  The common switch is the whole line site
    # compiles; the rest is compiled only when it runs (the line as one ``exec`` cost a
    # disabled start ~150 us, measured cold: ~55 now).  Any other value is lazyhook's to judge
    # (an invalid one warns).
    rest = (
        "import sys\n"
        'x = sys._xoptions.get("lazy_imports")\n'
        'e = "" if sys.flags.ignore_environment else os.environ.get("PYTHON_LAZY_IMPORTS", "")\n'
        "if (x if isinstance(x, str) else e)"
        '.strip().lower() != "none":\n'
        " try:\n  import lazyhook\n except ImportError:\n  pass\n"
        f" else:\n  lazyhook._activate({args})"
    )
    off = f'os.environ.get("LAZYHOOK_DISABLE", "").strip().lower() in {TRUE!r}'.replace("'", '"')
    return f"import os; {off} or exec('" + rest.replace("\n", "\\n") + f"')  {PTH_MARK}\n"


def pth_places() -> "list[tuple[str, str]]":
    """Where ``enable`` may write its ``.pth``: (directory, what it is), this environment's
    site-packages first, then the user site."""
    import site
    import sysconfig

    venv = sys.prefix != sys.base_prefix
    env = "this virtual environment's" if venv else "this installation's"
    return [
        (sysconfig.get_paths()["purelib"], f"{env} site-packages"),
        (site.getusersitepackages(), "the user site"),
    ]


def not_processed_because(directory: str) -> "str | None":
    """Why this interpreter's start-up does not read ``.pth`` files in *directory*, or None
    if it does.  ``status`` must not call a ``.pth`` that nothing reads "enabled"."""
    import site

    if sys.flags.no_site:
        return "python -S skips the site directories"

    def norm(path: str) -> str:
        return os.path.normcase(os.path.realpath(path))

    if norm(directory) == norm(site.getusersitepackages()):
        if site.ENABLE_USER_SITE:
            return None
        if sys.flags.no_user_site:
            return "the user site is off (python -s or PYTHONNOUSERSITE)"
        if sys.prefix != sys.base_prefix:  # site.venv() turned it off
            return "a virtual environment without system site packages ignores the user site"
        return "the user site is off"
    if norm(directory) in {norm(d) for d in site.getsitepackages()}:
        return None
    return "it is not one of its site directories"


RUN_SITE = os.path.join(os.path.dirname(__file__), "_run_site")
_RUN_STATE = "LAZYHOOK_RUN_STATE"  # private to run/report: removed before the program starts
_SEP = "\x1f"  # cannot occur in patterns, a mode or a names setting; PYTHONPATH comes last


def run_environ(
    environ: "dict[str, str]",
    report_path: str,
    include: "Sequence[str]",
    exclude: "Sequence[str]",
    mode: "str | None",
    names: "str | None",
) -> "dict[str, str]":
    """The environment that starts a program under ``run``/``report`` (*report_path* empty:
    no report).  The program's ``os.environ`` gets *environ* back in ``start_run()``."""
    old = environ.get("PYTHONPATH")
    names = "" if names is None else "=" + names  # `--names ""` is a setting too
    state = [report_path, ",".join(include), ",".join(exclude), mode or "", names]
    state.append("-" if old is None else "=" + old)
    new = dict(environ)
    new[_RUN_STATE] = _SEP.join(state)
    # Not RUN_SITE + ":" for an empty value: its empty entry would put the working directory
    # on the program's sys.path.
    new["PYTHONPATH"] = RUN_SITE + os.pathsep + old if old else RUN_SITE
    return new


def start_run(site_file: str) -> None:
    """What ``_run_site/sitecustomize.py`` runs, inside ``site`` at the program's start-up.

    Undoes ``run_environ()`` first (``sys.path``, ``PYTHONPATH``, the private variable), so the
    program and its child processes see what ``python script.py`` would give them; imports the
    environment's own ``sitecustomize`` through ``site``, exactly as ``site`` would have
    (errors printed by ``site``, a missing one silent); then installs lazyhook as ``run``'s
    options say (after it, as the ``-c`` bootstrap did: an explicit option wins over an
    ``install()`` there; the ``.pth`` activation, if any, installed lazyhook before both).
    """
    here = os.path.normcase(os.path.dirname(os.path.abspath(site_file)))
    sys.path[:] = [p for p in sys.path if os.path.normcase(os.path.abspath(p or ".")) != here]
    sys.path_importer_cache.pop(os.path.dirname(site_file), None)
    state = os.environ.pop(_RUN_STATE, None)
    if state is not None:
        old = state.split(_SEP, 5)[-1]
        if old[:1] == "=":
            os.environ["PYTHONPATH"] = old[1:]
        else:
            os.environ.pop("PYTHONPATH", None)
    import site

    # This module is still running as ``sitecustomize``: leave the name to the real one.
    del sys.modules["sitecustomize"]
    site.execsitecustomize()
    if state is not None:
        report, include, exclude, mode, names, _ = state.split(_SEP, 5)
        if report:
            write_report_at_exit(report)
        _install(include, exclude, mode, names)
    if "sitecustomize" not in sys.modules:
        # None, or one that failed (``site`` printed that): silent, and as eagerly no module.
        raise ImportError("no sitecustomize", name="sitecustomize")


def _install(include: str, exclude: str, mode: str, names: str) -> None:
    import lazyhook
    from lazyhook import _config

    lazyhook.install(
        include=include.split(",") if include else None,
        exclude=exclude.split(",") if exclude else None,
        mode=mode or None,
        names=_config.parse_names(names[1:]) if names else None,
    )


def run_main(kind: str, target: str, args: "Sequence[str]") -> None:
    """Run *target* (``kind`` is ``"script"`` or ``"module"``) as ``__main__``."""
    import builtins
    import runpy

    main = sys.modules["__main__"]
    if kind == "module":
        sys.argv = ["-m", *args]
        sys.path[0] = os.getcwd()  # as `python -m` does
        _call(runpy._run_module_as_main, target, True)  # type: ignore[attr-defined]
        return
    path = os.path.abspath(target)
    sys.argv = [target, *args]
    if os.path.isdir(path) or _is_zip(path):  # its __main__.py, found on it, as Python does
        sys.path[0] = path
        _call(runpy._run_module_as_main, "__main__", False)  # type: ignore[attr-defined]
        return
    sys.path[0] = os.path.dirname(path)
    with open(path, "rb") as f:
        source = f.read()
    loader = None
    if source[:4] == _imp_magic():  # a compiled script: its code follows the 16-byte header
        import marshal
        from _frozen_importlib_external import SourcelessFileLoader

        code: object = marshal.loads(source[16:])
        loader = SourcelessFileLoader("__main__", path)
    else:
        # Absolute, as `python x.py` reports it since 3.9; a SyntaxError reported as Python
        # does (no traceback through this runner).
        code = _call(compile, source, path, "exec")
    d = main.__dict__
    d.clear()
    d.update(
        __name__="__main__",
        __doc__=None,
        __package__=None,
        __loader__=loader,
        __spec__=None,
        __file__=path,
        __builtins__=builtins,
    )
    _call(exec, code, d)


def _is_zip(path: str) -> bool:
    import zipfile

    return zipfile.is_zipfile(path)


def _imp_magic() -> bytes:
    from _frozen_importlib_external import MAGIC_NUMBER

    return MAGIC_NUMBER


def _call(func: object, *args: object) -> object:
    try:
        return func(*args)  # type: ignore[operator]
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001 - re-reported exactly as Python would
        # Drop this runner's own frames so the traceback is the program's, as with `python x`.
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_globals.get("__name__") in (
            __name__,
            "runpy",
        ):
            tb = tb.tb_next
        sys.excepthook(type(exc), exc.with_traceback(tb), tb)
        if isinstance(exc, KeyboardInterrupt):
            import signal

            sys.stdout.flush()
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
        sys.exit(1)


def write_report_at_exit(path: str) -> None:
    """Write ``lazyhook.report()`` as JSON to *path* when the program exits."""
    import atexit

    def dump() -> None:
        import lazyhook

        data = lazyhook.report()  # before json is imported: it may be one of the lazy modules
        import json

        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f)

    atexit.register(dump)
