"""python -m services.ingest: health, reflection and UNIMPLEMENTED until the Ingest issue lands."""

from healthmesh.ingest.v1 import ingest_service_pb2_grpc as public

from services.common.app import main, pending_build
from services.common.server import ServiceSpec

SPEC = ServiceSpec("ingest")


def add_servicers(server) -> None:
    public.add_IngestServiceServicer_to_server(public.IngestServiceServicer(), server)


main(SPEC, pending_build(SPEC, add_servicers))
