"""The API server's edge: the bearer token, the Host header, and request bodies (media type, size, framing).

Requests here are written by hand (http.client, or bytes on a socket where the framing itself is under test),
so nothing the official client adds hides what the server does with what it is sent.
"""

from __future__ import annotations

import http.client
import json
import socket
from urllib.parse import urlsplit

import kubernetes
import pytest
import yaml

from pipeline_queue.devcluster.apiserver.body import MAX_BODY

SECRETS = "/api/v1/namespaces/default/secrets"


@pytest.fixture(scope="module")
def port(devcluster) -> int:
    return int(urlsplit(devcluster.url).port)


@pytest.fixture(scope="module")
def bearer(devcluster) -> dict[str, str]:
    return {"Authorization": f"Bearer {devcluster.token}"}


def send(port, method, path, *, headers=None, body=None):
    """(status, headers, JSON body or text) of one request on a fresh connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    is_json = response.getheader("Content-Type") == "application/json"
    return response.status, response, json.loads(data) if is_json else data


def exchange(port, data: bytes, *, half_close=False) -> http.client.HTTPResponse:
    """Send raw bytes, read one response (its body read, so the socket can close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(data)
        if half_close:
            conn.shutdown(socket.SHUT_WR)
        response = http.client.HTTPResponse(conn)
        response.begin()
        response.body = response.read()
        return response


def head(port, method, path, *, token="", extra=""):
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}{extra}\r\n".encode()


# Authentication ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/namespaces", "/api", "/api/v1", "/apis", "/version", "/", "/nowhere"])
def test_without_the_token_every_path_but_health_is_401_unauthorized(port, path):
    code, response, body = send(port, "GET", path)
    assert code == 401
    assert body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
    assert response.getheader("WWW-Authenticate").startswith("Bearer")


def test_the_kubeconfig_carries_the_token_the_server_requires(devcluster):
    config = yaml.safe_load(devcluster.kubeconfig_path.read_text())
    assert config["users"][0]["user"]["token"] == devcluster.token
    assert len(devcluster.token) >= 32


@pytest.mark.parametrize("authorization",
                         ["Bearer wrong", "Bearer", "Basic dXNlcjpwYXNz", "{token}", "Bearer {token}x"])
def test_a_wrong_or_malformed_token_is_401(port, devcluster, authorization):
    code, _, body = send(port, "GET", "/api/v1/namespaces",
                         headers={"Authorization": authorization.format(token=devcluster.token)})
    assert (code, body["reason"]) == (401, "Unauthorized")


def test_the_kubeconfig_token_is_accepted_and_the_scheme_in_any_case(port, devcluster):
    for scheme in ("Bearer", "bearer", "BEARER"):
        headers = {"Authorization": f"{scheme} {devcluster.token}"}
        code, _, body = send(port, "GET", "/api/v1/namespaces", headers=headers)
        assert code == 200 and body["kind"] == "NamespaceList"


@pytest.mark.parametrize("path", ["/healthz", "/livez", "/readyz"])
def test_health_endpoints_need_no_token(port, path):
    code, _, body = send(port, "GET", path)
    assert (code, body) == (200, b"ok")


def test_a_write_without_the_token_is_refused_before_its_body_is_read(port, core):
    code, _, body = send(port, "POST", SECRETS, body=json.dumps({"metadata": {"name": "sneaky"}}),
                         headers={"Content-Type": "application/json"})
    assert (code, body["reason"]) == (401, "Unauthorized")
    assert "sneaky" not in [s.metadata.name for s in core.list_namespaced_secret("default").items]


def test_a_client_without_the_token_gets_the_official_clients_401(devcluster, tmp_path):
    authority = tmp_path / "ca.crt"
    authority.write_bytes(devcluster.certificate_authority)
    configuration = kubernetes.client.Configuration()
    configuration.host = devcluster.url
    configuration.ssl_ca_cert = str(authority)
    with kubernetes.client.ApiClient(configuration) as anonymous, \
            pytest.raises(kubernetes.client.ApiException) as refused:
        kubernetes.client.CoreV1Api(anonymous).list_namespace()
    assert refused.value.status == 401


def test_a_401_without_a_body_keeps_the_connection_for_the_next_request(port, bearer):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/api")
        first = connection.getresponse()
        first.read()
        connection.request("GET", "/api", headers=bearer)
        second = connection.getresponse()
        assert (first.status, second.status) == (401, 200)
        assert json.loads(second.read())["kind"] == "APIVersions"
    finally:
        connection.close()


