"""python -m services.ingest"""

from services.common.app import main
from services.ingest.app import SPEC, build

main(SPEC, build)
