"""``python -m lazyhook``: see ``lazyhook._cli``."""

import sys

from lazyhook._cli import main

if __name__ == "__main__":
    sys.exit(main())
