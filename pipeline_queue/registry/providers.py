"""The kubelet's credential provider plugins, pure: their config file, the exec protocol's messages, which images
a provider serves and how long its answers are kept.

`ecr-credential-provider` and its equivalents for other clouds are written for the kubelet, so the config
(`CredentialProviderConfig`, kubelet.config.k8s.io), the request and response (`credentialprovider.kubelet.k8s.io`)
and the cache rules (cacheKeyType Image, Registry or Global; cacheDuration, else defaultCacheDuration) follow
pkg/credentialprovider/plugin of Kubernetes. Running a provider is the edge's (`pipeline_queue.credentials`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from pipeline_queue.errors import CredentialPluginError, ProviderConfigError
from pipeline_queue.registry.dockerconfig import DockerConfig, RegistryAuth
from pipeline_queue.registry.matching import parses_as_url, urls_match

CONFIG_GROUP = "kubelet.config.k8s.io"
CONFIG_KIND = "CredentialProviderConfig"
CONFIG_VERSIONS = ("v1", "v1beta1", "v1alpha1")
PROTOCOL_GROUP = "credentialprovider.kubelet.k8s.io"
PROTOCOL_VERSIONS = tuple(f"{PROTOCOL_GROUP}/{version}" for version in CONFIG_VERSIONS)
"""The provider `apiVersion`s the kubelet speaks; a provider's answer must carry the one it was asked in."""
CACHE_KEY_TYPES = ("Image", "Registry", "Global")
GLOBAL_CACHE_KEY = "global"
SOURCE_PREFIX = "provider: "
"""How a provider's credentials are named wherever they are shown (`provider: ecr-credential-provider`)."""

_CONFIG_KEYS = {"apiVersion", "kind", "providers"}
_PROVIDER_KEYS = {"name", "matchImages", "defaultCacheDuration", "apiVersion", "args", "env", "tokenAttributes"}
# Go's time.ParseDuration: one or more decimal numbers, each with a unit; "0" alone needs none.
_DURATION_RE = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)", re.ASCII)
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
                 "h": 3600.0}


@dataclass(frozen=True)
class ProviderSpec:
    """One entry of `providers`: the executable's name (in the bin directory), the images it serves, how it is run."""

    name: str
    match_images: tuple[str, ...]
    default_cache_duration: float
    """Seconds an answer without its own cacheDuration is kept; 0: not kept."""
    api_version: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    """(name, value) pairs added to the provider's environment (they may hold credentials: kept out of repr)."""

    @property
    def source(self) -> str:
        return SOURCE_PREFIX + self.name

    def serves(self, image: str) -> bool:
        """Whether the kubelet would ask this provider for `image` (a repository name such as
        `123456789012.dkr.ecr.us-east-1.amazonaws.com/app`): any matchImages glob matches it, as URLsMatchStr."""
        return any(urls_match(glob, image) for glob in self.match_images)


def parse_go_duration(text: str) -> float:
    """Go's `time.ParseDuration` in seconds (`12h`, `1h30m`, `-5m`, `0`); ValueError where Go returns an error."""
    sign, rest = (-1.0, text[1:]) if text.startswith("-") else (1.0, text.removeprefix("+"))
    if rest == "0":
        return 0.0
    position, total = 0, 0.0
    while position < len(rest):
        match = _DURATION_RE.match(rest, position)
        if match is None:
            raise ValueError(f"time: invalid duration {text!r}")
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if not rest:
        raise ValueError(f"time: invalid duration {text!r}")
    return sign * total


def parse_provider_config(documents: Sequence[tuple[str, str]]) -> tuple[ProviderSpec, ...]:
    """Every provider of the config files (`(file name, text)` in the kubelet's order: a directory's *.json, *.yaml,
    *.yml files sorted by name), validated as the kubelet does; ProviderConfigError names file and field."""
    specs: list[ProviderSpec] = []
    for source, text in documents:
        document = _load(source, text)
        for index, item in enumerate(document.get("providers") or []):
            specs.append(_provider(item, where=f"{source}: providers[{index}]"))
    if not specs:
        where = ", ".join(source for source, _ in documents) or "the credential provider config"
        raise ProviderConfigError(f"{where}: providers: at least 1 item in plugins is required")
    names = [spec.name for spec in specs]
    duplicate = next((name for name in names if names.count(name) > 1), None)
    if duplicate is not None:
        raise ProviderConfigError(f"duplicate provider name {duplicate!r} found in configuration file(s)")
    return tuple(specs)


