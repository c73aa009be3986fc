"""``python -m boundarytrace.cli``: the command line tool (see boundarytrace.cli)."""

import sys

from . import main

sys.exit(main())
