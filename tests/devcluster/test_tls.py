"""TLS on the API server's port (kubectl sends its token only over https), beside plain HTTP on the same port."""

from __future__ import annotations

import http.client
import socket
import ssl
from urllib.parse import urlsplit

import pytest


@pytest.fixture(scope="module")
def port(devcluster) -> int:
    return int(urlsplit(devcluster.url).port)


@pytest.fixture(scope="module")
def trusting(devcluster) -> ssl.SSLContext:
    """A client context trusting only the cluster's authority, checking host names as kubectl does."""
    return ssl.create_default_context(cadata=devcluster.certificate_authority.decode())


def _get(connection: http.client.HTTPConnection, path: str, token: str = "") -> tuple[int, bytes]:
    try:
        connection.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_the_certificate_is_valid_for_the_loopback_names_clients_use(port, trusting, devcluster, host):
    assert _get(http.client.HTTPSConnection(host, port, context=trusting, timeout=10), "/api",
                token=devcluster.token)[0] == 200


def test_plain_http_is_served_on_the_same_port(port, devcluster):
    assert _get(http.client.HTTPConnection("127.0.0.1", port, timeout=10), "/healthz") == (200, b"ok")


def test_a_client_trusting_other_authorities_refuses_the_certificate(port):
    with pytest.raises(ssl.SSLCertVerificationError):
        _get(http.client.HTTPSConnection("127.0.0.1", port, context=ssl.create_default_context(), timeout=10),
             "/healthz")


def test_a_client_that_gives_up_mid_handshake_leaves_the_server_serving(port, trusting):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as broken:
        broken.sendall(b"\x16\x03\x01\x00\x05hello")
    assert _get(http.client.HTTPSConnection("127.0.0.1", port, context=trusting, timeout=10), "/healthz") == (
        200, b"ok")
