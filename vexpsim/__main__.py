"""`python -m vexpsim ...`: the CLI of the `vexpsim` script (runs the checkout on PYTHONPATH)."""

import sys

from .cli import main

sys.exit(main())
