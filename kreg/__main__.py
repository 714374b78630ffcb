"""``python -m kreg`` runs the ``kreg`` command."""

import sys

from kreg.ui.cli import main

sys.exit(main())
