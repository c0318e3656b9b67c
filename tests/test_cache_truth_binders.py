"""The name cache never lies about what another module decides (issue 14, found by a hunt
across projects sharing one cache).

A cached name whose *detail* names the object to bind — a module (``from store import
codec``), an exception class from elsewhere — is right only while whatever binds it binds
that one; and a module whose ``try`` imports decide what it binds is right only while each
is found (or not) as before.  Each case warms an entry, changes what decides it without
touching the module's own file, and checks the next run against eager Python: no failing
run at all.
"""

from __future__ import annotations

import os
import sys

import pytest
from conftest import ROOT, Sandbox

INSTALL = "import lazyhook\nlazyhook.install()\n"


def eager_lines(sandbox: Sandbox, code: str, **env: str) -> list[str]:
    return sandbox.run(code, env=sandbox.env(LAZYHOOK_DISABLE="1", **env)).lines


def installed(sandbox: Sandbox, fastjson: str) -> dict[str, str]:
    """The environment of a run where module ``fastjson`` (source *fastjson*) is installed."""
    extra = sandbox.path / "extra"
    extra.mkdir()
    (extra / "fastjson.py").write_text(fastjson)
    return sandbox.env(PYTHONPATH=os.pathsep.join([str(extra), sandbox.env()["PYTHONPATH"]]))


def test_a_module_a_name_comes_through_follows_its_binder(sandbox: Sandbox) -> None:
    # store binds codec by ``from settings import codec``: settings decides which module.
    sandbox.write(
        {
            "settings.py": "import json as codec\n",
            "store.py": "from settings import codec\ndef save(obj):\n    return codec.dumps(obj)\n",
        }
    )
    code = INSTALL + (
        "from store import codec, save\nprint(lazyhook.is_lazy(save))\n"
        "def later():\n    return codec.__name__\n"
        "print(later(), type(save([1])).__name__)\n"
    )
    sandbox.run(code)
    assert sandbox.run(code).lines == ["True", "json str"]  # warm: lazy
    sandbox.write({"settings.py": "import pickle as codec\n"})
    assert eager_lines(sandbox, code) == ["False", "pickle bytes"]
    assert sandbox.run(code).lines[1:] == ["pickle bytes"]


def test_a_binder_chosen_by_sys_path_is_checked_where_it_resolves(sandbox: Sandbox) -> None:
    # Two directories with a settings.py each, chosen by an argument: neither file changes.
    sandbox.write(
        {
            "backend_json/settings.py": "import json as codec\n",
            "backend_pickle/settings.py": "import pickle as codec\n",
            "store.py": "from settings import codec\ndef save(obj):\n    return codec.dumps(obj)\n",
        }
    )
    src = str(sandbox.src)
    code = INSTALL + (
        f"import sys\nsys.path.insert(0, {src!r} + '/backend_' + sys.argv[1])\n"
        "from store import codec, save\nprint(lazyhook.is_lazy(save))\n"
        "def later():\n    return codec.__name__\n"
        "print(later(), type(save([1])).__name__)\n"
    )
    sandbox.run(code, args=["json"])
    assert sandbox.run(code, args=["json"]).lines == ["True", "json str"]
    r = sandbox.run(code, args=["pickle"])
    assert r.lines[1:] == ["pickle bytes"]


def test_an_exception_class_re_exported_through_another_module_follows_it(
    sandbox: Sandbox,
) -> None:
    sandbox.write(
        {
            "errors.py": "from json import JSONDecodeError as DecodeError\n",
            "codec.py": "from errors import DecodeError\n"
            "def load(b):\n    import json, pickle\n"
            "    return json.loads(b) if isinstance(b, str) else pickle.loads(b)\n",
        }
    )
    code = INSTALL + (
        "import json, pickle\nfrom codec import DecodeError, load\n"
        "print(lazyhook.is_lazy(load))\n"
        "for data in ('{', b'garbage'):\n    try:\n        load(data)\n"
        "    except DecodeError as e:\n        print('caught', type(e).__name__)\n"
        "    except Exception as e:\n        print('other', type(e).__name__)\n"
    )
    sandbox.run(code)
    assert sandbox.run(code).lines == ["True", "caught JSONDecodeError", "other UnpicklingError"]
    sandbox.write({"errors.py": "from pickle import UnpicklingError as DecodeError\n"})
    want = ["other JSONDecodeError", "caught UnpicklingError"]
    assert eager_lines(sandbox, code)[1:] == want
    assert sandbox.run(code).lines[1:] == want


COMPAT = {
    "try": "try:\n    import fastjson as json\nexcept ImportError:\n    import json\n",
    "with": "import contextlib, json\nwith contextlib.suppress(ImportError):\n"
    "    import fastjson as json\n",
}


@pytest.mark.parametrize("form", sorted(COMPAT))
def test_an_optional_module_installed_later_is_bound(sandbox: Sandbox, form: str) -> None:
    # The compat-module pattern: which module ``json`` is depends on what is installed.
    sandbox.write({"compat.py": COMPAT[form] + "def helper():\n    return 1\n"})
    code = INSTALL + (
        "from compat import json, helper\nprint(lazyhook.is_lazy(helper))\n"
        "def later():\n    return json.__name__, helper()\nprint(later())\n"
    )
    sandbox.run(code)
    assert sandbox.run(code).lines == ["True", "('json', 1)"]
    env = installed(sandbox, "from json import *\n")
    assert sandbox.run(code, env={**env, "LAZYHOOK_DISABLE": "1"}).lines[1:] == ["('fastjson', 1)"]
    assert sandbox.run(code, env=env).lines[1:] == ["('fastjson', 1)"]


