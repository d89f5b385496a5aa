"""``python -m tradedata``: the command line."""

import sys

from tradedata.cli import main

sys.exit(main())
