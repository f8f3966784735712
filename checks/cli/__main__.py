"""``python -m sgd_conformance`` (the same as the ``sgd-conformance`` command)."""

import sys

from sgd_conformance.cli import main

sys.exit(main())