def _load(source: str, text: str) -> dict[str, Any]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise ProviderConfigError(f"{source}: not valid YAML or JSON{where}") from None
    if not isinstance(document, dict):
        raise ProviderConfigError(f"{source}: expected a {CONFIG_KIND} object")
    unknown = sorted(set(document) - _CONFIG_KEYS)
    if unknown:
        raise ProviderConfigError(f"{source}: unknown field(s) {', '.join(map(repr, unknown))}")
    group, _, version = str(document.get("apiVersion") or "").partition("/")
    if document.get("kind") != CONFIG_KIND or group != CONFIG_GROUP or version not in CONFIG_VERSIONS:
        raise ProviderConfigError(f"{source}: expected kind {CONFIG_KIND} of apiVersion {CONFIG_GROUP}/v1 "
                                  f"(or v1beta1, v1alpha1), got {document.get('kind')!r} of "
                                  f"{document.get('apiVersion')!r}")
    if not isinstance(document.get("providers") or [], list):
        raise ProviderConfigError(f"{source}: providers must be a list")
    return document


def _provider(item: Any, *, where: str) -> ProviderSpec:
    if not isinstance(item, dict):
        raise ProviderConfigError(f"{where}: must be an object")
    unknown = sorted(set(item) - _PROVIDER_KEYS)
    if unknown:
        raise ProviderConfigError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))}")
    if "tokenAttributes" in item:
        raise ProviderConfigError(f"{where}.tokenAttributes: service account tokens are not supported (a step pod's "
                                  "service account is not the worker's to hand to a provider)")
    name = _text(item, "name", where=where)
    if not name or "/" in name or " " in name or name in (".", ".."):
        raise ProviderConfigError(f"{where}.name: {name!r} must be a file name in the bin directory "
                                  "(no '/', no spaces, not '.' or '..')")
    api_version = _text(item, "apiVersion", where=where)
    if api_version not in PROTOCOL_VERSIONS:
        raise ProviderConfigError(f"{where}.apiVersion: {api_version!r} is not one of {', '.join(PROTOCOL_VERSIONS)}")
    return ProviderSpec(name=name, match_images=_match_images(item, where=where),
                        default_cache_duration=_default_duration(item, where=where), api_version=api_version,
                        args=_strings(item.get("args") or [], where=f"{where}.args"), env=_env(item, where=where))


def _match_images(item: dict[str, Any], *, where: str) -> tuple[str, ...]:
    globs = _strings(item.get("matchImages") or [], where=f"{where}.matchImages")
    if not globs:
        raise ProviderConfigError(f"{where}.matchImages: at least 1 item in matchImages is required")
    for glob in globs:
        if not parses_as_url(glob):
            raise ProviderConfigError(f"{where}.matchImages: match image {glob!r} is invalid")
    return globs


def _default_duration(item: dict[str, Any], *, where: str) -> float:
    text = item.get("defaultCacheDuration")
    if not isinstance(text, str):
        raise ProviderConfigError(f"{where}.defaultCacheDuration: required, a duration such as \"12h\"")
    try:
        seconds = parse_go_duration(text)
    except ValueError:
        raise ProviderConfigError(f"{where}.defaultCacheDuration: {text!r} is not a duration (like 12h or 30m)")\
            from None
    if seconds < 0:
        raise ProviderConfigError(f"{where}.defaultCacheDuration: must be greater than or equal to 0")
    return seconds


