"""The name cache never lies, not even by omission (issue 14).

Each case makes an entry wrong the way real life does (a star-imported module now found
elsewhere, a submodule bound by the import system, an unusual star-import spelling, an edit
that keeps size and mtime, a forged omission) and checks, in fresh interpreters, that the next
run behaves as eager Python does — at most one failing run — and that ``cache verify`` says
what the entry says.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, RUN, Result, Sandbox

STAR_A = {"a.py": RUN + "from b import *\n", "b.py": RUN + "def OLD():\n    return 'old'\n"}
USE_A = """
import lazyhook
lazyhook.install()
from a import *
print(sorted(k for k in globals() if k.isupper()))

def later():  # a read (never made): else the star import is for side effects, at once
    return OLD(), NEW(), FIRST(), ADDED(), AAA(), BBB(), APPEARED(), FROM()
"""


def names_of(r: object) -> str:
    return r.lines[0]  # type: ignore[attr-defined,no-any-return]


def test_a_star_dependency_now_found_elsewhere_invalidates(sandbox: Sandbox) -> None:
    sandbox.write(STAR_A)
    sandbox.run(USE_A)
    assert sandbox.run(USE_A).runs == []  # warm: lazy
    # A package b/ now shadows b.py (a directory package wins in the same directory).
    sandbox.write({"b/__init__.py": RUN + "def NEW():\n    return 'new'\n"})
    r = sandbox.run(USE_A)
    assert names_of(r) == "['NEW']" and r.runs == ["a", "b"]
    assert sandbox.run(USE_A).runs == []  # relearned: lazy again
    # The PYTHONPATH order changes: another directory's b comes first.
    other = sandbox.path / "other"
    other.mkdir()
    (other / "b.py").write_text(RUN + "def FIRST():\n    return 1\n")
    env = sandbox.env(PYTHONPATH=os.pathsep.join([str(other), sandbox.env()["PYTHONPATH"]]))
    r = sandbox.run(USE_A, env=env)
    assert names_of(r) == "['FIRST']"


@pytest.mark.parametrize(
    "spelling",
    [
        "x = 1; from b import *",
        "from b import *; y = 2",
        "if True:\n    from b import *",
        "from b import*",
        "from\tb import *",
        "from b \\\n    import *",
        "try:\n    from b import *\nexcept ImportError:\n    pass",
    ],
)
def test_every_star_import_spelling_is_tracked(sandbox: Sandbox, spelling: str) -> None:
    sandbox.write({"a.py": RUN + spelling + "\n", "b.py": RUN + "def OLD():\n    pass\n"})
    sandbox.run(USE_A)
    assert sandbox.run(USE_A).runs == []
    (sandbox.src / "b.py").write_text(RUN + "def OLD():\n    pass\ndef ADDED():\n    pass\n")
    r = sandbox.run(USE_A)
    assert names_of(r) == "['ADDED', 'OLD']"


def test_a_relative_star_import_as_first_statement_is_tracked(sandbox: Sandbox) -> None:
    # No docstring, nothing before it: the level's constant is co_consts[0] (networkx's
    # ``algorithms/components/__init__.py``); it was read as level 0, so the dependency was
    # recorded as the top-level name "sub", found nowhere, and the real file never checked.
    sandbox.write(
        {"pkg/__init__.py": "from .sub import *\n", "pkg/sub.py": "def OLD():\n    pass\n"}
    )
    code = USE_A.replace("from a import *", "from pkg import *")
    sandbox.run(code)
    check = "import lazyhook\nprint(lazyhook.name_cache().raw('pkg').deps)\n"
    deps = sandbox.run(check).lines
    assert deps == [f"(('pkg.sub', {str(sandbox.src / 'pkg' / 'sub.py')!r}),)"], deps
    (sandbox.src / "pkg" / "sub.py").write_text("def OLD():\n    pass\ndef ADDED():\n    pass\n")
    assert names_of(sandbox.run(code)) == "['ADDED', 'OLD']"


def test_a_missing_star_dependency_in_try_is_checked_to_stay_missing(sandbox: Sandbox) -> None:
    code = "try:\n    from optional_b import *\nexcept ImportError:\n    pass\nOWN = 1\n"
    sandbox.write({"a.py": RUN + code})
    sandbox.run(USE_A)
    assert names_of(sandbox.run(USE_A)) == "['OWN']"
    sandbox.write({"optional_b.py": "def APPEARED():\n    pass\n"})  # now installed
    assert names_of(sandbox.run(USE_A)) == "['APPEARED', 'OWN']"


def test_all_taken_from_a_dotted_submodule_is_tracked(sandbox: Sandbox) -> None:
    sandbox.write(
        {
            "pk/__init__.py": RUN
            + "import pk.sub\nfrom pk.sub import *\n__all__ = pk.sub.__all__\n",
            "pk/sub.py": RUN + "__all__ = ['A']\ndef A():\n    pass\ndef B():\n    pass\n",
        }
    )
    code = USE_A.replace("from a import *", "from pk import *")
    sandbox.run(code)
    assert names_of(sandbox.run(code)) == "['A']"
    (sandbox.src / "pk/sub.py").write_text(
        RUN + "__all__ = ['A', 'B']\ndef A():\n    pass\ndef B():\n    pass\n"
    )
    assert names_of(sandbox.run(code)) == "['A', 'B']"


def test_a_sourceless_module_is_tracked(sandbox: Sandbox) -> None:
    sandbox.write({"a.py": RUN + "from binb import *\n", "binb_src.py": "def OLD():\n    pass\n"})

    def compile_b(text: str) -> None:
        src = sandbox.src / "binb_src.py"
        src.write_text(text)
        import py_compile

        py_compile.compile(str(src), cfile=str(sandbox.src / "binb.pyc"), doraise=True)

    compile_b("def OLD():\n    pass\n")
    sandbox.run(USE_A)
    assert sandbox.run(USE_A).runs == []
    time.sleep(0.01)
    compile_b("def OLD():\n    pass\ndef FROM_PYC():\n    pass\n")
    assert names_of(sandbox.run(USE_A)) == "['FROM_PYC', 'OLD']"


def test_an_edit_that_keeps_size_and_mtime_is_seen(sandbox: Sandbox) -> None:
    sandbox.write({"a.py": RUN + "from b import *\n", "b.py": RUN + "def AAA():\n    pass\n"})
    sandbox.run(USE_A)
    b = sandbox.src / "b.py"
    st = b.stat()
    b.write_text(RUN + "def BBB():\n    pass\n")  # same size
    os.utime(b, ns=(st.st_atime_ns, st.st_mtime_ns))  # touch -d back to the old time
    assert b.stat().st_size == st.st_size and b.stat().st_mtime_ns == st.st_mtime_ns
    assert names_of(sandbox.run(USE_A)) == "['BBB']"


def test_a_copy_or_chmod_that_keeps_the_content_keeps_the_entry(sandbox: Sandbox) -> None:
    sandbox.write({"a.py": RUN + "from b import *\n", "b.py": RUN + "def AAA():\n    pass\n"})
    sandbox.run(USE_A)
    b = sandbox.src / "b.py"
    st = b.stat()
    data = b.read_bytes()
    b.unlink()  # a new inode and ctime, as after `COPY --from` or a pulled image
    b.write_bytes(data)
    os.utime(b, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.chmod(b, 0o644)
    assert b.stat().st_ino != st.st_ino or b.stat().st_ctime_ns != st.st_ctime_ns
    r = sandbox.run(USE_A)
    assert r.runs == [] and names_of(r) == "['AAA']"  # still lazy: the digest matched


def test_submodules_are_not_learned_as_names_of_their_package(sandbox: Sandbox) -> None:
    sandbox.write({"pk/__init__.py": RUN + "X = 1\n", "pk/sub.py": RUN + "Y = 2\n"})
    learn = "import lazyhook\nlazyhook.install()\nimport pk.sub\nprint(pk.X)\n"
    sandbox.run(learn)  # pk runs after the import system bound `sub` on it
    r = sandbox.run(
        "import lazyhook, types\nlazyhook.install()\nfrom pk import sub\n"
        "print(isinstance(sub, types.ModuleType), sub.__name__, sub.Y)\n"
    )
    assert r.lines == ["True pk.sub 2"]
    r = sandbox.run(
        "import lazyhook\nlazyhook.install()\nsub = 'mine'\nfrom pk import *\nprint(sub)\n"
    )
    assert r.lines == ["mine"]  # eagerly too: pk.sub was never imported in this process
    r = sandbox.run(
        "import lazyhook\nlazyhook.install()\nimport pk.sub\nfrom pk import *\n"
        "import types\nprint(isinstance(sub, types.ModuleType), sub is pk.sub)\n"
    )
    assert r.lines == ["True True"]  # bound as the eager star import binds it


FORGE = """
import lazyhook
c = lazyhook.name_cache()
s = c.raw({module!r})
keep = [i for i, n in enumerate(s.names) if n != {drop!r}]
s.names = tuple(s.names[i] for i in keep)
s.kinds = "".join(s.kinds[i] for i in keep)
c.put({module!r}, s)
print(c.flush())
"""


def test_an_omission_costs_at_most_one_failing_run(sandbox: Sandbox) -> None:
    sandbox.write({"a.py": RUN + "def KEPT():\n    pass\ndef DROPPED():\n    return 5\n"})
    code = "import lazyhook\nlazyhook.install()\nfrom a import *\nprint(DROPPED())\n"
    code += "def later():\n    KEPT()\n"  # read as a stand-in: else a runs at the statement
    sandbox.run(code)
    assert sandbox.run(FORGE.format(module="a", drop="DROPPED")).lines == ["True"]
    first = sandbox.run(code, check=False)  # the lie: NameError before a runs
    assert first.returncode == 1 and "NameError" in first.err
    second = sandbox.run(code)  # the uncaught NameError invalidated the entry: fine now
    assert second.lines == ["5"]


def test_an_omission_is_repaired_when_the_module_runs(sandbox: Sandbox) -> None:
    sandbox.write({"a.py": RUN + "def KEPT():\n    pass\ndef DROPPED():\n    return 5\n"})
    code = (
        "import lazyhook\nlazyhook.install()\nfrom a import *\nKEPT()\n"
        "print(DROPPED())\n"  # a ran at KEPT(): the star import's namespace was repaired
    )
    sandbox.run(code)
    sandbox.run(FORGE.format(module="a", drop="DROPPED"))
    r = sandbox.run(code)
    assert r.lines == ["5"] and r.err.count("LazyhookWarning") == 1 and "repaired" in r.err
    r = sandbox.run(code)
    assert r.lines == ["5"] and r.err == ""


def test_cache_verify_checks_the_same_rule(sandbox: Sandbox) -> None:
    sandbox.write(STAR_A)
    sandbox.run(USE_A)
    sandbox.run("import lazyhook\nlazyhook.install()\nfrom b import OLD\nOLD()\n")  # b learned
    verify = [sys.executable, "-m", "lazyhook", "cache", "verify"]
    ok = subprocess.run(verify, capture_output=True, text=True, env=sandbox.env(), cwd=sandbox.src)
    assert ok.returncode == 0 and "0 stale" in ok.stdout, ok.stdout + ok.stderr
    sandbox.write({"b/__init__.py": RUN + "def NEW():\n    pass\n"})  # shadows b.py
    bad = subprocess.run(verify, capture_output=True, text=True, env=sandbox.env(), cwd=sandbox.src)
    assert bad.returncode == 1 and "stale: a" in bad.stdout, bad.stdout + bad.stderr
    # b's own entry too: b itself would now be imported from another file.
    assert "stale: b" in bad.stdout, bad.stdout


def test_a_huge_cache_file_is_never_read_whole(sandbox: Sandbox) -> None:
    sandbox.write(STAR_A)
    sandbox.run(USE_A)
    (path,) = sandbox.cache.glob("*.lzc")
    with open(path, "r+b") as f:
        f.truncate(1 << 30)  # 1 GiB, sparse
    r = sandbox.run(
        "import resource, time\nt = time.monotonic()\n"
        + USE_A
        + "print(time.monotonic() - t < 5, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    fast, maxrss_kib = r.lines[1].split()
    assert fast == "True" and int(maxrss_kib) < 200_000, r.lines  # far below 1 GiB
    assert r.err.count("LazyhookWarning") == 1 and "over the cache's limit" in r.err


def _as_nobody_python() -> str | None:
    """An interpreter both root and the user ``nobody`` can run (the cache file is keyed by
    the interpreter and its prefix, so both must use the same one)."""
    import shutil

    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("setpriv"):
        return None
    # The interpreter under test may live where nobody cannot reach (/root/.pyenv): then any
    # system Python 3.10+ will do, for both users (what is tested is the file's mode/owner).
    candidates = (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3")
    for python in (*candidates, shutil.which("python3") or ""):
        probe = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", python, "-c",
                 "import sys; assert sys.version_info >= (3, 10)"]  # fmt: skip
        if python and subprocess.run(probe, capture_output=True).returncode == 0:
            return python
    return None


NOBODY_PYTHON = _as_nobody_python()


@pytest.mark.skipif(NOBODY_PYTHON is None, reason="needs root, setpriv and a second user")
def test_a_root_run_keeps_a_shared_cache_shared(tmp_path_factory: pytest.TempPathFactory) -> None:
    import shutil
    import stat
    import tempfile

    from conftest import ROOT

    base = tempfile.mkdtemp(prefix="lazyhook-shared-", dir="/tmp")  # nobody can reach it
    try:
        os.chmod(base, 0o755)
        src, cache, home = (os.path.join(base, d) for d in ("src", "cache", "home"))
        os.makedirs(src)
        os.makedirs(home, mode=0o777)
        os.chmod(home, 0o777)
        for name in ("shm_a", "shm_b"):
            with open(os.path.join(src, f"{name}.py"), "w") as f:
                f.write("def f():\n    return 1\n")
        env = {"PATH": os.environ["PATH"], "HOME": home, "PYTHONPATH": f"{src}:{ROOT}",
               "LAZYHOOK_CACHE_DIR": cache, "PYTHONDONTWRITEBYTECODE": "1"}  # fmt: skip
        py = str(NOBODY_PYTHON)

        def run(*argv: str, user: bool = False) -> subprocess.CompletedProcess[str]:
            prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if user else []
            return subprocess.run(
                [*prefix, py, *argv], capture_output=True, text=True, env=env, cwd=base
            )

        assert run("-m", "lazyhook", "cache", "warm", "--shared", "shm_a").returncode == 0
        (path,) = [os.path.join(cache, n) for n in os.listdir(cache) if n.endswith(".lzc")]
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
        # An ordinary root run that learns one new module rewrites the file...
        learn = run("-c", "import lazyhook; lazyhook.install()\nfrom shm_b import f\nf()\n")
        assert learn.returncode == 0 and learn.stderr == "", learn.stderr
        assert "shm_b" in lazyhook_entries(py, env)
        # ... and it stays readable by everyone, and root's.
        st = os.stat(path)
        assert stat.S_IMODE(st.st_mode) == 0o644 and st.st_uid == 0
        user = run(
            "-c",
            "import lazyhook; lazyhook.install()\nfrom shm_a import f\nfrom shm_b import f as g\n"
            "print(lazyhook.is_lazy(f), lazyhook.is_lazy(g))\n",
            user=True,
        )
        assert user.stdout == "True True\n" and user.stderr == "", user.stdout + user.stderr
    finally:
        shutil.rmtree(base, ignore_errors=True)


def lazyhook_entries(python: str, env: dict[str, str]) -> list[str]:
    code = "import lazyhook; print(lazyhook.name_cache().entries())"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env)
    return out.stdout  # type: ignore[return-value]


def test_a_warm_run_rewrites_nothing_when_star_imports_come_from_builtins(
    sandbox: Sandbox,
) -> None:
    # operator, ast and locale do ``from _operator import *`` (a built-in module, no file):
    # its dependency was recorded as "nowhere" but checked as "somewhere without a file", so
    # every warm run found the entries stale, relearned and rewrote the cache.
    code = (
        "import lazyhook\nlazyhook.install()\nfrom operator import add\n"
        "from ast import literal_eval\nfrom locale import getlocale\n"
        "print(add(1, 2), literal_eval('4'), callable(getlocale))\n"
    )
    sandbox.run(code)
    (path,) = sandbox.cache.glob("*.lzc")
    before = path.stat()
    verify = [sys.executable, "-m", "lazyhook", "cache", "verify"]
    r = subprocess.run(verify, capture_output=True, text=True, env=sandbox.env(), cwd=sandbox.src)
    assert r.returncode == 0 and " 0 stale" in r.stdout, r.stdout
    for _ in range(2):
        assert sandbox.run(code).lines == ["3 4 True"]
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (
        before.st_ino,
        before.st_mtime_ns,
        before.st_size,
    )


def test_a_file_changed_under_an_old_mtime_is_not_trusted(sandbox: Sandbox) -> None:
    # x is read before lazyhook could stamp it, then rewritten with its old size and mtime
    # restored (as tar, cp -p and rsync -a do).  Learning m (``from x import *``) must not
    # trust x's file for the names the process read from the old one: its ctime moved.
    sandbox.write({"x.py": "OLDNAME = 1\n", "m.py": "from x import *\nA = 1\n"})
    time.sleep(1.2)  # x.py older than the next process, beyond the clock-granularity margin
    r = sandbox.run(
        """
        import os
        import x  # eager, before install(): not stamped
        st = os.stat(x.__file__)
        with open(x.__file__, "w") as f:
            f.write("NEWNAME = 1\\n")  # same size
        os.utime(x.__file__, ns=(st.st_atime_ns, st.st_mtime_ns))
        import lazyhook
        lazyhook.install()
        from m import A
        print(A)
        """
    )
    assert r.lines == ["1"]
    code = (
        "import lazyhook\nlazyhook.install()\nfrom m import *\n"
        "print(sorted(k for k in globals() if k.isupper()))\n"
    )
    assert sandbox.run(code).lines == ["['A', 'NEWNAME']"]  # eagerly: NEWNAME


def test_each_file_maps_to_the_record_that_lists_it(tmp_path: Path) -> None:
    # Kinds inside an installed distribution are stamped by its RECORD, which pip rewrites at
    # every install or upgrade.  A namespace package has several distributions under one
    # top-level name (ns/a from nsa, ns/b from nsb): the first RECORD listing anything under
    # ns stood for all of them, so an upgrade of nsb left ns.b's kinds unchecked.  A file no
    # RECORD lists (added by hand, generated) is stamped on its own.
    from lazyhook import _deciders

    site = tmp_path / "site"
    for rel in ("ns/a/__init__.py", "ns/b/impl.py", "ns/b/extra.py", "solo.py"):
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text("X = 1\n")
    records = {
        "nsa-1.0.dist-info": "ns/a/__init__.py,,\n",
        "nsb-2.0.dist-info": "ns/b/impl.py,,\n",
        "solo-1.0.dist-info": "solo.py,,\n",
    }
    for dist, text in records.items():
        (site / dist).mkdir()
        (site / dist / "RECORD").write_text(text)
    sys.path.insert(0, str(site))
    try:
        got = {
            rel: _deciders._record_of(str(site / rel))
            for rel in ("ns/a/__init__.py", "ns/b/impl.py", "ns/b/extra.py", "solo.py")
        }
    finally:
        sys.path.remove(str(site))
    assert got == {
        "ns/a/__init__.py": str(site / "nsa-1.0.dist-info" / "RECORD"),
        "ns/b/impl.py": str(site / "nsb-2.0.dist-info" / "RECORD"),
        "ns/b/extra.py": str(site / "ns/b/extra.py"),
        "solo.py": str(site / "solo-1.0.dist-info" / "RECORD"),
    }


def test_cache_verify_finds_modules_under_a_namespace_package(sandbox: Sandbox) -> None:
    # where() looked for nsp.tools below the __path__ of nsp's file, and a namespace package
    # has none: a valid entry was reported stale ("0 valid, 1 stale", exit status 1).
    sandbox.write({"nsp/tools.py": RUN + "def compose():\n    return 1\n"})
    code = "import lazyhook\nlazyhook.install()\nfrom nsp.tools import compose\ncompose()\n"
    sandbox.run(code)
    assert sandbox.run(code).runs == ["nsp.tools"]  # warm: the entry was used
    verify = [sys.executable, "-m", "lazyhook", "cache", "verify"]
    ok = subprocess.run(verify, capture_output=True, text=True, env=sandbox.env(), cwd=sandbox.src)
    assert ok.returncode == 0 and "1 valid, 0 stale" in ok.stdout, ok.stdout + ok.stderr


def test_a_re_exported_object_whose_source_changes_kind_is_relearned(sandbox: Sandbox) -> None:
    # pkg.api re-exports a dict and an instance from pkg.core.settings; their kinds name no
    # module that binds them (a dict has none, an instance's type is elsewhere), so the file
    # that defines them was never stamped: after an edit (or an upgrade of the package that
    # defines them) turning them into a class and a function, every warm run bound
    # non-callable stand-ins ("'LazyName' object is not callable") and `cache verify` called
    # the entry valid.  Names copied from a data-only submodule (globals().update) likewise.
    sandbox.write(
        {
            "pkg/__init__.py": "",
            "pkg/core/__init__.py": "",
            "pkg/core/settings.py": "import types\nSETTINGS = types.SimpleNamespace()\n"
            "DEFAULTS = {'debug': False}\n",
            "pkg/core/_consts.py": "RED = 1\n",
            "pkg/api.py": RUN + "from .core.settings import SETTINGS, DEFAULTS\n"
            "from .core import _consts\n"
            "globals().update((k, v) for k, v in vars(_consts).items() if k.isupper())\n"
            "del _consts\n",
        }
    )
    code = """
        import lazyhook
        lazyhook.install()
        from pkg.api import *
        for name in ("SETTINGS", "DEFAULTS", "RED", "BLUE"):
            try:
                print(name, callable(eval(name)))
            except NameError as exc:
                print(exc)
        """
    first = sandbox.run(code)
    assert first.lines == [
        "SETTINGS False",
        "DEFAULTS False",
        "RED False",
        "name 'BLUE' is not defined",
    ]
    assert sandbox.run(code).runs == []  # warm: lazy
    sandbox.write(
        {
            "pkg/core/settings.py": "class SETTINGS:\n    pass\ndef DEFAULTS():\n    return {}\n",
            "pkg/core/_consts.py": "RED = 1\nBLUE = 2\n",
        }
    )
    verify = [sys.executable, "-m", "lazyhook", "cache", "verify"]
    stale = subprocess.run(
        verify, capture_output=True, text=True, env=sandbox.env(), cwd=sandbox.src
    )
    assert stale.returncode == 1 and "stale: pkg.api" in stale.stdout, stale.stdout + stale.stderr
    expected = ["SETTINGS True", "DEFAULTS True", "RED False", "BLUE False"]
    for _ in range(2):  # the first run after the edit, and the next
        assert sandbox.run(code).lines == expected


def test_an_edit_leaves_the_entries_of_modules_sharing_an_object_valid(sandbox: Sandbox) -> None:
    # Thirty modules each bind one shared settings dict (`from common import SETTINGS`, as
    # with django.conf.settings).  Each entry stamped every module binding that dict (the
    # consumers too): an edit of one module made all thirty entries stale, and cold runs did
    # quadratic work.  Each entry stamps where its dict comes from (common), and itself.
    files = {"common.py": "SETTINGS = {'debug': False}\n"}
    for i in range(30):
        files[f"m{i}.py"] = f"from common import SETTINGS\ndef f{i}():\n    return {i}\n"
    sandbox.write(files)
    imports = "".join(f"from m{i} import f{i}, SETTINGS as S{i}\n" for i in range(30))
    calls = ", ".join(f"f{i}()" for i in range(30))
    code = f"import lazyhook\nlazyhook.install()\n{imports}def use():\n    return [{calls}]\n"
    sandbox.run(code)
    assert sandbox.run(code).runs == []  # warm: lazy
    verify = [sys.executable, "-m", "lazyhook", "cache", "verify"]
    ok = subprocess.run(verify, capture_output=True, text=True, env=sandbox.env(), cwd=sandbox.src)
    assert ok.returncode == 0 and "30 valid, 0 stale" in ok.stdout, ok.stdout + ok.stderr
    with open(sandbox.src / "m5.py", "a") as f:
        f.write("def extra():\n    pass\n")
    bad = subprocess.run(verify, capture_output=True, text=True, env=sandbox.env(), cwd=sandbox.src)
    assert "29 valid, 1 stale" in bad.stdout, bad.stdout + bad.stderr
    common = sandbox.src / "common.py"
    common.write_text(common.read_text() + "def SETTINGS2():\n    pass\n")
    bad = subprocess.run(verify, capture_output=True, text=True, env=sandbox.env(), cwd=sandbox.src)
    assert "0 valid, 30 stale" in bad.stdout, bad.stdout + bad.stderr


# A module whose names depend on something no file records (here an environment variable).
SWITCHED = {
    "flags.py": RUN + "import os\nif os.environ.get('APP_DEBUG'):\n"
    "    def only_debug():\n        return 'debug'\n"
    "def common():\n    return 'common'\n"
}


def _outcome(r: Result) -> tuple[int, list[str], str]:
    return r.returncode, r.lines, r.err


def _switch_runs(
    sandbox: Sandbox, code: str, envs: list[dict[str, str]]
) -> list[tuple[Result, Result]]:
    """Run *code* eagerly, then lazily (one shared cache), under each environment in turn."""
    runs = []
    for env in envs:
        eager = sandbox.run(code, check=False, env={**sandbox.env(**env), "LAZYHOOK_DISABLE": "1"})
        lazy = sandbox.run(code, check=False, env=sandbox.env(**env))
        runs.append((eager, lazy))
    return runs


def test_names_decided_at_run_time_cost_one_wrong_run_not_one_per_switch(
    sandbox: Sandbox,
) -> None:
    # Learned without APP_DEBUG; then the program switches it on and off.  The first run
    # after a switch used to be wrong every time (a stand-in for a name the module no longer
    # defines raising ImportError where eagerly NameError was caught, or a missing name).  Now
    # the run that finds the names changed while flags.py did not marks the entry: from then
    # on, from-imports of flags run it at the statement, as eagerly, whatever the switch.
    sandbox.write(SWITCHED)
    code = (
        "import lazyhook\nlazyhook.install()\nfrom flags import *\nprint(common())\n"
        "try:\n    print(only_debug())\nexcept NameError:\n    print('no debug')\n"
    )
    off, on = {}, {"APP_DEBUG": "1"}
    runs = _switch_runs(sandbox, code, [off, off, on, off, on, off, on])
    for i, (eager, lazy) in enumerate(runs):
        if i == 2:  # the one run that finds out: right output, one warning
            assert lazy.lines == eager.lines and lazy.err.count("LazyhookWarning") == 1
            continue
        assert (lazy.returncode, lazy.lines, lazy.err) == (
            eager.returncode,
            eager.lines,
            eager.err,
        ), i
    info = sandbox.run("import lazyhook\ne = lazyhook.name_cache().raw('flags')\nprint(e.flags)\n")
    assert int(info.lines[0]) & 2  # decided at run time


@pytest.mark.parametrize(
    "read", ["eval(os.environ['WANT'])", "sys.modules['__main__'].__dict__[os.environ['WANT']]"]
)
def test_a_name_missing_before_its_module_ran_also_marks_names_decided_at_run_time(
    sandbox: Sandbox, read: str
) -> None:
    # The NameError comes before flags ever runs (only_debug was not in the entry, so the star
    # import did not bind it): the exit makes the entry suspect, the next run relearns it,
    # sees the names changed while the files did not, and every later switch is right.
    # (flags' os is private here: a star-imported os, a module stand-in, would run flags at
    # the script's os.environ read, before the NameError could happen.)
    sandbox.write({"flags.py": SWITCHED["flags.py"].replace("import os\n", "import os as _os\n")
                   .replace("os.environ", "_os.environ")})  # fmt: skip
    # (Through eval or __main__'s __dict__: a name the code reads is checked against the entry
    # at the statement.  Uncaught, a KeyError counts as evidence too.)
    code = f"import os, sys, lazyhook\nlazyhook.install()\nfrom flags import *\nprint({read}())\n"
    code += "def later():\n    common()\n"  # read as a stand-in: else flags runs at once
    off, on = {"WANT": "common"}, {"APP_DEBUG": "1", "WANT": "only_debug"}
    runs = _switch_runs(sandbox, code, [off, off, on, on, off, on, off, on])
    failed = [
        i
        for i, (e, lazy) in enumerate(runs)
        if (lazy.returncode, lazy.lines) != (e.returncode, e.lines)
    ]
    assert failed == [2], failed  # the one wrong run: NameError where eagerly 'debug'
    for i, (eager, lazy) in enumerate(runs[3:], 3):
        assert (lazy.returncode, lazy.lines, lazy.err) == (
            eager.returncode,
            eager.lines,
            eager.err,
        ), i


def test_a_same_named_module_of_another_project_is_not_taken_for_run_time_names(
    sandbox: Sandbox,
) -> None:
    # Two projects, each with its own top-level utils.py, share one environment's cache.  The
    # entry of one is no evidence about the other: comparing them flagged utils as deciding its
    # names at run time, for good, and every later run of both ran it at the statement.
    for project, name in (("a", "alpha"), ("b", "beta")):
        (sandbox.path / project).mkdir()
        (sandbox.path / project / "utils.py").write_text(RUN + f"def {name}():\n    return 1\n")
    code = "import lazyhook\nlazyhook.install()\nfrom utils import *\nprint('imported')\n"
    code += "def later():\n    alpha(), beta()\n"  # read: else utils runs at the statement
    runs = {}
    for i, project in enumerate("aabbaa"):
        path = os.pathsep.join([str(sandbox.path / project), str(ROOT)])
        runs[i] = sandbox.run(code, env=sandbox.env(PYTHONPATH=path))
    info = sandbox.run("import lazyhook\nprint(lazyhook.name_cache().raw('utils').flags)\n")
    assert info.lines == ["0"]
    assert runs[5].out.splitlines()[0] == "imported"  # lazy again: utils never ran


PLUGINS = {
    "plug/__init__.py": "import os\n__all__ = sorted(f[:-3] for f in os.listdir(__path__[0])"
    ' if f.endswith(".py") and f != "__init__.py")\n',
    "plug/a.py": 'def f():\n    return "a"\n',
}


@pytest.mark.parametrize("use", ["print(a.f(), b.f())", 'print("b" in globals())'])
def test_an_all_listing_the_packages_directory_sees_a_file_added(
    sandbox: Sandbox, use: str
) -> None:
    # Hunt T: a plugin package's __all__ is its directory's listing.  With b.py added, the
    # first warm run raised NameError for b (the repair bound names, not the submodule the
    # eager star import imports), and a program only asking `"b" in globals()` got False on
    # every run (nothing ran the package, nothing told the entry was stale).
    sandbox.write(PLUGINS)
    learn = "import lazyhook\nlazyhook.install()\nfrom plug import *\nprint(a.f())\n"
    sandbox.run(learn)
    assert sandbox.run(learn).lines == ["a"]
    sandbox.write({"plug/b.py": 'def f():\n    return "b"\n'})
    code = "import lazyhook\nlazyhook.install()\nfrom plug import *\n" + use + "\n"
    eager = sandbox.run(code, env=sandbox.env(LAZYHOOK_DISABLE="1"))
    first, second = sandbox.run(code, check=False), sandbox.run(code, check=False)
    assert eager.lines == ["a b"] or eager.lines == ["True"]
    for r in (first, second):
        assert (r.returncode, r.lines, r.err) == (0, eager.lines, ""), r.out + r.err


def test_a_star_repair_imports_the_submodules_all_names(sandbox: Sandbox) -> None:
    # The entry was learned while the directory held no plugin (no directory to stamp): the
    # first run after a.py appears binds the entry's empty list, and the repair, once the
    # package runs, imports `a` as the eager star import did (it bound nothing before).
    sandbox.write({"plug/__init__.py": PLUGINS["plug/__init__.py"] + "__all__ += ['X']\nX = 1\n"})
    learn = "import lazyhook\nlazyhook.install()\nfrom plug import *\nprint(X)\n"
    sandbox.run(learn)
    assert sandbox.run(learn).lines == ["1"]
    sandbox.write({"plug/a.py": PLUGINS["plug/a.py"]})
    code = "import lazyhook\nlazyhook.install()\nfrom plug import *\nprint(X)\nprint(a.f())\n"
    r = sandbox.run(code, check=False)
    assert (r.returncode, r.lines) == (0, ["1", "a"]), r.out + r.err
    assert "repaired and relearned" in r.err
