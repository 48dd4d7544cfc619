"""Run the command-line interface: ``python -m jsae_fast``."""

import sys

from .cli import main

sys.exit(main())
