"""``python -m maskpatrol.train``: see :mod:`maskpatrol.training.train`."""

import sys

from .training.train import main

if __name__ == "__main__":
    sys.exit(main())
