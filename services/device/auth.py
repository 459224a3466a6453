"""Device meets Auth for the keys bound to its devices: a deleted device's keys are revoked."""

from __future__ import annotations

import uuid

from healthmesh.auth.v1 import auth_internal_service_pb2, auth_internal_service_pb2_grpc

from services.common.peers import Peers


class GrpcKeyRevoker:
    def __init__(self, peers: Peers) -> None:
        self._peers = peers

    async def revoke_device_keys(self, user_id: uuid.UUID, device_name: str) -> int:
        """Revokes the device's keys (Auth publishes the revocations, which end its streams);
        raises as gRPC does when Auth is away, and the queue tries again later."""
        stub = auth_internal_service_pb2_grpc.AuthInternalServiceStub(self._peers.channel("auth"))
        reply = await stub.RevokeDeviceApiKeys(
            auth_internal_service_pb2.RevokeDeviceApiKeysRequest(device=device_name),
            metadata=self._peers.metadata(str(user_id)), timeout=5.0)
        return reply.revoked
