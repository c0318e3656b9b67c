"""The name cache as lazyhook uses it: validation, hostile input, faults (issue 3).

The byte-level store has its own tests (test_store*.py); these run whole interpreters.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import RUN, Sandbox

MOD = {"names_mod.py": RUN + "def A():\n    return 1\nB = 2\n"}
USE = """
import lazyhook
lazyhook.install()
from names_mod import A
print("lazy", lazyhook.is_lazy(A))
a = A() + 0  # resolves (the body prints RUN) before the next line prints
print("value", a)  # (not "A": a capitalised string passed on counts as naming the class A)
"""


def cache_file(sandbox: Sandbox) -> Path:
    files = list(sandbox.cache.glob("*.lzc"))
    assert len(files) == 1, files
    return files[0]


def test_corrupt_cache_warns_once_imports_work_and_it_is_rebuilt(sandbox: Sandbox) -> None:
    sandbox.write(MOD)
    sandbox.run(USE)
    path = cache_file(sandbox)
    good = path.read_bytes()
    for bad in (good[:-7], b"garbage" * 20, good[:10]):
        path.write_bytes(bad)
        r = sandbox.run(USE)
        assert r.lines == ["lazy False", "value 1"]  # nothing trusted: eager behaviour, real names
        assert r.err.count("LazyhookWarning") == 1 and str(path) in r.err
        r = sandbox.run(USE)
        assert r.lines == ["lazy True", "value 1"] and r.err == ""  # rebuilt by the previous run
    # A damaged entry (its own checksum fails) is a miss, said once, and relearned.
    path.write_bytes(good[:-7] + b"garbage")
    r = sandbox.run(USE)
    assert r.lines == ["lazy False", "value 1"] and r.err.count("LazyhookWarning") == 1
    assert "damaged entry" in r.err


def test_hostile_entries_are_misses(sandbox: Sandbox) -> None:
    sandbox.write(MOD)
    sandbox.run(USE)
    # Valid checksums, hostile content: non-identifier names, wrong types, wrong shape.
    sandbox.run(
        """
        import lazyhook
        from lazyhook import _store_write
        c = lazyhook.name_cache()
        good = c.raw("names_mod").encode()
        names, star, flags, sources, deps, kinds, details, kind_sources = good
        store = c.store
        for bad in (
            (names + "\\nnot an identifier", *good[1:]),
            (names.encode(), *good[1:]),
            (names, "x y", *good[2:]),
            (names, star, "1", *good[3:]),
            (*good[:3], (), *good[4:]),
            (*good[:3], (("p", "size", 3, 4, 5, 6),), *good[4:]),
            (*good[:4], (("m", 3),), *good[5:]),
            (*good[:5], kinds + "c", *good[6:]),
            (*good[:5], "?" * len(kinds), *good[6:]),
            (*good[:6], [("A", 1)], kind_sources),
            good[:7],
            "just a string",
        ):
            assert _store_write.write(store, {"names_mod": bad})
            assert lazyhook.name_cache().raw("names_mod") is None, bad
        print("ok")
        """
    )
    r = sandbox.run(USE)
    assert r.lines == ["lazy False", "value 1"] and r.err == ""


def test_stamps_are_taken_before_the_source_is_read(sandbox: Sandbox) -> None:
    # The body edits its own source while it runs: an edit landing mid-execution.
    sandbox.write(
        {
            "selfedit.py": RUN
            + """
            import os
            A = 1
            if not os.environ.get("NO_EDIT"):
                with open(__file__, "a") as f:
                    f.write("B = 2\\n")
            """
        }
    )
    code = """
    import lazyhook
    lazyhook.install()
    from selfedit import *
    print("names", sorted(k for k in ("A", "B") if k in globals()))
    """
    first = sandbox.run(code)
    assert first.runs == ["selfedit"]
    # The entry recorded names without B, but its stamp predates the edit: it must be stale.
    second = sandbox.run(code, env=sandbox.env(NO_EDIT="1"))
    assert second.runs == ["selfedit"]
    assert second.lines == ["names ['A', 'B']"]


def test_entry_for_another_file_of_the_same_name_is_a_miss(sandbox: Sandbox) -> None:
    sandbox.write(MOD)
    sandbox.run(USE)
    other = sandbox.path / "other"
    other.mkdir()
    (other / "names_mod.py").write_text(RUN + "def A():\n    return 100\n")
    env = sandbox.env()
    env["PYTHONPATH"] = os.pathsep.join([str(other), env["PYTHONPATH"]])
    r = sandbox.run(USE, env=env)
    assert r.lines == ["lazy False", "value 100"]


def test_unusable_cache_locations_never_break_imports(sandbox: Sandbox) -> None:
    sandbox.write(MOD)
    blocker = sandbox.path / "a_file"
    blocker.write_text("not a directory")
    for cache_dir in (blocker / "sub", sandbox.path / "dir_as_file"):
        if cache_dir.name == "dir_as_file":
            # A directory where the cache file should be.
            cache_dir.mkdir()
            (cache_dir / "x").mkdir()
            import lazyhook._config as cfg  # computing the file name needs no install

            os.makedirs(cfg.cache_file(str(cache_dir)))
        env = sandbox.env(LAZYHOOK_CACHE_DIR=str(cache_dir))
        for run in range(2):
            r = sandbox.run(USE, env=env)
            # The directory in the cache's place (in the user's own directory) is moved
            # aside by the first run, which rebuilds the cache: the second run is lazy.
            rebuilt = run == 1 and cache_dir.name == "dir_as_file"
            assert r.lines == [f"lazy {rebuilt}", "value 1"], cache_dir
            assert r.err.count("LazyhookWarning") <= 1, r.err
            assert "Traceback" not in r.err


def test_one_write_for_a_cold_run_that_learns_many_entries(sandbox: Sandbox) -> None:
    sandbox.write({f"many{i}.py": RUN + f"V{i} = {i}\n" for i in range(12)})
    r = sandbox.run(
        """
        import lazyhook
        from lazyhook import _store_write
        writes = []
        real = _store_write.write
        def counting(*a, **k):
            writes.append(1)
            return real(*a, **k)
        _store_write.write = counting
        lazyhook.install()
        import importlib, atexit
        for i in range(12):
            ns = {}
            # (read in a function: an import nothing reads is eager, in an exec'd string too)
            exec(f"from many{i} import V{i}\\ndef f():\\n    V{i}()", ns)  # a miss runs, learns
        atexit.register(lambda: print("writes", len(writes)))  # runs after lazyhook's flush
        """
    )
    assert r.runs == [f"many{i}" for i in range(12)]
    r2 = sandbox.run("import lazyhook\nprint(len(lazyhook.name_cache().entries()))\n")
    assert r2.lines == ["12"]


def test_cache_file_is_per_environment(tmp_path: Path) -> None:
    import sys

    from lazyhook import _config

    a = _config.cache_file(str(tmp_path))
    old = sys.prefix
    try:
        sys.prefix = "/some/other/venv"
        b = _config.cache_file(str(tmp_path))
    finally:
        sys.prefix = old
    assert a != b and os.path.dirname(a) == os.path.dirname(b) == str(tmp_path)
    assert sys.implementation.cache_tag in os.path.basename(a)


def test_a_write_drops_entries_whose_sources_are_gone(sandbox: Sandbox) -> None:
    sandbox.write({"gone.py": RUN + "G = 1\n", **MOD})
    sandbox.run("import lazyhook\nlazyhook.install()\nfrom gone import G\nG + 1\n")
    sandbox.run(USE)
    r = sandbox.run("import lazyhook\nprint(sorted(lazyhook.name_cache().entries()))\n")
    assert r.lines == ["['gone', 'names_mod']"]
    (sandbox.src / "gone.py").unlink()
    (sandbox.src / "names_mod.py").write_text(
        RUN + "def A():\n    return 1\nB = 2\nC = 3\n"
    )  # forces a write
    sandbox.run(USE)
    r = sandbox.run("import lazyhook\nprint(sorted(lazyhook.name_cache().entries()))\n")
    assert r.lines == ["['names_mod']"]


def test_lazyhook_uninstalled_while_a_program_runs_leaves_its_exit_quiet(
    sandbox: Sandbox,
) -> None:
    # ``pip uninstall lazyhook`` run by a program with lazyhook active (pip itself, in an
    # enabled venv): the exit's write of what was learned imported lazyhook's writing code,
    # gone by then: "Exception ignored in atexit callback ... cannot import name '_learn'".
    import shutil

    copy = sandbox.path / "site"
    shutil.copytree(Path(__file__).parent.parent / "lazyhook", copy / "lazyhook")
    sandbox.write(MOD)
    code = """
        import lazyhook, shutil, sys
        lazyhook.install()
        from names_mod import A
        print("value", A())
        shutil.rmtree(sys.argv[1])
        """
    script = sandbox.path / "uninstalls.py"
    script.write_text(textwrap.dedent(code))
    env = sandbox.env(PYTHONPATH=os.pathsep.join([str(sandbox.src), str(copy)]))
    # -S: the test venv's editable install (a finder of its own) would serve the files.
    proc = subprocess.run(
        [sys.executable, "-S", str(script), str(copy / "lazyhook")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "RUN names_mod\nvalue 1\n", "")
    assert not list(sandbox.cache.glob("*.lzc"))  # nothing written: its code was gone


def test_a_damaged_entry_in_a_sound_file_warns_once_and_is_relearned(sandbox: Sandbox) -> None:
    # A flipped bit inside an entry (the file's header and index intact): a silent miss, and
    # ``cache verify`` said "stale".  One warning, shown as the cache file's, then relearned.
    sandbox.write(MOD)
    sandbox.run(USE)
    path = cache_file(sandbox)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01  # the last byte of the last entry's blob: names_mod's, the only one
    path.write_bytes(bytes(data))
    r = sandbox.run(USE)
    assert r.lines == ["lazy False", "value 1"]  # a miss: the real names, at the statement
    assert r.err.count("LazyhookWarning") == 1 and r.err.startswith(f"{path}:0: "), r.err
    assert "damaged entry ('names_mod')" in r.err
    r = sandbox.run(USE)
    assert r.lines == ["lazy True", "value 1"] and r.err == ""
