"""`python -m hashbench` runs the command line, like the `hashbench` script."""

import sys

from .cli import main

sys.exit(main())
