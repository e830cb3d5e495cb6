"""Image references: Docker's distribution/reference grammar and its normalization.

`parse_image` behaves like Go's `reference.ParseNormalizedNamed` (with go-digest's
digest checks), so `golang` and `docker.io/library/golang` are the same image.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pipeline_queue.errors import ImageReferenceError

DEFAULT_DOMAIN = "docker.io"
DOCKER_HUB_ALIASES: frozenset[str] = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
NAME_MAX_LENGTH = 255

_LEGACY_DOMAIN = "index.docker.io"
_LOCALHOST = "localhost"
_OFFICIAL_PREFIX = "library/"
_DEFAULT_TAG = "latest"

# The productions of distribution/reference's regexp.go. re.ASCII keeps `\w` to
# Go's [0-9A-Za-z_]; every match is a fullmatch, as Go anchors with ^...$.
_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALPHANUMERIC}(?:{_SEPARATOR}{_ALPHANUMERIC})*"
_REMOTE_NAME = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6_ADDRESS = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN_AND_PORT = rf"(?:{_DOMAIN_NAME}|{_IPV6_ADDRESS})(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_NAME = rf"(?:{_DOMAIN_AND_PORT}/)?{_REMOTE_NAME}"

_REFERENCE_RE = re.compile(rf"({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?", re.ASCII)
_ANCHORED_NAME_RE = re.compile(rf"(?:({_DOMAIN_AND_PORT})/)?({_REMOTE_NAME})", re.ASCII)
_IDENTIFIER_RE = re.compile(r"[a-f0-9]{64}", re.ASCII)
_DOMAIN_RE = re.compile(_DOMAIN_AND_PORT, re.ASCII)
_PATH_COMPONENT_RE = re.compile(_PATH_COMPONENT, re.ASCII)
_TAG_RE = re.compile(_TAG, re.ASCII)
_DIGEST_RE = re.compile(_DIGEST, re.ASCII)

# go-digest v1: the registered algorithms (hash size in bytes, lowercase hex only)
# and the looser pattern that tells "unsupported" from "malformed".
_DIGEST_SIZES = {"sha256": 32, "sha384": 48, "sha512": 64}
_GO_DIGEST_RE = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+", re.ASCII)
_LOWER_HEX_RE = re.compile(r"[a-f0-9]+", re.ASCII)

_FORMAT = "invalid reference format"
_SHAPE = "[registry[:port]/]repository[:tag][@algorithm:hex]"


@dataclass(frozen=True)
class ImageRef:
    """A normalized image reference: `golang:1.7` is docker.io, library/golang, tag 1.7."""

    domain: str
    path: str
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        """The repository with its registry, `docker.io/library/golang`."""
        return f"{self.domain}/{self.path}" if self.domain else self.path

    @property
    def reference(self) -> str:
        """The full reference a runtime pulls; `:latest` when neither tag nor digest is given."""
        tag = self.tag if self.tag or self.digest else _DEFAULT_TAG
        return self.name + (f":{tag}" if tag else "") + (f"@{self.digest}" if self.digest else "")

    @property
    def familiar_name(self) -> str:
        """The repository as Docker shows it: `golang`, `user/app`, `quay.io/x/y`."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        short = self.path.removeprefix(_OFFICIAL_PREFIX)
        # Only official one-component images lose the prefix: `library/a/b` keeps it.
        return short if "/" not in short else self.path

    @property
    def familiar(self) -> str:
        """Docker's familiar string: the familiar name with tag and digest as written."""
        tag = f":{self.tag}" if self.tag else ""
        digest = f"@{self.digest}" if self.digest else ""
        return f"{self.familiar_name}{tag}{digest}"

    @property
    def registry(self) -> str:
        """The host whose credentials apply; Docker Hub's aliases are all `docker.io`."""
        if self.domain in DOCKER_HUB_ALIASES:
            return DEFAULT_DOMAIN
        # A name Docker accepts without a valid domain (`foo_bar.com/x`) is still
        # sent to its first component by the kubelet and the runtime.
        return self.domain or self.path.split("/", 1)[0]

    @property
    def is_docker_hub(self) -> bool:
        return self.domain in DOCKER_HUB_ALIASES

    def to_json(self, input: str) -> dict[str, Any]:
        """The parse result as plain JSON, with the text it came from."""
        return {
            "input": input,
            "valid": True,
            "domain": self.domain,
            "path": self.path,
            "name": self.name,
            "tag": self.tag,
            "digest": self.digest,
            "reference": self.reference,
            "familiar": self.familiar,
        }


