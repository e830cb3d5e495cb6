"""Protobuf request bodies (the `k8s\\0` envelope) decoded to JSON; the bytes are built here by hand."""

from __future__ import annotations

import pytest

from pipeline_queue.devcluster.apiserver import protobuf
from pipeline_queue.devcluster.apiserver.errors import ApiError


def varint(value):
    out = b""
    while True:
        byte, value = value & 0x7F, value >> 7
        out += bytes([byte | (0x80 if value else 0)])
        if not value:
            return out


def field(number, payload):
    """A length-delimited field (strings, bytes, messages)."""
    data = payload.encode() if isinstance(payload, str) else payload
    return varint(number << 3 | 2) + varint(len(data)) + data


def number(field_number, value):
    return varint(field_number << 3) + varint(value)


def envelope(kind, raw):
    type_meta = field(1, "v1") + field(2, kind)
    return b"k8s\x00" + field(1, type_meta) + field(2, raw) + field(3, "") + field(4, "")


def test_a_secret_as_kubectl_create_secret_sends_it():
    meta = field(1, "token") + field(3, "") + field(8, number(1, (1 << 64) - 62135596800))  # zero time
    raw = field(1, meta) + field(2, field(1, "user") + field(2, b"\x00ci")) + field(3, "Opaque")
    assert protobuf.decode(envelope("Secret", raw)) == {
        "kind": "Secret", "apiVersion": "v1", "metadata": {"name": "token"}, "data": {"user": "AGNp"},
        "type": "Opaque"}


def test_a_service_port_carries_its_target_port_as_int_or_string():
    ports = field(1, field(2, "TCP") + number(3, 80) + field(4, number(1, 0) + number(2, 8080)))
    named = field(1, field(2, "TCP") + number(3, 81) + field(4, number(1, 1) + field(3, "http")))
    spec = ports + named + field(2, field(1, "app") + field(2, "web")) + field(4, "ClusterIP")
    decoded = protobuf.decode(envelope("Service", field(1, field(1, "web")) + field(2, spec)))
    assert decoded["spec"] == {"ports": [{"protocol": "TCP", "port": 80, "targetPort": 8080},
                                         {"protocol": "TCP", "port": 81, "targetPort": "http"}],
                               "selector": {"app": "web"}, "type": "ClusterIP"}


def test_a_pointer_field_keeps_its_false_and_unknown_fields_are_skipped():
    raw = field(1, field(1, "cm")) + number(4, 0) + field(99, "from a newer client")
    assert protobuf.decode(envelope("ConfigMap", raw))["immutable"] is False


@pytest.mark.parametrize(("body", "message"), [
    (b'{"kind": "Secret"}', "not a protobuf message"),
    (envelope("Pod", b""), "does not decode v1 Pod from protobuf"),
    (b"k8s\x00" + field(1, b"\xff"), "malformed protobuf"),
])
def test_a_body_the_server_cannot_read_is_a_400(body, message):
    with pytest.raises(ApiError) as refused:
        protobuf.decode(body)
    assert refused.value.code == 400 and message in refused.value.message
