"""The frozen command line's entry point (`snapseek` beside `snapseek-desktop` in the bundle)."""

import sys

from core.cli import main

sys.exit(main())
