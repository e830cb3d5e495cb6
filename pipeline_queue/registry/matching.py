"""Which registry credentials serve an image: the kubelet's credentialprovider keyring, plus Docker Hub aliases.

Keys are normalized as BasicDockerKeyring.Add does and matched as Lookup and URLsMatch do.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from pipeline_queue.errors import RegistryConfigError
from pipeline_queue.images import DOCKER_HUB_ALIASES
from pipeline_queue.registry.dockerconfig import DockerConfig, RegistryAuth
from pipeline_queue.registry.gostd import BadPatternError, GoURL, parse_url, path_match, split_host_port

if TYPE_CHECKING:
    from pipeline_queue.images import ImageRef

# The kubelet's fallback key for images that live on Docker Hub (credentialprovider.defaultRegistryHost).
KUBELET_DOCKER_HUB_KEY = "index.docker.io"
# The domain Docker's normalization gives every Docker Hub repository name.
DEFAULT_DOMAIN = "docker.io"


@dataclass(frozen=True)
class Match:
    """One credential that serves an image, and where it came from; the password stays out of repr.

    `kubelet_key` is set on Docker Hub alias matches the kubelet would not find under `key` for the
    image looked up: the key a step's config.json must use instead.
    """

    key: str
    normalized_key: str
    source: str
    auth: RegistryAuth
    kubelet_key: str = ""

    @property
    def username(self) -> str:
        return self.auth.username


@dataclass(frozen=True)
class IndexEntry:
    """One normalized key of the keyring, parsed once (None when Go cannot parse it back), and its credentials."""

    key: str
    parsed: _Target | None
    matches: tuple[Match, ...]


@dataclass(frozen=True)
class _Target:
    """SplitURL's view of a schemeless URL."""

    labels: tuple[str, ...]
    port: str
    path: str


@dataclass(frozen=True)
class Keyring:
    """Credentials from several docker configs, indexed like the kubelet's BasicDockerKeyring.

    `skipped` lists (source, key) of entries whose key Go's URL parser rejects; the kubelet ignores them too.
    """

    entries: tuple[IndexEntry, ...]
    skipped: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_configs(cls, configs: Sequence[DockerConfig]) -> Keyring:
        """One keyring from every pull secret, in order, as secrets.MakeDockerKeyring builds it."""
        by_key: dict[str, list[Match]] = {}
        skipped: list[tuple[str, str]] = []
        for config in configs:
            for auth in config.auths:
                try:
                    normalized = normalize_key(auth.key)
                except RegistryConfigError:
                    skipped.append((config.source, auth.key))
                    continue
                match = Match(key=auth.key, normalized_key=normalized, source=config.source, auth=auth)
                by_key.setdefault(normalized, []).append(match)
        # Reverse byte order puts longer paths before their prefixes, so the most specific key wins.
        index = sorted(by_key, key=_go_order, reverse=True)
        entries = tuple(
            IndexEntry(key=key, parsed=_parse_schemeless(key), matches=tuple(by_key[key])) for key in index
        )
        return cls(entries=entries, skipped=tuple(skipped))

    def lookup(self, image: str) -> list[Match]:
        """Credentials for a repository name as the kubelet passes it (`docker.io/library/golang`).

        Kubelet order: every key matching directly, most specific first; only when none does, for a
        Docker Hub image, the keys naming a Docker Hub alias (the kubelet's `index.docker.io` fallback,
        widened to every alias).
        """
        target = _parse_schemeless(image)
        direct = [entry for entry in self.entries if target is not None and _urls_match(entry.parsed, target)]
        if direct:
            return [match for entry in direct for match in entry.matches]
        hub_path = _docker_hub_path(image)
        return [] if hub_path is None else _as_the_kubelet_finds(self._hub_fallback(hub_path), image=image)

    def lookup_ref(self, image: ImageRef) -> list[Match]:
        """Credentials for a parsed image, looked up by the name the kubelet uses (ParseNormalizedNamed's).

        `registry-1.docker.io/x` stays as written, as in the kubelet: its own keys match first.
        """
        return self.lookup(image.name)

    def _hub_fallback(self, hub_path: str) -> list[IndexEntry]:
        """Alias keys whose path is a prefix of the Docker Hub path; deeper paths first, then index order."""
        serving: list[tuple[bytes, IndexEntry]] = [
            (_go_order(DEFAULT_DOMAIN + entry.parsed.path), entry)
            for entry in self.entries
            if entry.parsed is not None and _serves_docker_hub(entry.parsed, hub_path)
        ]
        # sorted() is stable with reverse=True too, so equal paths keep the index order.
        return [entry for _, entry in sorted(serving, key=lambda pair: pair[0], reverse=True)]


