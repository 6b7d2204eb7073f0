"""`python -m hashbench.cli` runs the command line, like the `hashbench` script."""

import sys

from . import main

sys.exit(main())
