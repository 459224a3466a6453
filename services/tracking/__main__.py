"""python -m services.tracking: health, reflection and UNIMPLEMENTED until the Tracking issue lands."""

from healthmesh.tracking.v1 import tracking_internal_service_pb2_grpc as internal
from healthmesh.tracking.v1 import tracking_service_pb2_grpc as public

from services.common.app import main, pending_build
from services.common.server import ServiceSpec

SPEC = ServiceSpec("tracking", internal_services=("healthmesh.tracking.v1.TrackingInternalService",))


def add_servicers(server) -> None:
    public.add_TrackingServiceServicer_to_server(public.TrackingServiceServicer(), server)
    internal.add_TrackingInternalServiceServicer_to_server(internal.TrackingInternalServiceServicer(), server)


main(SPEC, pending_build(SPEC, add_servicers))
