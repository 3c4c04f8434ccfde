"""``python -m hub``: the same as the ``switchboard`` command."""

import sys

from hub.cli import main

sys.exit(main())