def _env(item: dict[str, Any], *, where: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for index, entry in enumerate(item.get("env") or []):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
            raise ProviderConfigError(f"{where}.env[{index}]: must be {{name, value}} with a name")
        value = entry.get("value", "")
        if not isinstance(value, str):
            raise ProviderConfigError(f"{where}.env[{index}].value: must be a string (quote it)")
        pairs.append((entry["name"], value))
    return tuple(pairs)


def _text(item: dict[str, Any], key: str, *, where: str) -> str:
    value = item.get(key, "")
    if not isinstance(value, str):
        raise ProviderConfigError(f"{where}.{key}: must be a string")
    return value


def _strings(values: Any, *, where: str) -> tuple[str, ...]:
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        raise ProviderConfigError(f"{where}: must be a list of strings")
    return tuple(values)


# -- the exec protocol ---------------------------------------------------------------------------------------------


def provider_request(spec: ProviderSpec, image: str) -> bytes:
    """The CredentialProviderRequest the kubelet writes on the provider's standard input."""
    return json.dumps({"kind": "CredentialProviderRequest", "apiVersion": spec.api_version, "image": image}).encode()


@dataclass(frozen=True)
class ProviderResponse:
    """A provider's answer: the credentials (an `auth` map of matchImages-style keys), and how to cache them."""

    cache_key_type: str
    cache_duration: float | None
    """Seconds to keep it; None: the provider's defaultCacheDuration; 0: not kept."""
    config: DockerConfig = field(repr=False)


def parse_provider_response(data: bytes, *, spec: ProviderSpec, image: str) -> ProviderResponse:
    """Read what the provider wrote on standard output; CredentialPluginError says what is wrong, never a value
    (the kubelet too leaves the response out of its error: it holds credentials)."""
    def invalid(problem: str) -> CredentialPluginError:
        return CredentialPluginError(f"{spec.source} answered for image {image} with {problem}")

    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise invalid("something that is not JSON") from None
    if not isinstance(document, dict):
        raise invalid("JSON that is not a CredentialProviderResponse object")
    if document.get("apiVersion") != spec.api_version:
        raise invalid(f"apiVersion {document.get('apiVersion')!r}, not {spec.api_version!r} as configured")
    if document.get("kind") != "CredentialProviderResponse":
        raise invalid(f"kind {document.get('kind')!r}, not 'CredentialProviderResponse'")
    key_type = document.get("cacheKeyType")
    if key_type not in CACHE_KEY_TYPES:
        raise invalid(f"cacheKeyType {key_type!r}, not one of {', '.join(CACHE_KEY_TYPES)}")
    duration = document.get("cacheDuration")
    try:
        seconds = None if duration is None else parse_go_duration(str(duration))
    except ValueError:
        raise invalid(f"cacheDuration {duration!r}, which is not a duration") from None
    return ProviderResponse(cache_key_type=str(key_type), cache_duration=seconds,
                            config=DockerConfig(source=spec.source, auths=_auths(document.get("auth"), invalid)))


def _auths(auth: Any, invalid: Any) -> tuple[RegistryAuth, ...]:
    if auth is None:
        return ()
    if not isinstance(auth, dict):
        raise invalid("an auth field that is not an object")
    entries = []
    for key, entry in auth.items():
        if not isinstance(entry, dict) or not all(isinstance(entry.get(f, ""), str) for f in ("username", "password")):
            raise invalid(f"auth entry {key!r} that is not {{username, password}} strings")
        entries.append(RegistryAuth(key=str(key), username=entry.get("username", ""),
                                    password=entry.get("password", "")))
    return tuple(entries)


# -- the cache ----------------------------------------------------------------------------------------------------


def cache_keys(image: str) -> tuple[str, str, str]:
    """Where a cached answer for `image` may be, in the kubelet's order: the image, its registry, the global key."""
    return image, image.split("/", 1)[0], GLOBAL_CACHE_KEY


def cache_key(image: str, key_type: str) -> str:
    """The key an answer is kept under, by its cacheKeyType."""
    image_key, registry_key, global_key = cache_keys(image)
    return {"Image": image_key, "Registry": registry_key}.get(key_type, global_key)


def expires_at(response: ProviderResponse, *, default: float, now: float) -> float | None:
    """When a kept answer stops being used; None when it is not kept at all (a duration of 0)."""
    duration = default if response.cache_duration is None else response.cache_duration
    return None if duration <= 0 else now + duration


@dataclass
class ProviderCache:
    """One provider's answers by cache key, each until its moment on the caller's clock (`now` is passed in, so the
    rules run without a clock of their own). Only a worker process's memory holds it: never stored, never shared."""

    entries: dict[str, tuple[float, DockerConfig]] = field(default_factory=dict, repr=False)

    def get(self, image: str, *, now: float) -> DockerConfig | None:
        for key in cache_keys(image):
            found = self.entries.get(key)
            if found is not None and now <= found[0]:
                return found[1]
            if found is not None:
                del self.entries[key]  # expired: as the kubelet's expiration store, dropped when met
        return None

    def put(self, image: str, response: ProviderResponse, *, default: float, now: float) -> None:
        until = expires_at(response, default=default, now=now)
        if until is not None:
            self.entries[cache_key(image, response.cache_key_type)] = (until, response.config)


def env_pairs(spec: ProviderSpec, inherited: Mapping[str, str]) -> dict[str, str]:
    """The provider's environment: the inherited one, overlaid by the config's `env` (as mergeEnvVars: the config
    wins)."""
    return {**inherited, **dict(spec.env)}
