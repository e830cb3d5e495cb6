"""TLS for the API server: a throwaway certificate authority and serving certificate, new at every start.

kubectl (client-go's clientcmd) sends a kubeconfig's credentials only to an https server, so without TLS it could
never present the cluster's token. The kubeconfig carries the authority (`certificate-authority-data`); the key
never touches the disk longer than it takes `ssl` to load it. The same port still answers plain HTTP (the first
byte of a connection tells a TLS ClientHello from a request line) for clients handed the address without TLS.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_HANDSHAKE_RECORD = 0x16
"""The first byte of every TLS connection: a handshake record (ClientHello); no HTTP method starts with it."""
_VALIDITY = datetime.timedelta(days=365)
_LOOPBACK_NAMES = ("localhost",)
_LOOPBACK_IPS = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class ServingCertificate:
    """The PEM authority clients trust and the PEM certificate and key the server presents."""

    authority: bytes
    certificate: bytes
    key: bytes = field(repr=False)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def issue() -> ServingCertificate:
    """A new authority and a certificate for localhost, 127.0.0.1 and ::1 signed by it (P-256: fast to make)."""
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)  # tolerate a clock a little behind
    authority_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    authority = (
        x509.CertificateBuilder().subject_name(_name("pipeline-queue-devcluster-ca"))
        .issuer_name(_name("pipeline-queue-devcluster-ca")).public_key(authority_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(start + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(authority_key.public_key()), critical=False)
        .sign(authority_key, hashes.SHA256())
    )
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in _LOOPBACK_NAMES]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in _LOOPBACK_IPS]
    server = (
        x509.CertificateBuilder().subject_name(_name("pipeline-queue-devcluster"))
        .issuer_name(authority.subject).public_key(server_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(start + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(authority_key.public_key()), critical=False)
        .sign(authority_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return ServingCertificate(authority.public_bytes(pem), server.public_bytes(pem), _pem_key(server_key))


def server_context(certificate: ServingCertificate) -> ssl.SSLContext:
    """A server-side context presenting `certificate` (loaded through a private folder removed at once)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])  # Go would prefer h2, which this server does not speak
    with tempfile.TemporaryDirectory(prefix="pq-devcluster-tls-") as folder:
        chain, key = Path(folder) / "tls.crt", Path(folder) / "tls.key"
        chain.write_bytes(certificate.certificate)
        descriptor = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(certificate.key)
        context.load_cert_chain(chain, key)
    return context


def accept(connection: socket.socket, context: ssl.SSLContext, *, timeout: float) -> socket.socket | None:
    """The connection as the client speaks it: TLS once its handshake is done, else as is; None when the client
    left or failed the handshake before sending anything usable."""
    connection.settimeout(timeout)
    try:
        first = connection.recv(1, socket.MSG_PEEK)
    except OSError:
        return None
    if not first:
        return None
    if first[0] != _HANDSHAKE_RECORD:
        return connection
    try:
        return context.wrap_socket(connection, server_side=True)
    except (OSError, ssl.SSLError):
        return None
