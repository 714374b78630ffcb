"""``python -m kreg`` runs the ``kreg`` command."""

import sys

from kreg.cli import main

sys.exit(main())
