"""The SDK when things go wrong, on a mesh of its own: access tokens that live 3 s (Auth's
HEALTHMESH_ACCESS_TOKEN_TTL_SECONDS), so the refresh is the real one, and a Tracking that is
stopped and started again, so UNAVAILABLE comes from Envoy as it would in production."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import threading
import time
import uuid

import grpc
import pytest
from healthmesh.auth.v1 import auth_service_pb2, auth_service_pb2_grpc
from healthmesh.tracking.v1 import sample_pb2

import healthmesh_client as hm
from services.runner.mesh import Mesh, temporary_mesh
from tests.e2e.conftest import PASSWORD
from tests.e2e.test_sdk import T, heart_rate, next_within, ts

pytestmark = pytest.mark.e2e

TOKEN_TTL_SECONDS = 3
WAIT_SECONDS = 60


@pytest.fixture(scope="module")
def mesh():
    before = os.environ.get("HEALTHMESH_ACCESS_TOKEN_TTL_SECONDS")
    os.environ["HEALTHMESH_ACCESS_TOKEN_TTL_SECONDS"] = str(TOKEN_TTL_SECONDS)  # the services read it at start
    try:
        with temporary_mesh("healthmesh-sdk-") as m:
            yield m
    finally:
        if before is None:
            os.environ.pop("HEALTHMESH_ACCESS_TOKEN_TTL_SECONDS")
        else:
            os.environ["HEALTHMESH_ACCESS_TOKEN_TTL_SECONDS"] = before


def grpc_url(mesh: Mesh) -> str:
    return mesh.endpoints()["grpc"]


def registered(mesh: Mesh) -> str:
    email = f"sdk-{uuid.uuid4().hex[:12]}@example.org"
    with hm.Client(grpc_url(mesh)) as anonymous:
        anonymous.auth.register(email=email, password=PASSWORD, display_name="SDK")
    return email


def wait_until_expired(mesh: Mesh, token: str) -> None:
    """Until Auth refuses `token` as expired (checked with a plain stub, not the SDK)."""
    deadline = time.monotonic() + WAIT_SECONDS
    with grpc.insecure_channel(grpc_url(mesh)) as channel:
        stub = auth_service_pb2_grpc.AuthServiceStub(channel)
        while True:
            try:
                stub.GetUser(auth_service_pb2.GetUserRequest(name="users/me"), timeout=10,
                             metadata=(("authorization", f"Bearer {token}"),))
            except grpc.RpcError as exc:
                assert exc.code() == grpc.StatusCode.UNAUTHENTICATED, exc
                return
            assert time.monotonic() < deadline, "the access token did not expire"
            time.sleep(0.5)


def test_an_expired_access_token_is_refreshed_and_the_call_repeated(mesh):
    email = registered(mesh)
    with hm.Client(grpc_url(mesh), email=email, password=PASSWORD) as client:
        client.tracking.create_sample(parent="users/me", sample=heart_rate(T))
        first, refresh_token = client.credentials.access_token, client.credentials.refresh_token
        assert client.credentials.refreshes == 1  # the login at the first call
        wait_until_expired(mesh, first)
        assert len(client.tracking.list_samples(parent="users/me").samples) == 1
        assert client.credentials.refreshes == 2 and client.credentials.access_token != first
        assert client.credentials.refresh_token != refresh_token  # Auth rotates it


async def test_the_async_client_refreshes_with_a_refresh_token(mesh):
    email = registered(mesh)
    with hm.Client(grpc_url(mesh)) as sync:
        login = sync.auth.login(email=email, password=PASSWORD)
    async with hm.AsyncClient(grpc_url(mesh), token=login.access_token, refresh_token=login.refresh_token) as client:
        assert (await client.auth.get_user(name="users/me")).name == login.user.name
        assert client.credentials.refreshes == 0  # it had a token
        await asyncio.to_thread(wait_until_expired, mesh, login.access_token)
        assert (await client.auth.get_user(name="users/me")).name == login.user.name
        assert client.credentials.refreshes == 1


def test_unavailable_is_retried_for_idempotent_calls_and_writes_with_a_request_id(mesh):
    email = registered(mesh)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)
    policy = hm.RetryPolicy(max_attempts=100, initial_backoff=0.05, max_backoff=0.5)
    with hm.Client(grpc_url(mesh), email=email, password=PASSWORD, retry=policy, timeout=WAIT_SECONDS,
                   sleep=sleep) as client:
        client.auth.get_user(name="users/me")
        tracking = mesh.children["tracking"]
        tracking.send_signal(signal.SIGTERM)
        tracking.wait(30)
        try:
            with pytest.raises(hm.Unavailable):  # a write without a request_id is not repeated
                client.tracking.create_sample(parent="users/me", sample=heart_rate(T))
            assert waits == []
            restart = threading.Timer(1.0, mesh.restart, args=("tracking",))
            restart.start()
            made = client.tracking.create_sample(parent="users/me", sample=heart_rate(T), request_id=str(uuid.uuid4()))
            assert waits  # retried while Tracking was down
            restart.join()
        finally:
            if mesh.children["tracking"].poll() is not None:
                mesh.restart("tracking")
        waits.clear()
        tracking = mesh.children["tracking"]
        tracking.send_signal(signal.SIGTERM)
        tracking.wait(30)
        threading.Timer(1.0, mesh.restart, args=("tracking",)).start()
        samples = client.tracking.list_samples(parent="users/me").samples  # idempotent: retried
        assert [s.name for s in samples] == [made.name] and waits


def test_a_deadline_bounds_the_retries(mesh):
    email = registered(mesh)
    with hm.Client(grpc_url(mesh), email=email, password=PASSWORD,
                   retry=hm.RetryPolicy(max_attempts=1000, initial_backoff=0.05, max_backoff=0.2)) as client:
        client.auth.get_user(name="users/me")
        tracking = mesh.children["tracking"]
        tracking.send_signal(signal.SIGTERM)
        tracking.wait(30)
        try:
            with pytest.raises((hm.Unavailable, hm.DeadlineExceeded)):
                client.tracking.list_samples(parent="users/me", timeout=1.0)
        finally:
            mesh.restart("tracking")
        deadline = time.monotonic() + WAIT_SECONDS
        while True:  # back: the default deadline and retries ride out Envoy's health check
            try:
                client.tracking.get_latest_samples(parent="users/me", types=["heart_rate"])
                break
            except hm.Unavailable:
                assert time.monotonic() < deadline


def low_spo2(client: hm.Client, minutes_ago: int) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    client.tracking.batch_create_samples(parent="users/me", samples=[
        sample_pb2.Sample(type="spo2", start_time=ts(now - dt.timedelta(minutes=minutes_ago + 1)), value=97, unit="%"),
        sample_pb2.Sample(type="spo2", start_time=ts(now - dt.timedelta(minutes=minutes_ago)), value=80, unit="%")])


def test_the_alerts_watch_resumes_after_insight_restarts(mesh):
    """An alert, Insight stopped (its open streams end with UNAVAILABLE) and started again, a second
    alert: the watch yields both, once each, having reconnected from the first."""
    email = registered(mesh)
    with hm.Client(grpc_url(mesh), email=email, password=PASSWORD) as client:
        watch = client.watch_alerts(heartbeat_interval_seconds=5, initial_backoff=0.05, max_backoff=0.5)
        alerts = iter(watch)
        low_spo2(client, 30)
        first = next_within(alerts, "first alert")
        insight = mesh.children["insight"]
        insight.send_signal(signal.SIGTERM)
        insight.wait(30)
        mesh.restart("insight")
        low_spo2(client, 10)
        second = next_within(alerts, "alert after the restart")
        assert first.name != second.name and watch.reconnects >= 1 and watch.last_alert == second.name
        assert [a.name for a in client.insight.list_alerts(parent="users/me").alerts] == [second.name, first.name]
