"""Run the command line as ``python -m cgtheory``."""

import sys

from cgtheory.cli import main

sys.exit(main())
