"""Regressions from a hunt on namespace introspection (round 2): what a from-import binds
that nothing reads is there for its module's side effects, and runs at the statement, as
eagerly — per star import and per submodule of a from-list; and ``exec`` with separate
locals gets the real objects when the module runs.

Each test runs one script eagerly, with a cold cache and warm (``Sandbox.eager_cold_warm``)
and asserts the eager outcome in all three; each failed on the code before its fix.
"""

from __future__ import annotations

import pytest
from conftest import Sandbox, same_outcome

INSTALL = "import lazyhook\nlazyhook.install()\n"


def test_a_star_import_nothing_reads_runs_its_module(sandbox: Sandbox) -> None:
    # Warm, the star import bound stand-ins nothing ever read: reg's body never ran (its
    # print, an environment variable it set, an atexit handler).  Cold it ran at the statement.
    sandbox.write(
        {
            "reg.py": "import os\nprint('reg loaded')\nos.environ['APP_MODE'] = 'on'\n"
            "def util():\n    return 1\n"
        }
    )
    code = INSTALL + "import os\nfrom reg import *\nprint('mode', os.environ.get('APP_MODE'))\n"
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["reg loaded", "mode on"]
    same_outcome(eager, cold, warm)


def test_a_star_import_something_reads_stays_lazy(sandbox: Sandbox) -> None:
    sandbox.write({"reg.py": "print('reg loaded')\ndef util():\n    return 1\n"})
    code = INSTALL + "from reg import *\nprint('before')\nprint(util())\n"
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["reg loaded", "before", "1"]
    assert warm.lines == ["before", "reg loaded", "1"]  # deferred (Limit 1: when, not what)


PKG = {
    "pkg/__init__.py": "REGISTRY = []\n",
    "pkg/a.py": "def f():\n    return 1\n",
    "pkg/b.py": "import pkg\npkg.REGISTRY.append('b')\n",
}


def test_a_from_list_submodule_nothing_reads_runs_at_the_statement(sandbox: Sandbox) -> None:
    # ``from pkg import a, b`` reading only ``a``: the statement counted as read as a whole,
    # so ``b``, there to register, never ran (cold and warm).
    sandbox.write(PKG)
    code = INSTALL + "from pkg import a, b\nimport pkg\nprint(a.f(), pkg.REGISTRY)\n"
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["1 ['b']"]
    same_outcome(eager, cold, warm)


def test_a_star_imports_unread_submodules_of_all_run_at_the_statement(sandbox: Sandbox) -> None:
    # The tutorial's ``sound.effects``: ``__all__`` names submodules, each registering.
    sandbox.write({**PKG, "pkg/__init__.py": "REGISTRY = []\n__all__ = ['a', 'b']\n"})
    code = INSTALL + "from pkg import *\nimport pkg\nprint(a.f(), pkg.REGISTRY)\n"
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["1 ['b']"]
    same_outcome(eager, cold, warm)


@pytest.mark.parametrize("local", ["{}", "Namespace()"])
def test_exec_with_separate_locals_gets_the_real_objects(sandbox: Sandbox, local: str) -> None:
    # exec(code, g, l) binds into l; the namespace remembered for settling was g, so the
    # stand-ins in l stayed for good (warm): ``l["Point"] is shapes.Point`` was False (and
    # with a dict subclass as l, after the first fix, too).
    sandbox.write({"shapes.py": "class Point:\n    pass\ndef area():\n    return 0\n"})
    code = (
        INSTALL
        + "class Namespace(dict):\n    pass\n"
        + f"g, l = {{}}, {local}\n"
        + "exec('from shapes import Point, area\\narea()\\n', g, l)\n"
        + "import shapes\n"
        + "print(l['Point'] is shapes.Point, type(l['Point']).__name__, l['area'] is shapes.area)\n"
    )
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["True type True"]
    same_outcome(eager, cold, warm)


def test_a_star_import_whose_names_the_script_redefines_runs_its_module(
    sandbox: Sandbox,
) -> None:
    # ``from helpers import *`` then the script's own ``def main()``: the script's loads of
    # its own ``main`` counted as reads of the star import's, so helpers never ran (warm).
    sandbox.write(
        {
            "helpers.py": "import atexit\nprint('helpers ran')\n"
            "atexit.register(lambda: print('helpers atexit'))\n"
            "def main():\n    print('helpers main')\n"
        }
    )
    code = INSTALL + "from helpers import *\ndef main():\n    print('script main')\nmain()\n"
    eager, cold, warm = sandbox.eager_cold_warm(code)
    assert eager.lines == ["helpers ran", "script main", "helpers atexit"]
    same_outcome(eager, cold, warm)
