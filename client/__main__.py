"""python -m client ... (the same as the `healthmesh` command)"""

import sys

from client.cli import main

sys.exit(main())
