"""`python -m core.cli`: the same as the installed `snapseek` command."""

import sys

from . import main

sys.exit(main())
