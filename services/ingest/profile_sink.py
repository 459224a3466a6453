"""What an export says about its owner (Apple Health's Me: birth date, sex) fills the gaps in the
user's profile in Auth. It never overwrites what the user set; a disagreement is reported."""

from __future__ import annotations

import uuid

import grpc
from google.protobuf import field_mask_pb2
from healthmesh.auth.v1 import auth_service_pb2, auth_service_pb2_grpc, user_pb2

from services.common.errors import Unavailable
from services.common.peers import Peers
from services.ingest.records import ProfileRecord
from services.ingest.tracking_sink import Outcome


class ProfileSink:
    def __init__(self, peers: Peers) -> None:
        self._peers = peers

    async def apply(self, user_id: uuid.UUID, record: ProfileRecord) -> Outcome:
        stub = auth_service_pb2_grpc.AuthServiceStub(self._peers.channel("auth"))
        metadata = self._peers.metadata(str(user_id))
        try:
            user = await stub.GetUser(auth_service_pb2.GetUserRequest(name="users/me"), metadata=metadata, timeout=10)
            wanted = {"birth_date": record.birth_date.isoformat() if record.birth_date else "",
                      "sex": user_pb2.Sex.Value(record.sex) if record.sex else 0}
            gaps = [f for f, value in wanted.items() if value and not getattr(user, f)]
            differs = [f for f, value in wanted.items() if value and getattr(user, f) and getattr(user, f) != value]
            if gaps:
                await stub.UpdateUser(auth_service_pb2.UpdateUserRequest(
                    user=user_pb2.User(name="users/me", **{f: wanted[f] for f in gaps}),
                    update_mask=field_mask_pb2.FieldMask(paths=gaps)), metadata=metadata, timeout=10)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                return Outcome("rejected", "INVALID_PROFILE", exc.details() or "")
            raise Unavailable(f"auth did not take the profile: {exc.code().name}") from None
        if gaps:
            return Outcome("accepted")
        if differs:
            return Outcome("skipped", "PROFILE_DIFFERS",
                           f"the profile already has another {' and '.join(differs)}; it was left as it is")
        return Outcome("duplicate")