# The Host header --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["localhost:{port}", "LOCALHOST:{port}", "127.0.0.1:{port}", "[::1]:{port}"])
def test_loopback_hosts_with_the_servers_port_are_served(port, bearer, host):
    code, _, _ = send(port, "GET", "/api", headers={**bearer, "Host": host.format(port=port)})
    assert code == 200


@pytest.mark.parametrize("host", ["evil.example:{port}", "evil.example", "127.0.0.1", "localhost:1",
                                  "127.0.0.2:{port}", "localhost.evil.example:{port}", "0.0.0.0:{port}"])
def test_any_other_host_is_403_even_with_the_token_and_for_health(port, bearer, host):
    """DNS rebinding: a page on evil.example that made its name resolve to 127.0.0.1 still sends its own Host."""
    for path, headers in (("/api/v1/namespaces", bearer), ("/healthz", {})):
        code, _, body = send(port, "GET", path, headers={**headers, "Host": host.format(port=port)})
        assert (code, body["kind"], body["reason"]) == (403, "Status", "Forbidden")
        assert json.dumps(host.format(port=port)) in body["message"]
        assert f"127.0.0.1:{port}" in body["message"]


def test_a_request_without_a_host_header_is_400(port):
    response = exchange(port, b"GET /healthz HTTP/1.0\r\n\r\n")
    assert response.status == 400
    assert json.loads(response.body)["message"] == "missing required Host header"


# Bodies: media type -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("media", ["text/plain", "application/yaml"])
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_a_body_in_a_media_type_the_server_does_not_read_is_415(port, bearer, media, method):
    path = SECRETS if method == "POST" else f"{SECRETS}/some-secret"
    code, _, body = send(port, method, path, body=b'{"metadata": {"name": "some-secret"}}',
                         headers={**bearer, "Content-Type": media})
    assert (code, body["kind"], body["reason"]) == (415, "Status", "UnsupportedMediaType")
    assert body["message"] == ("the body of the request was in an unknown format - accepted media types include: "
                               "application/json, application/vnd.kubernetes.protobuf")


def test_protobuf_is_read_only_for_the_kinds_kubectls_typed_clients_send(port, bearer):
    code, _, body = send(port, "POST", "/api/v1/namespaces/default/pods", body=b"k8s\x00",
                         headers={**bearer, "Content-Type": "application/vnd.kubernetes.protobuf"})
    assert (code, body["reason"]) == (415, "UnsupportedMediaType")
    code, _, body = send(port, "POST", SECRETS, body=b'{"metadata": {}}',
                         headers={**bearer, "Content-Type": "application/vnd.kubernetes.protobuf"})
    assert (code, body["reason"]) == (400, "BadRequest")
    assert "not a protobuf message" in body["message"]


def test_json_with_a_charset_or_no_content_type_at_all_is_read(port, bearer, namespace):
    for name, headers in (("with-charset", {"Content-Type": "application/json; charset=utf-8"}), ("bare", {})):
        code, _, body = send(port, "POST", f"/api/v1/namespaces/{namespace}/secrets",
                             body=json.dumps({"metadata": {"name": name}}), headers={**bearer, **headers})
        assert (code, body["metadata"]["name"]) == (201, name)


def test_a_delete_options_body_in_another_media_type_is_415(port, bearer):
    code, _, body = send(port, "DELETE", f"{SECRETS}/whatever", body=b"gracePeriodSeconds: 0",
                         headers={**bearer, "Content-Type": "application/yaml"})
    assert (code, body["reason"]) == (415, "UnsupportedMediaType")


def test_undecodable_json_is_a_400_status(port, bearer):
    for data in (b"{not json", b"\xff\xfe", b"[" * 100_000):
        code, _, body = send(port, "POST", SECRETS, body=data, headers={**bearer, "Content-Type": "application/json"})
        assert (code, body["reason"]) == (400, "BadRequest")
        assert body["message"].startswith("error decoding request body")


# Bodies: size and framing -----------------------------------------------------------------------------------------

def test_a_body_over_3_mib_is_413_before_any_of_it_is_sent(port, devcluster):
    # Only the headers go out: the answer comes without the server waiting for (or reading) a byte of the body.
    response = exchange(port, head(port, "POST", SECRETS, token=devcluster.token,
                                   extra=f"Content-Type: application/json\r\nContent-Length: {MAX_BODY + 1}\r\n"))
    assert response.status == 413
    assert json.loads(response.body) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": f"Request entity too large: limit is {MAX_BODY}", "reason": "RequestEntityTooLarge", "code": 413}
    assert response.getheader("Connection") == "close"


