"""``python -m sgd_conformance``."""

import sys

from . import main

sys.exit(main())
