"""python -m services.device: health, reflection and UNIMPLEMENTED until the Device issue lands."""

from healthmesh.device.v1 import device_service_pb2_grpc as public

from services.common.app import main, pending_build
from services.common.server import ServiceSpec

SPEC = ServiceSpec("device")


def add_servicers(server) -> None:
    public.add_DeviceServiceServicer_to_server(public.DeviceServiceServicer(), server)


main(SPEC, pending_build(SPEC, add_servicers))