def test_expect_100_continue_gets_413_instead_of_continue_for_a_body_too_large(port, devcluster):
    extra = f"Expect: 100-continue\r\nContent-Length: {MAX_BODY * 2}\r\n"
    response = exchange(port, head(port, "POST", SECRETS, token=devcluster.token, extra=extra))
    assert response.status == 413


def test_expect_100_continue_is_answered_once_the_headers_pass(port, devcluster, namespace):
    body = json.dumps({"metadata": {"name": "continued"}}).encode()
    extra = f"Expect: 100-continue\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(head(port, "POST", f"/api/v1/namespaces/{namespace}/secrets", token=devcluster.token, extra=extra))
        assert conn.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        conn.sendall(body)
        response = http.client.HTTPResponse(conn)
        response.begin()
        assert response.status == 201


def test_expect_100_continue_without_the_token_gets_401_and_never_continue(port):
    response = exchange(port, head(port, "POST", SECRETS, extra="Expect: 100-continue\r\nContent-Length: 10\r\n"))
    assert response.status == 401


def test_a_chunked_body_is_cut_off_with_413_once_it_passes_the_limit(port, devcluster):
    chunk = b"x" * (1024 * 1024)
    data = head(port, "POST", SECRETS, token=devcluster.token,
                extra="Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n")
    data += b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(4)) + b"0\r\n\r\n"
    response = exchange(port, data)
    assert (response.status, json.loads(response.body)["reason"]) == (413, "RequestEntityTooLarge")


def test_a_body_of_exactly_the_limit_is_read(port, bearer, namespace):
    data = json.dumps({"metadata": {"name": "at-the-limit"}}).encode()
    data += b" " * (MAX_BODY - len(data))  # whitespace after the value is still JSON
    code, _, body = send(port, "POST", f"/api/v1/namespaces/{namespace}/secrets", body=data,
                         headers={**bearer, "Content-Type": "application/json"})
    assert (code, body["metadata"]["name"]) == (201, "at-the-limit")


def test_a_chunked_body_within_the_limit_is_read(port, devcluster, namespace):
    body = json.dumps({"metadata": {"name": "chunked"}}).encode()
    data = head(port, "POST", f"/api/v1/namespaces/{namespace}/secrets", token=devcluster.token,
                extra="Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n")
    data += b"5;ext=1\r\n%s\r\n%x\r\n%s\r\n0\r\nX-Trailer: t\r\n\r\n" % (body[:5], len(body) - 5, body[5:])
    response = exchange(port, data)
    assert response.status == 201 and json.loads(response.body)["metadata"]["name"] == "chunked"


@pytest.mark.parametrize("framing", [
    "Content-Length: 12x\r\n", "Content-Length: -1\r\n", "Content-Length: 1e3\r\n",
    "Content-Length: 5\r\nContent-Length: 6\r\n", "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
])
def test_a_wrong_content_length_is_a_400_status_and_closes_the_connection(port, devcluster, framing):
    response = exchange(port, head(port, "POST", SECRETS, token=devcluster.token, extra=framing) + b"{}")
    assert response.status == 400
    assert json.loads(response.body)["reason"] == "BadRequest"
    assert response.getheader("Connection") == "close"


def test_a_body_shorter_than_its_content_length_is_a_400(port, devcluster):
    extra = "Content-Type: application/json\r\nContent-Length: 40\r\n"
    response = exchange(port, head(port, "POST", SECRETS, token=devcluster.token, extra=extra) + b'{"meta',
                        half_close=True)
    assert response.status == 400
    assert json.loads(response.body)["message"] == "the request body ended after 6 of its 40 bytes"


def test_malformed_chunks_are_a_400(port, devcluster):
    data = head(port, "POST", SECRETS, token=devcluster.token, extra="Transfer-Encoding: chunked\r\n")
    response = exchange(port, data + b"zz\r\n{}\r\n0\r\n\r\n")
    assert response.status == 400
    assert "malformed chunked encoding" in json.loads(response.body)["message"]


def test_an_unsupported_transfer_encoding_is_501(port, devcluster):
    response = exchange(port, head(port, "POST", SECRETS, token=devcluster.token, extra="Transfer-Encoding: gzip\r\n"))
    assert response.status == 501


def test_a_write_without_any_body_is_judged_as_an_empty_object(port, bearer):
    code, _, body = send(port, "POST", SECRETS, headers={**bearer, "Content-Type": "application/json"})
    assert (code, body["reason"]) == (422, "Invalid")
