"""On the PYTHONPATH of child interpreters that need store test hooks (see store_hooks)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import store_hooks  # noqa: E402

del sys.path[0]
store_hooks.install_from_env()
