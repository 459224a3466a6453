"""python -m services.device"""

from services.common.app import main
from services.device.app import SPEC, build

main(SPEC, build)
