"""python -m services.insight"""

from services.common.app import main
from services.insight.app import SPEC, build

main(SPEC, build)
