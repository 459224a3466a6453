"""Users' profiles (birth date, sex, time zone), read from Auth and cached briefly."""

from __future__ import annotations

import datetime as dt
import uuid

import grpc
from healthmesh.auth.v1 import auth_service_pb2, auth_service_pb2_grpc, user_pb2

from services.common.cache import TtlCache
from services.common.errors import Unavailable
from services.common.peers import Peers
from services.tracking.ports import Profile


class AuthProfiles:
    def __init__(self, peers: Peers, cache_seconds: float = 10.0) -> None:
        self._peers = peers
        self._cache = TtlCache(cache_seconds)

    async def profile(self, user_id: uuid.UUID) -> Profile:
        hit = self._cache.get(user_id)
        if hit is not None:
            return hit  # type: ignore[return-value]
        stub = auth_service_pb2_grpc.AuthServiceStub(self._peers.channel("auth"))
        try:
            user = await stub.GetUser(auth_service_pb2.GetUserRequest(name="users/me"),
                                      metadata=self._peers.metadata(str(user_id)), timeout=5.0)
        except grpc.aio.AioRpcError as exc:
            raise Unavailable(f"the user's profile is unavailable: {exc.code().name}") from None
        profile = Profile(
            birth_date=dt.date.fromisoformat(user.birth_date) if user.birth_date else None,
            sex=user_pb2.Sex.Name(user.sex) if user.sex else "",
            time_zone=user.time_zone,
        )
        self._cache.put(user_id, profile)
        return profile
