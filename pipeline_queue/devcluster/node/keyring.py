"""Which pull-secret credentials serve an image: the kubelet's credentialprovider keyring, written for the node.

Keys lose their scheme and a `/v1/` or `/v2/` prefix; a key serves an image on the same port, with as many host
labels each matching as a Go glob, and a path that is a prefix of the image's. Docker Hub's names are one registry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline_queue.devcluster.node.dockerconfig import Credential, DockerConfig
from pipeline_queue.devcluster.node.globs import glob_match

DOCKER_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
"""The names Docker Hub goes by; a key naming any of them serves every Docker Hub image under its path.

Written out here rather than taken from the product, so that this keyring stays an independent oracle."""
# ASCII that Go's url.Parse refuses in a host (it allows letters, digits and -._~!$&'()*+,;=:[]<>").
_BAD_HOST_CHARS = frozenset(' #%/?@\\^`{|}')
_HEX = frozenset("0123456789abcdefABCDEF")


@dataclass(frozen=True)
class Location:
    """A schemeless `host[:port][/path]` split as the keyring compares it: host labels, port, path."""

    labels: tuple[str, ...]
    port: str
    path: str

    @property
    def host(self) -> str:
        return ".".join(self.labels)


def parse_location(text: str) -> Location | None:
    """ParseSchemelessURL then SplitURL: `https://` + text as a URL, its host cut into labels and port.

    None where Go's URL parser refuses the text; a host:port that net.SplitHostPort refuses keeps it all as host.
    """
    parsed = _parse_url(text)
    if parsed is None:
        return None
    host, path = parsed
    hostname, port = _split_host_port(host) or (host, "")
    return Location(tuple(hostname.split(".")), port, path)


def normalize_key(key: str) -> str | None:
    """The key BasicDockerKeyring.Add files a config key under (`https://quay.io/v1/` is `quay.io`); None if invalid.

    The scheme goes (one is assumed when there is no `http://` or `https://`), and so do a `/v1/` or `/v2/` prefix
    and a lone `/`.
    """
    schemeless = key.split("://", 1)[1] if key.startswith(("https://", "http://")) else key
    parsed = _parse_url(schemeless)
    if parsed is None:
        return None
    host, path = parsed
    if path.startswith(("/v1/", "/v2/")):
        path = path[3:]
    return host if path in ("", "/") else host + path


def urls_match(glob: str, target: str) -> bool:
    """The kubelet's URLsMatchStr: same port, same number of labels each matching its glob, glob path a prefix."""
    pattern, image = parse_location(glob), parse_location(target)
    return pattern is not None and image is not None and _location_match(pattern, image)


def is_default_registry_match(image: str) -> bool:
    """Whether a repository name is pulled from Docker Hub: no registry host, or `docker.io`/`index.docker.io`."""
    first, slash, _ = image.partition("/")
    if not first:
        return False
    if not slash or first in ("docker.io", "index.docker.io"):
        return True
    return not any(char in first for char in ".:")


@dataclass(frozen=True)
class Filed:
    """The credentials filed under one normalized key, with the key parsed once (None if Go cannot parse it)."""

    key: str
    location: Location | None
    credentials: tuple[Credential, ...]


@dataclass(frozen=True)
class Keyring:
    """Credentials filed by normalized key, most specific key first (keys in reverse string order)."""

    index: tuple[Filed, ...]

    @classmethod
    def of(cls, configs: Sequence[DockerConfig]) -> Keyring:
        """One keyring of every pull secret, in order; a key Go cannot parse is skipped, as the kubelet does."""
        filed: dict[str, list[Credential]] = {}
        for config in configs:
            for credential in config.credentials:
                key = normalize_key(credential.key)
                if key is not None:
                    filed.setdefault(key, []).append(credential)
        # Reverse order puts `host/path` before `host`, so the deeper key is tried first.
        return cls(tuple(Filed(key, parse_location(key), tuple(filed[key])) for key in sorted(filed, reverse=True)))

    def lookup(self, image: str) -> list[Credential]:
        """The credentials for a repository name (`docker.io/library/golang`), most specific key first.

        Keys matching the name win; only when none does, a Docker Hub image gets the keys naming a Hub host
        whose path is a prefix of its Hub path (deeper paths first, then in key order).
        """
        target = parse_location(image)
        direct = [entry for entry in self.index
                  if entry.location is not None and target is not None and _location_match(entry.location, target)]
        if direct:
            return [credential for entry in direct for credential in entry.credentials]
        hub_path = _docker_hub_path(image)
        if hub_path is None:
            return []
        serving = [entry for entry in self.index
                   if entry.location is not None and _serves_docker_hub(entry.location, hub_path)]
        serving.sort(key=lambda entry: entry.location.path if entry.location else "", reverse=True)  # stable
        return [credential for entry in serving for credential in entry.credentials]