def parse_image(text: str) -> ImageRef:
    """Parse and normalize `text` like Docker; raise ImageReferenceError saying why it is invalid."""
    if not isinstance(text, str):
        raise _invalid(f"an image must be a string, not {type(text).__name__}")
    if text == "":
        # Go reports this only from Parse; normalization would hide it behind "library/".
        raise _invalid("repository name must have at least one component")
    if _IDENTIFIER_RE.fullmatch(text):
        raise _invalid(f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings")
    domain, remainder = _split_docker_domain(text)
    remote = remainder.split(":", 1)[0]
    if remote.lower() != remote:
        raise _invalid(f"repository name ({remote}) must be lowercase")
    return _parse_reference(f"{domain}/{remainder}", written=text)


def try_parse_image(text: str) -> ImageRef | None:
    """The parsed reference, or None when `text` is not a valid image reference."""
    try:
        return parse_image(text)
    except ImageReferenceError:
        return None


def is_latest(ref: ImageRef) -> bool:
    """True for tag `latest`, or for a reference with neither tag nor digest."""
    return ref.tag == _DEFAULT_TAG or (ref.tag is None and ref.digest is None)


def _invalid(reason: str) -> ImageReferenceError:
    return ImageReferenceError(f"{_FORMAT}: {reason}")


def _split_docker_domain(name: str) -> tuple[str, str]:
    """Docker's splitDockerDomain: which first component is a registry, and Hub's `library/`."""
    first, slash, rest = name.partition("/")
    if not slash:
        return DEFAULT_DOMAIN, _OFFICIAL_PREFIX + name
    if first == _LEGACY_DOMAIN:
        domain, remote = DEFAULT_DOMAIN, rest
    elif first == _LOCALHOST or "." in first or ":" in first or first.lower() != first:
        # Namespaces are lowercase, so an upper-case first component must be a host.
        domain, remote = first, rest
    else:
        domain, remote = DEFAULT_DOMAIN, name
    if domain == DEFAULT_DOMAIN and "/" not in remote:
        remote = _OFFICIAL_PREFIX + remote
    return domain, remote


def _parse_reference(text: str, *, written: str) -> ImageRef:
    """Docker's reference.Parse on the normalized text; `written` is what the user gave."""
    match = _REFERENCE_RE.fullmatch(text)
    if match is None:
        lowered = text.lower()
        if lowered != text and _REFERENCE_RE.fullmatch(lowered):
            raise _invalid("repository name must be lowercase")
        raise _invalid(_diagnose(written))
    name, tag, digest = match.groups()
    name_match = _ANCHORED_NAME_RE.fullmatch(name)
    assert name_match is not None  # the reference pattern embeds the name pattern
    domain, path = name_match.group(1) or "", name_match.group(2)
    if len(path) > NAME_MAX_LENGTH:
        raise _invalid(
            f"repository name must not be more than {NAME_MAX_LENGTH} characters (the path has {len(path)})"
        )
    if digest:
        problem = _digest_problem(digest)
        if problem:
            raise _invalid(problem)
    return ImageRef(domain=domain, path=path, tag=tag or None, digest=digest or None)


def _digest_problem(digest: str) -> str | None:
    """go-digest's Digest.Validate: unsupported algorithm, wrong length or non-hex, in that order."""
    algorithm, _, encoded = digest.partition(":")
    size = _DIGEST_SIZES.get(algorithm)
    if size is None:
        if not _GO_DIGEST_RE.fullmatch(digest):
            return f"invalid checksum digest format ({algorithm!r} is not a lowercase algorithm name)"
        return f"unsupported digest algorithm ({algorithm}; use one of {', '.join(_DIGEST_SIZES)})"
    if len(encoded) != size * 2:
        return f"invalid checksum digest length ({algorithm} needs {size * 2} hex digits, got {len(encoded)})"
    if not _LOWER_HEX_RE.fullmatch(encoded):
        return f"invalid checksum digest format ({algorithm} digests are lowercase hex)"
    return None


def _diagnose(text: str) -> str:
    """Name the part of `text` that breaks the grammar, for a message the user can act on."""
    if text != text.strip():
        return f"{text!r} has leading or trailing whitespace"
    if "://" in text:
        return f"{text!r} is a URL; write the image as {_SHAPE}"
    rest, at, digest = text.partition("@")
    if at and not _DIGEST_RE.fullmatch(digest):
        return f"digest {digest!r} must be algorithm:hex, e.g. sha256: and 64 hex digits"
    name, tag = _split_tag(rest)
    if tag is not None and not _TAG_RE.fullmatch(tag):
        return f"tag {tag!r} must be 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'"
    return _diagnose_name(name) or f"{text!r} does not match {_SHAPE}"


def _split_tag(text: str) -> tuple[str, str | None]:
    """Split `name:tag`; a colon before the last slash belongs to a registry port."""
    colon = text.rfind(":")
    if colon > text.rfind("/"):
        return text[:colon], text[colon + 1 :]
    return text, None


def _diagnose_name(name: str) -> str | None:
    components = name.split("/")
    first = components[0]
    if len(components) > 1 and _split_docker_domain(name)[0] == first:
        if not _DOMAIN_RE.fullmatch(first):
            return f"registry {first!r} is not a valid host[:port] (IPv6 hosts go in brackets)"
        components = components[1:]
    for component in components:
        if not component:
            return f"{name!r} has an empty path component (doubled, leading or trailing '/')"
        if not _PATH_COMPONENT_RE.fullmatch(component):
            return (
                f"repository path component {component!r} must be lowercase letters and digits "
                "separated by '.', '_', '__' or '-'"
            )
    return None
