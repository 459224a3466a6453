"""python -m services.insight: health, reflection and UNIMPLEMENTED until the Insight issue lands."""

from healthmesh.insight.v1 import insight_internal_service_pb2_grpc as internal
from healthmesh.insight.v1 import insight_service_pb2_grpc as public

from services.common.app import main, pending_build
from services.common.server import ServiceSpec

SPEC = ServiceSpec("insight", internal_services=("healthmesh.insight.v1.InsightInternalService",))


def add_servicers(server) -> None:
    public.add_InsightServiceServicer_to_server(public.InsightServiceServicer(), server)
    internal.add_InsightInternalServiceServicer_to_server(internal.InsightInternalServiceServicer(), server)


main(SPEC, pending_build(SPEC, add_servicers))