def _location_match(pattern: Location, target: Location) -> bool:
    if pattern.port != target.port or len(pattern.labels) != len(target.labels):
        return False
    if not target.path.startswith(pattern.path):
        return False
    return all(glob_match(glob, label) for glob, label in zip(pattern.labels, target.labels, strict=True))


def _docker_hub_path(image: str) -> str | None:
    """`/namespace/repository` of a Docker Hub name (`golang` is `/library/golang`), None for other registries."""
    first, slash, rest = image.partition("/")
    if slash and first in DOCKER_HUB_HOSTS:
        return "/" + rest
    if not is_default_registry_match(image):
        return None
    return "/" + image if slash else "/library/" + image


def _serves_docker_hub(location: Location, hub_path: str) -> bool:
    return not location.port and location.host in DOCKER_HUB_HOSTS and hub_path.startswith(location.path)


def _parse_url(text: str) -> tuple[str, str] | None:
    """(host with port, unescaped path) of `https://` + text, as url.Parse gives them; None where it errs."""
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in text):
        return None
    rest = text.partition("#")[0].partition("?")[0]
    authority, slash, path = rest.partition("/")
    host = authority.rpartition("@")[2]  # userinfo is no part of the key
    if not _valid_host(host):
        return None
    unescaped = _unescape(slash + path)
    return None if unescaped is None else (host, unescaped)


def _valid_host(host: str) -> bool:
    """parseHost: the allowed characters, and a numeric port (maybe empty) after the last `:` or the `]`."""
    if any(char in _BAD_HOST_CHARS for char in host):
        return False
    if host.startswith("["):
        close = host.rfind("]")
        return close >= 0 and _valid_port(host[close + 1 :])
    colon = host.rfind(":")
    return colon < 0 or _valid_port(host[colon:])


def _valid_port(port: str) -> bool:
    """validOptionalPort: nothing, or `:` and digits (maybe none)."""
    return not port or (port[0] == ":" and all(char in "0123456789" for char in port[1:]))


def _split_host_port(hostport: str) -> tuple[str, str] | None:
    """net.SplitHostPort: (host, port), brackets of an IPv6 host dropped; None where Go returns an error."""
    colon = hostport.rfind(":")
    if colon < 0:
        return None
    if hostport.startswith("["):
        close = hostport.find("]")
        if close < 0 or close + 1 != colon:
            return None
        host, first, last = hostport[1:close], 1, close + 1
    else:
        host, first, last = hostport[:colon], 0, 0
        if ":" in host:
            return None
    if "[" in hostport[first:] or "]" in hostport[last:]:
        return None
    return host, hostport[colon + 1 :]


def _unescape(path: str) -> str | None:
    """Percent-decode a path; None for a `%` not followed by two hex digits, which Go refuses."""
    if "%" not in path:
        return path
    head, *escaped = path.split("%")
    decoded = bytearray(head.encode("utf-8", "surrogateescape"))
    for part in escaped:
        if len(part) < 2 or not (part[0] in _HEX and part[1] in _HEX):
            return None
        decoded.append(int(part[:2], 16))
        decoded.extend(part[2:].encode("utf-8", "surrogateescape"))
    return decoded.decode("utf-8", "surrogateescape")
