"""In a pod, with KUBECONFIG unset, the product talks to the API server the way Kubernetes tells a pod to:
`KUBERNETES_SERVICE_HOST`/`_PORT`, the service account's token as a bearer token and its CA bundle for TLS.

A small HTTPS server with a certificate made here stands in for the API server; the client runs in a process of
its own (loading the in-cluster configuration sets the client library's global default), with the token and CA
paths pointed at the test's files, since /var/run/secrets belongs to the machine."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pipeline_queue.runtime import resolve
from pipeline_queue.settings import Settings
from tests.conftest import ROOT

TOKEN = "eyJ-service-account-token-for-the-test"
VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.0", "gitCommit": "0" * 40, "gitTreeState": "clean",
           "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.23.0", "compiler": "gc", "platform": "linux/amd64"}
"""What kube-apiserver answers on /version (every field the client's model requires)."""
CLIENT = """
import sys
import kubernetes.config.incluster_config as incluster
incluster.SERVICE_TOKEN_FILENAME, incluster.SERVICE_CERT_FILENAME = sys.argv[1], sys.argv[2]
from pipeline_queue.kube.client import api_answers, make_api_client
print(api_answers(make_api_client(None), timeout=10))
"""


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "ca.crt", folder / "tls.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@pytest.fixture
def api_server(tmp_path: Path) -> Iterator[tuple[int, Path, list[tuple[str, str]]]]:
    """(port, CA file, [(path, Authorization header) of each request])."""
    seen: list[tuple[str, str]] = []
    cert_file, key_file = _certificate(tmp_path)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append((self.path, self.headers.get("Authorization", "")))
            body = json.dumps(VERSION).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], cert_file, seen
    finally:
        server.shutdown()
        server.server_close()


def test_without_kubeconfig_a_pod_uses_its_service_account_over_verified_tls(
        api_server: tuple[int, Path, list[tuple[str, str]]], tmp_path: Path) -> None:
    port, ca, seen = api_server
    token = tmp_path / "token"
    token.write_text(TOKEN)
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    env.update(KUBERNETES_SERVICE_HOST="127.0.0.1", KUBERNETES_SERVICE_PORT=str(port), PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-c", CLIENT, str(token), str(ca)], capture_output=True, text=True,
                            env=env, timeout=60, check=False)
    assert (result.returncode, result.stdout.strip()) == (0, "True"), result.stderr
    [(path, authorization)] = seen
    scheme, _, credentials = authorization.partition(" ")
    assert (path, scheme.lower(), credentials) == ("/version/", "bearer", TOKEN)  # the scheme is case-insensitive


def test_a_process_in_a_pod_resolves_no_kubeconfig(tmp_path: Path) -> None:
    """KUBECONFIG unset and no development cluster in the data directory: in-cluster (Runtime.kubeconfig None)."""
    assert resolve(Settings.from_env({"PQ_DATA_DIR": str(tmp_path)})).kubeconfig is None


def test_outside_a_pod_without_kubeconfig_the_error_says_what_to_set(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBECONFIG", "KUBERNETES_SERVICE"))}
    env.update(PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-c", "from pipeline_queue.kube.client import make_api_client\n"
                             "make_api_client(None)"], capture_output=True, text=True, env=env, timeout=60,
                            check=False)
    assert result.returncode == 1 and "set KUBECONFIG to a kubeconfig file" in result.stderr
