"""Operator registry patterns (`*.corp.example.com`, `registry.example.com:5000/team`) and the images they cover.

Shared by the pull settings (always-pulled registries) and the cache guard (private and public registries).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from pipeline_queue.errors import UsageError
from pipeline_queue.images import DEFAULT_DOMAIN, DOCKER_HUB_ALIASES, ImageRef


class RegistryPatternError(UsageError):
    """An operator's registry pattern is not `host[:port][/path]`; the message names the setting and the pattern."""


@dataclass(frozen=True)
class RegistryPattern:
    """One pattern: host labels (`*` globs one label), the port, and a path prefix of whole components."""

    text: str
    labels: tuple[str, ...]
    port: str
    path: tuple[str, ...]

    @classmethod
    def parse(cls, text: str, *, what: str = "registry pattern") -> RegistryPattern:
        """Parse `text`; `what` names the setting in the error (`always-pulled registry`)."""
        bare = text.strip().removeprefix("https://").removeprefix("http://").rstrip("/")
        hostport, _, path = bare.partition("/")
        host, port = split_port(hostport.lower())
        components = tuple(path.split("/")) if path else ()
        if not _well_formed(hostport.lower(), host=host, port=port) or "" in components:
            raise RegistryPatternError(
                f"{what} {text!r} is not a host[:port][/path] pattern "
                "(e.g. '*.corp.example.com' or 'registry.example.com/team')"
            )
        host = DEFAULT_DOMAIN if host in DOCKER_HUB_ALIASES and not port else host
        return cls(text=text, labels=tuple(host.split(".")), port=port, path=components)

    def matches(self, image: ImageRef) -> bool:
        """Same port, `*` within each host label, the pattern's path a component prefix of the image's."""
        host, port = split_port(image.registry.lower())
        labels = tuple(host.split("."))
        if port != self.port or len(labels) != len(self.labels):
            return False
        if labels[0].startswith("[") or self.labels[0].startswith("["):
            # An IPv6 literal is no glob: its brackets would read as a character class.
            host_matches = labels == self.labels
        else:
            host_matches = all(fnmatchcase(label, glob) for label, glob in zip(labels, self.labels, strict=True))
        return host_matches and tuple(image.path.split("/"))[: len(self.path)] == self.path


def parse_patterns(texts: Iterable[str], *, what: str = "registry pattern") -> tuple[RegistryPattern, ...]:
    """Every pattern of one setting, in order; the first malformed one raises RegistryPatternError."""
    return tuple(RegistryPattern.parse(text, what=what) for text in texts)


def first_match(patterns: Iterable[RegistryPattern], image: ImageRef) -> str | None:
    """The text of the first pattern that covers `image`, if any."""
    return next((pattern.text for pattern in patterns if pattern.matches(image)), None)


def split_port(hostport: str) -> tuple[str, str]:
    """`host:5000` -> (`host`, `5000`); IPv6 hosts keep their brackets."""
    if hostport.startswith("["):
        host, bracket, rest = hostport.partition("]")
        return host + bracket, rest.removeprefix(":")
    host, _, port = hostport.partition(":")
    return host, port


def _well_formed(hostport: str, *, host: str, port: str) -> bool:
    # Rejoining catches what splitting skipped: `[::1]5000`, an unclosed `[::1`.
    rejoined = host + (f":{port}" if port else "") == hostport and host.count("[") == host.count("]")
    return rejoined and bool(host) and "" not in host.split(".") and (port == "" or port.isdigit())
