"""``python -m igde_stream``: the ``igde-stream`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
