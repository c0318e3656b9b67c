"""Read only by programs that ``lazyhook run``/``report`` start: this directory is first on
their ``PYTHONPATH``, so ``site`` runs this file before the program.  ``start_run`` takes the
directory off ``sys.path`` again, puts ``PYTHONPATH`` back, runs the environment's own
``sitecustomize`` and installs lazyhook (see ``lazyhook/_startup.py``).

lazyhook is imported from beside this file: the copy that runs ``run`` (one importable only
from the working directory, ``python -m lazyhook run`` in a checkout, is not on the
program's ``sys.path``), and only for this import.
"""

import os
import sys

_package_dir = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if "lazyhook" not in sys.modules:  # (already imported by the .pth activation: that one)
    _known = _package_dir in sys.path
    sys.path.insert(0, _package_dir)
    try:
        import lazyhook._startup  # noqa: F401 - from here, then as below
    finally:
        sys.path.remove(_package_dir)
        if not _known:
            sys.path_importer_cache.pop(_package_dir, None)

from lazyhook._startup import start_run  # noqa: E402

start_run(__file__)
