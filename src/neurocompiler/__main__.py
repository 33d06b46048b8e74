"""``python -m neurocompiler``: the ``neurocompiler`` command."""

import sys

from .cli import main

sys.exit(main())
