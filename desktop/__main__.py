"""`python -m desktop` and the frozen app's entry point."""

import sys

from desktop.app import main

sys.exit(main())
