"""Drone's registry extension protocol, pure: what the worker POSTs to a registry plugin, how the request is
signed, and what the answer means.

As drone/drone-go's plugin/registry client: a JSON body with the repository and the build, signed with the shared
secret by draft-cavage HTTP signatures (hmac-sha256 over the accept, accept-encoding, content-type, date and digest
headers, `(request-target)` left out as Drone leaves it out), answered by a JSON list of `{address, username,
password}`. The HTTP exchange itself is the edge's (`pipeline_queue.credentials.http_plugin`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline_queue.errors import CredentialPluginError
from pipeline_queue.registry.dockerconfig import DockerConfig, RegistryAuth

SOURCE = "plugin: http"
"""How the extension's credentials are named wherever they are shown."""
MEDIA_TYPE = "application/vnd.drone.registry.v1+json"
KEY_ID = "hmac-key"
ALGORITHM = "hmac-sha256"
SIGNED_HEADERS = ("accept", "accept-encoding", "content-type", "date", "digest")
"""The headers Drone's plugin client signs, in its order."""


@dataclass(frozen=True)
class ExtensionRequest:
    """What a registry plugin is told of the stage whose images need credentials (never a secret)."""

    repo: Mapping[str, Any]
    """Drone's repository object (`namespace`, `name`, `slug`, ...), as its plugins read it."""
    build: Mapping[str, Any]
    """Drone's build object (`number`, `event`, `ref`, `after`, ...)."""
    pipeline: str = ""

    def body(self) -> bytes:
        """The JSON body: Drone's `{"repo": ..., "build": ...}`, with `pipeline` beside them (plugins written for
        Drone ignore a field they do not know, as Go's JSON decoding does)."""
        document = {"repo": dict(self.repo), "build": dict(self.build), "pipeline": {"name": self.pipeline}}
        return json.dumps(document, separators=(",", ":")).encode()


def signed_headers(body: bytes, *, secret: str, date: str) -> dict[str, str]:
    """The request's headers with their `Signature`, as Drone's client sends them; `date` in HTTP format."""
    headers = {
        "accept": MEDIA_TYPE,
        "accept-encoding": "identity",
        "content-type": "application/json",
        "date": date,
        "digest": "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii"),
    }
    signing = "\n".join(f"{name}: {headers[name]}" for name in SIGNED_HEADERS)
    mac = hmac.new(secret.encode("utf-8"), signing.encode("utf-8"), hashlib.sha256).digest()
    signature = base64.b64encode(mac).decode("ascii")
    headers["signature"] = (f'keyId="{KEY_ID}",algorithm="{ALGORITHM}",signature="{signature}",'
                            f'headers="{" ".join(SIGNED_HEADERS)}"')
    return headers


def parse_registries(data: bytes, *, endpoint: str) -> DockerConfig:
    """The plugin's answer as credentials keyed by address; CredentialPluginError (naming the endpoint, never a
    value) when it is not a JSON list of `{address, username, password}`."""
    try:
        document: Any = json.loads(data) if data.strip() else []
    except (ValueError, UnicodeDecodeError):
        document = None
    if not isinstance(document, list):
        raise CredentialPluginError(f"{SOURCE} ({endpoint}) answered something that is not a JSON list of "
                                    "{address, username, password}")
    auths = []
    for index, entry in enumerate(document):
        fields = {name: entry.get(name) or "" for name in ("address", "username", "password")} \
            if isinstance(entry, dict) else {}
        if not fields or not all(isinstance(value, str) for value in fields.values()) or not fields["address"]:
            raise CredentialPluginError(f"{SOURCE} ({endpoint}): entry {index} of its answer is not "
                                        "{address, username, password} with an address")
        auths.append(RegistryAuth(key=fields["address"], username=fields["username"], password=fields["password"]))
    return DockerConfig(source=SOURCE, auths=tuple(auths))
