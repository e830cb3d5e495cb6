"""Drone's registry extension protocol: the body, its signature (checked against the draft by hand here), the
answer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from pipeline_queue.errors import CredentialPluginError
from pipeline_queue.registry.extension import ExtensionRequest, parse_registries, signed_headers

REQUEST = ExtensionRequest(repo={"id": 3, "namespace": "octo", "name": "hello", "slug": "octo/hello"},
                           build={"number": 7, "event": "push", "after": "c" * 40}, pipeline="default")
DATE = "Tue, 01 Dec 2026 10:00:00 GMT"


def test_the_body_is_drones_repository_and_build_with_the_pipeline_beside_them():
    assert json.loads(REQUEST.body()) == {
        "repo": {"id": 3, "namespace": "octo", "name": "hello", "slug": "octo/hello"},
        "build": {"number": 7, "event": "push", "after": "c" * 40}, "pipeline": {"name": "default"}}


def test_the_signature_is_hmac_sha256_over_drones_headers_in_order():
    body = REQUEST.body()
    headers = signed_headers(body, secret="s3cret-shared", date=DATE)
    assert headers["accept"] == "application/vnd.drone.registry.v1+json"
    assert headers["digest"] == "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
    signing = (f"accept: application/vnd.drone.registry.v1+json\naccept-encoding: identity\n"
               f"content-type: application/json\ndate: {DATE}\ndigest: {headers['digest']}")
    mac = base64.b64encode(hmac.new(b"s3cret-shared", signing.encode(), hashlib.sha256).digest()).decode()
    assert headers["signature"] == (f'keyId="hmac-key",algorithm="hmac-sha256",signature="{mac}",'
                                    'headers="accept accept-encoding content-type date digest"')
    assert "s3cret-shared" not in json.dumps(headers)


def test_an_answer_is_a_list_of_address_username_password():
    answer = json.dumps([{"address": "registry.example.com", "username": "ci", "password": "pw-fake-77"},
                         {"address": "https://index.docker.io/v1/", "username": "hub", "password": "pw-fake-78",
                          "email": "", "token": ""}]).encode()
    config = parse_registries(answer, endpoint="http://plugin")
    assert config.source == "plugin: http"
    assert [(auth.key, auth.username) for auth in config.auths] == [("registry.example.com", "ci"),
                                                                    ("https://index.docker.io/v1/", "hub")]
    assert parse_registries(b"", endpoint="http://plugin").auths == ()


@pytest.mark.parametrize("answer", [b"{}", b"not json", b'[{"username": "u", "password": "pw-fake-79"}]',
                                    b'[{"address": "x", "password": 7}]', b'["pw-fake-79"]'])
def test_anything_else_is_an_error_that_shows_nothing_of_the_answer(answer):
    with pytest.raises(CredentialPluginError, match=r"plugin: http \(http://plugin\)") as raised:
        parse_registries(answer, endpoint="http://plugin")
    assert "pw-fake" not in str(raised.value)
