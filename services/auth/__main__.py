"""python -m services.auth"""

from services.auth.app import SPEC, build
from services.common.app import main

main(SPEC, build)
