"""``python -m boundarytrace``: the command line tool (see boundarytrace.cli)."""

import sys

from .cli import main

sys.exit(main())
