"""`python -m core.cli`: the same as the installed `snapseek` command."""

import sys

from core.cli import main

sys.exit(main())
