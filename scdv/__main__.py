"""``python -m scdv`` runs the ``scdv`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
