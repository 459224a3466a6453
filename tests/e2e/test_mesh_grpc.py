"""The mesh through Envoy's public listener with grpcurl: reflection, health, calls, refusals."""

from __future__ import annotations

import json

import pytest

from services.common.contract import public_services
from tests.e2e.conftest import grpcurl, new_user

pytestmark = pytest.mark.e2e


def test_reflection_lists_the_five_services_health_and_reflection(mesh):
    out = grpcurl(mesh, "list")
    assert out.returncode == 0, out.stderr
    listed = set(out.stdout.split())
    assert set(public_services().values()) <= listed
    assert {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= listed
    assert not any(name.endswith("InternalService") for name in listed)


def test_describe_shows_the_contract(mesh):
    out = grpcurl(mesh, "describe", "healthmesh.auth.v1.AuthService.Login")
    assert out.returncode == 0, out.stderr
    assert "rpc Login ( .healthmesh.auth.v1.LoginRequest ) returns ( .healthmesh.auth.v1.LoginResponse )" in out.stdout


@pytest.mark.parametrize("service", sorted(public_services().values()))
def test_health_answers_for_each_service_name(mesh, service):
    out = grpcurl(mesh, "grpc.health.v1.Health/Check", data={"service": service})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["status"] == "SERVING"


def test_health_for_an_unknown_name_is_not_found(mesh):
    out = grpcurl(mesh, "grpc.health.v1.Health/Check", data={"service": "healthmesh.nope.v1.NopeService"})
    assert out.returncode != 0 and "NotFound" in out.stderr


def test_authenticated_call_with_an_authorization_header(mesh, http):
    session = new_user(http)
    out = grpcurl(mesh, "healthmesh.auth.v1.AuthService/GetUser", data={"name": "users/me"},
                  headers={"authorization": f"Bearer {session['accessToken']}"})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["name"] == session["user"]["name"]


def test_calls_without_credentials_are_unauthenticated(mesh):
    out = grpcurl(mesh, "healthmesh.auth.v1.AuthService/GetUser", data={"name": "users/me"})
    assert out.returncode != 0 and "Unauthenticated" in out.stderr


def test_internal_rpcs_are_refused_on_the_public_listener(mesh, http):
    session = new_user(http)
    out = grpcurl(mesh, "healthmesh.auth.v1.AuthInternalService/AuthenticateApiKey", data={"secret": "hm_x"},
                  headers={"authorization": f"Bearer {session['accessToken']}",
                           "x-healthmesh-service-token": "guess"},
                  options=("-import-path", "proto", "-import-path", "third_party/googleapis",
                           "-proto", "healthmesh/auth/v1/auth_internal_service.proto"))
    assert out.returncode != 0 and "Unimplemented" in out.stderr, out.stderr


@pytest.mark.parametrize("method", [
    "healthmesh.device.v1.DeviceService/ListDevices",
    "healthmesh.insight.v1.InsightService/GetRecommendations",
])
def test_services_not_built_yet_answer_unimplemented(mesh, http, method):
    session = new_user(http)
    data = {"parent": "users/me"}
    out = grpcurl(mesh, method, data=data, headers={"authorization": f"Bearer {session['accessToken']}"})
    assert out.returncode != 0 and "Unimplemented" in out.stderr, out.stderr
