"""``python -m galcolor`` runs the :mod:`galcolor.cli` command line."""

import sys

from .cli import main

sys.exit(main())
