"""Amazon ECR's side of registry credentials, pure: which hosts are ECR registries, what a GetAuthorizationToken
answer means, and until when a token is used.

ECR passwords are tokens that expire after 12 hours, so no `config.json` secret can hold one: the worker asks ECR
for a token when a stage starts (`pipeline_queue.credentials.ecr`). The host pattern is the one Kubernetes'
ecr-credential-provider (cloud-provider-aws) matches: the commercial, China, FIPS and isolated partitions.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from pipeline_queue.errors import CredentialPluginError
from pipeline_queue.registry.dockerconfig import DockerConfig, RegistryAuth

SOURCE = "plugin: ecr"
"""How ECR's credentials are named wherever they are shown."""
REFRESH_BEFORE = 15 * 60.0
"""Seconds before a token's expiry that a new one is asked for: a stage started then still pulls with a live one."""

_HOST_RE = re.compile(
    r"(\d{12})\.dkr[.\-]ecr(-fips)?\.([a-zA-Z0-9][a-zA-Z0-9-_]*)\."
    r"(?:amazonaws\.com(?:\.cn)?|on\.(?:aws|amazonwebservices\.com\.cn)|sc2s\.sgov\.gov|c2s\.ic\.gov"
    r"|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)",
    re.ASCII,
)


@dataclass(frozen=True)
class EcrRegistry:
    """A private ECR registry: its host, the account that owns it, its region, whether it is a FIPS endpoint."""

    host: str
    account: str
    region: str
    fips: bool = False


def parse_ecr_host(host: str) -> EcrRegistry | None:
    """The ECR registry at `host` (`123456789012.dkr.ecr.us-east-1.amazonaws.com`), or None for any other host."""
    match = _HOST_RE.fullmatch(host)
    if match is None:
        return None
    return EcrRegistry(host=host, account=match.group(1), region=match.group(3), fips=bool(match.group(2)))


def token_credentials(registry: EcrRegistry, token: str) -> DockerConfig:
    """The credentials an authorizationToken holds (base64 of `AWS:password`), keyed by the registry's host as
    ecr-credential-provider keys them; CredentialPluginError, naming no part of it, when it is not that."""
    try:
        username, colon, password = base64.b64decode(token, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        colon = ""
    if not colon or not username or not password:
        raise CredentialPluginError(f"{SOURCE}: the authorization token for {registry.host} is not base64 of "
                                    "'user:password'")
    return DockerConfig(source=SOURCE, auths=(RegistryAuth(key=registry.host, username=username, password=password),))


def usable_until(expires_at: float) -> float:
    """The moment (epoch seconds) a token expiring at `expires_at` stops being handed out."""
    return expires_at - REFRESH_BEFORE
