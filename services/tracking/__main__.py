"""python -m services.tracking"""

from services.common.app import main
from services.tracking.app import SPEC, build

main(SPEC, build)