def test_a_sys_path_insert_between_two_lookups_is_seen(sandbox: Sandbox) -> None:
    # Where appconfig resolves was looked up for early's entry, before the program inserted
    # the directory that has it: late's entry must not reuse that answer.
    star = "try:\n    from appconfig import *\nexcept ImportError:\n    pass\n"
    sandbox.write(
        {
            "early.py": star + "def early_fn():\n    return 'early'\n",
            "late.py": star + "def late_fn():\n    return 'late'\n",
            "alt/appconfig.py": "def only_alt():\n    return 'alt!'\n",
        }
    )
    code = INSTALL + (
        f"import os, sys\nfrom early import *\nif os.environ.get('ALT'):\n"
        f"    sys.path.insert(0, {str(sandbox.src / 'alt')!r})\nfrom late import *\n"
        "print(only_alt() if os.environ.get('ALT') else late_fn())\n"
    )
    sandbox.run(code)
    assert sandbox.run(code).lines == ["late"]
    assert eager_lines(sandbox, code, ALT="1") == ["alt!"]
    assert sandbox.run(code, env=sandbox.env(ALT="1")).lines == ["alt!"]


def test_a_pkgutil_style_package_follows_its_portions_order(sandbox: Sandbox) -> None:
    # helpers' submodule core comes from the first of its directories on sys.path: neither
    # directory changes when PYTHONPATH is reordered.
    sandbox.write(
        {
            "helpers/__init__.py": "from pkgutil import extend_path\n"
            "__path__ = extend_path(__path__, __name__)\nfrom .core import *\n",
        }
    )
    for name in ("P", "Q"):
        (sandbox.path / name / "helpers").mkdir(parents=True)
        (sandbox.path / name / "helpers" / "core.py").write_text(
            f"def which():\n    return {name!r}\ndef only_{name.lower()}():\n    return 1\n"
        )
    code = INSTALL + (
        "from helpers import *\n"
        "print(sorted(n for n in ('only_p', 'only_q') if n in globals()))\n"
        "def later():\n    return which()\nprint(later())\n"
    )
    base = sandbox.env()["PYTHONPATH"]

    def env(*dirs: str) -> dict[str, str]:
        return sandbox.env(
            PYTHONPATH=os.pathsep.join([*(str(sandbox.path / d) for d in dirs), base])
        )

    sandbox.run(code, env=env("P"))
    assert sandbox.run(code, env=env("P")).lines == ["['only_p']", "P"]
    want = ["['only_q']", "Q"]
    assert sandbox.run(code, env={**env("Q", "P"), "LAZYHOOK_DISABLE": "1"}).lines == want
    r = sandbox.run(code, env=env("Q", "P"))
    assert (r.lines, r.err) == (want, "")


def test_a_feature_every_module_imports_is_no_binder(sandbox: Sandbox) -> None:
    # ``from __future__ import annotations`` binds one shared object in every module using it:
    # taking the modules a's code imports for its binders made a's entry stale at any edit of
    # them (and, for an installed package, made every warm check search for each).
    future = "from __future__ import annotations\n"
    sandbox.write({"a.py": future + "import b\ndef f() -> int:\n    return b.X\n",
                   "b.py": future + "X = 1\n"})  # fmt: skip
    code = INSTALL + "from a import f\nprint(lazyhook.is_lazy(f))\ndef later():\n    f()\n"
    sandbox.run(code)
    assert sandbox.run(code).lines == ["True"]
    sandbox.write({"b.py": future + "X = 2  # edited\n"})
    assert sandbox.run(code).lines == ["True"]  # still valid: b decides nothing of a's


def test_imports_read_for_dependencies_are_the_modules_imported() -> None:
    # ``import a.b.c as d`` reads its attributes with IMPORT_FROM: not a from-list's names.
    sys.path.insert(0, str(ROOT))
    from lazyhook import _bytecode

    code = compile("try:\n    import a.b.c as d\n    from e import f\nexcept ImportError:\n"
                   "    pass\n", "m", "exec")  # fmt: skip
    assert _bytecode.guarded_imports(code, "", lambda offset: True) == ["a.b.c", "e", "e.f"]
    assert _bytecode.plain_imports(code) == {"d"}


def test_an_optional_exception_class_installed_later_is_caught(sandbox: Sandbox) -> None:
    # A re-exported exception class chosen by an import under ``with suppress(ImportError)``.
    sandbox.write(
        {
            "lib.py": "import contextlib\nfrom json import JSONDecodeError as DecodeError\n"
            "with contextlib.suppress(ImportError):\n    from fastjson import DecodeError\n"
            "def parse(s):\n    import json\n    try:\n        import fastjson\n"
            "    except ImportError:\n        return json.loads(s)\n    return fastjson.loads(s)\n"
        }
    )
    code = INSTALL + (
        "import json\nfrom lib import DecodeError, parse\nprint(lazyhook.is_lazy(parse))\n"
        "try:\n    parse('{bad')\nexcept DecodeError as e:\n"
        "    print('caught', type(e).__module__)\n"
    )
    sandbox.run(code)
    assert sandbox.run(code).lines == ["True", "caught json.decoder"]
    env = installed(
        sandbox,
        "class DecodeError(ValueError):\n    pass\ndef loads(s):\n    raise DecodeError('bad')\n",
    )
    assert sandbox.run(code, env={**env, "LAZYHOOK_DISABLE": "1"}).lines[1:] == ["caught fastjson"]
    assert sandbox.run(code, env=env).lines[1:] == ["caught fastjson"]
