"""``python -m maskpatrol.evaluate``: see :mod:`maskpatrol.training.evaluate`."""

import sys

from .training.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