def normalize_key(key: str) -> str:
    """The index key BasicDockerKeyring.Add derives from a config.json key.

    Adds `https://` when there is no http(s) scheme, drops the scheme, a `/v1/` or `/v2/` path prefix
    and a lone '/'; the result is host or host+path (`https://quay.io/v1/` -> `quay.io`).
    """
    value = key if key.startswith(("https://", "http://")) else "https://" + key
    parsed = parse_url(value)
    if parsed is None:
        raise RegistryConfigError(f"registry key {key!r} is not a valid host[:port][/path]")
    path = parsed.path
    if path.startswith(("/v2/", "/v1/")):
        path = path[3:]
    return parsed.host + path if path not in ("", "/") else parsed.host


def urls_match(glob: str, target: str) -> bool:
    """URLsMatchStr: same port, same number of host labels, each label a Go glob, glob path a prefix."""
    target_url = _parse_schemeless(target)
    return target_url is not None and _urls_match(_parse_schemeless(glob), target_url)


def parses_as_url(text: str) -> bool:
    """Whether ParseSchemelessURL accepts `text`: the kubelet's check of a credential provider's matchImages."""
    return _parse_schemeless(text) is not None


def is_default_registry_match(image: str) -> bool:
    """The kubelet's isDefaultRegistryMatch: whether a repository name is pulled from Docker Hub."""
    first, slash, _ = image.partition("/")
    if not first:
        return False
    if not slash or first in ("docker.io", "index.docker.io"):
        return True
    return "." not in first and ":" not in first


def docker_config_json(matches: Sequence[Match]) -> str:
    """A config.json holding only `matches`, for a step's own pull secret (sorted keys, deterministic).

    The first match per registry key wins, as only one entry per key fits. Docker Hub alias matches
    go under their `kubelet_key` (the image's own Hub host and the key's path), so the kubelet finds
    them, in the same order, for the image they were looked up for.
    """
    auths: dict[str, dict[str, str]] = {}
    written: set[str] = set()
    for match in matches:
        key, identity = match.kubelet_key or match.key, match.kubelet_key or match.normalized_key
        if identity in written:
            continue
        written.add(identity)
        entry = {"username": match.auth.username, "password": match.auth.password, "auth": match.auth.auth_value()}
        if match.auth.identitytoken:
            entry["identitytoken"] = match.auth.identitytoken
        if match.auth.email:
            entry["email"] = match.auth.email
        auths[key] = entry
    return json.dumps({"auths": auths}, sort_keys=True)


def _as_the_kubelet_finds(entries: Sequence[IndexEntry], *, image: str) -> list[Match]:
    """Docker Hub alias matches, each with the key under which the kubelet finds it for `image`.

    The kubelet resolves a lone `index.docker.io` key itself for Docker Hub names; any other alias
    key is rewritten onto the image's Hub host, and then that one too, lest the direct matches hide it.
    """
    matches = [match for entry in entries for match in entry.matches]
    if is_default_registry_match(image) and all(entry.key == KUBELET_DOCKER_HUB_KEY for entry in entries):
        return matches
    first, slash, _ = image.partition("/")
    hub_host = first if slash and first in DOCKER_HUB_ALIASES else DEFAULT_DOMAIN
    return [replace(match, kubelet_key=hub_host + _key_path(match.normalized_key)) for match in matches]


def _key_path(normalized_key: str) -> str:
    """The `/path` of a normalized key (`docker.io/org` -> `/org`), empty for a bare host."""
    _, slash, path = normalized_key.partition("/")
    return slash + path


def _parse_schemeless(text: str) -> _Target | None:
    """ParseSchemelessURL followed by SplitURL; None where Go's parser fails."""
    parsed: GoURL | None = parse_url("https://" + text)
    if parsed is None:
        return None
    host, port = split_host_port(parsed.host) or (parsed.host, "")
    return _Target(labels=tuple(host.split(".")), port=port, path=parsed.path)


def _urls_match(glob: _Target | None, target: _Target) -> bool:
    if glob is None or glob.port != target.port or len(glob.labels) != len(target.labels):
        return False
    if not target.path.startswith(glob.path):
        return False
    try:
        return all(path_match(pattern, label) for pattern, label in zip(glob.labels, target.labels, strict=True))
    except BadPatternError:
        return False


def _docker_hub_path(image: str) -> str | None:
    """The `/namespace/repo` path of a Docker Hub image (`golang` is `/library/golang`), else None."""
    first, slash, rest = image.partition("/")
    if slash and first in DOCKER_HUB_ALIASES:
        return "/" + rest
    if not is_default_registry_match(image):
        return None
    return "/" + (image if slash else "library/" + image)


def _serves_docker_hub(glob: _Target, hub_path: str) -> bool:
    return (
        glob.port == ""
        and ".".join(glob.labels) in DOCKER_HUB_ALIASES
        and hub_path.startswith(glob.path)
    )


def _go_order(key: str) -> bytes:
    # Go sorts strings bytewise; surrogateescape keeps undecodable bytes in place.
    return key.encode("utf-8", "surrogateescape")
