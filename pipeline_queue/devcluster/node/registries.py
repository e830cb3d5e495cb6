"""The simulated registries of the development cluster: what they serve and whom they let pull.

Read once from the `--registries` YAML file; Docker Hub serves every repository and tag unless the file says otherwise.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from pipeline_queue.devcluster.errors import RegistriesFileError
from pipeline_queue.images import ImageReferenceError, parse_image

DOCKER_HUB = "docker.io"
TAG = re.compile(r"[\w][\w.-]{0,127}")
DEFAULT_COMMAND = ("true",)
"""What a container runs when neither its spec nor its repository names a command: exits 0 at once."""


def tag_digest(registry: str, repository: str, tag: str) -> str:
    """The stable manifest digest of a tag: sha256 of `registry/repository:tag`."""
    return "sha256:" + hashlib.sha256(f"{registry}/{repository}:{tag}".encode()).hexdigest()


def _default_size(registry: str, repository: str) -> int:
    """A plausible, stable image size between 2 and 200 MB when the file gives none."""
    seed = int(hashlib.sha256(f"{registry}/{repository}".encode()).hexdigest()[:8], 16)
    return 2_000_000 + seed % 198_000_000


@dataclass(frozen=True)
class Manifest:
    """What a registry answers for one reference: where it lives, its digest, size and default command."""

    registry: str
    repository: str
    tag: str
    digest: str
    size: int
    command: tuple[str, ...] = DEFAULT_COMMAND

    @property
    def repo_digest(self) -> str:
        return f"{self.registry}/{self.repository}@{self.digest}"

    @property
    def repo_tag(self) -> str:
        """`registry/repository:tag`, or "" for a pull by digest alone."""
        return f"{self.registry}/{self.repository}:{self.tag}" if self.tag else ""


@dataclass(frozen=True)
class Repository:
    """One repository: its tags (None: any tag), image size and the image's default command."""

    tags: tuple[str, ...] | None = None
    size: int | None = None
    command: tuple[str, ...] = DEFAULT_COMMAND


@dataclass(frozen=True)
class Registry:
    """One registry host; `repositories` None means it serves any repository and tag."""

    host: str
    private: bool = False
    users: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), repr=False)
    repositories: Mapping[str, Repository] | None = None

    def accepts(self, username: str, password: str) -> bool:
        """Whether this username and password may pull (a public registry lets anyone pull)."""
        if not self.private:
            return True
        expected = self.users.get(username)
        return expected is not None and hmac.compare_digest(expected.encode(), password.encode())

    def resolve(self, repository: str, *, tag: str, digest: str) -> Manifest | None:
        """The manifest a tag or digest names, or None when the registry lacks it.

        A digest wins over a tag; a pull by digest names no tag, so none is recorded for it.
        """
        entry = Repository() if self.repositories is None else self.repositories.get(repository)
        if entry is None:
            return None
        size = entry.size if entry.size is not None else _default_size(self.host, repository)
        if digest:
            if not self._serves_digest(repository, entry, digest):
                return None
            return Manifest(self.host, repository, "", digest, size, entry.command)
        if entry.tags is not None and tag not in entry.tags:
            return None
        return Manifest(self.host, repository, tag, tag_digest(self.host, repository, tag), size, entry.command)

    def _serves_digest(self, repository: str, entry: Repository, digest: str) -> bool:
        """Any digest when every tag is served, else only the digest of a listed tag."""
        if entry.tags is None:
            return True
        return digest in {tag_digest(self.host, repository, tag) for tag in entry.tags}


@dataclass(frozen=True)
class RegistrySet:
    """Every registry the cluster can reach, by normalized host (Docker Hub's aliases folded to docker.io)."""

    registries: Mapping[str, Registry] = field(default_factory=lambda: MappingProxyType({}))

    def get(self, host: str) -> Registry | None:
        """The registry at `host`; Docker Hub is always reachable; any other unlisted host does not resolve."""
        found = self.registries.get(host)
        if found is None and host == DOCKER_HUB:
            return Registry(DOCKER_HUB)
        return found


def load_registries(path: str | Path | None) -> RegistrySet:
    """The registries of a YAML file, or only an open Docker Hub when no file is given."""
    if path is None:
        return RegistrySet()
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise RegistriesFileError(f"cannot read registries file {source}: {error}") from error
    return parse_registries(text, source=str(source))


def parse_registries(text: str, *, source: str) -> RegistrySet:
    """Parse the `registries:` document; every mistake names the file and the entry, never a password."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise RegistriesFileError(f"{source}: not valid YAML: {error}") from error
    if document is None:
        return RegistrySet()
    hosts = _mapping(document, where=source).get("registries") or {}
    registries: dict[str, Registry] = {}
    for host, body in _mapping(hosts, where=f"{source}: registries").items():
        registry = _registry(str(host), body, where=f"{source}: registries.{host}")
        registries[registry.host] = registry
    return RegistrySet(MappingProxyType(registries))


def _registry(host: str, body: Any, *, where: str) -> Registry:
    body = _mapping(body if body is not None else {}, where=where)
    unknown = sorted(set(body) - {"private", "users", "repositories"})
    if unknown:
        listed = ", ".join(map(str, unknown))
        raise RegistriesFileError(f"{where}: unknown key(s) {listed} (expected private, users, repositories)")
    normalized = _normalize(f"{host}/probe", where=where)[0]
    private = body.get("private", False)
    if not isinstance(private, bool):
        raise RegistriesFileError(f"{where}.private must be true or false")
    users = {}
    for username, password in _mapping(body.get("users") or {}, where=f"{where}.users").items():
        if not isinstance(password, str):
            raise RegistriesFileError(f"{where}.users.{username}: the password must be a string (quote it)")
        users[str(username)] = str(password)
    repositories = None
    if "repositories" in body:
        repositories = _repositories(normalized, body["repositories"] or {}, where=f"{where}.repositories")
    return Registry(normalized, private, MappingProxyType(users), repositories)


def _repositories(host: str, body: Any, *, where: str) -> Mapping[str, Repository]:
    found: dict[str, Repository] = {}
    for name, entry in _mapping(body, where=where).items():
        path = _normalize(f"{host}/{name}", where=f"{where}.{name}")[1]
        found[path] = _repository(entry if entry is not None else {}, where=f"{where}.{name}")
    return MappingProxyType(found)


def _repository(entry: Any, *, where: str) -> Repository:
    entry = _mapping(entry, where=where)
    unknown = sorted(set(entry) - {"tags", "size", "command"})
    if unknown:
        listed = ", ".join(map(str, unknown))
        raise RegistriesFileError(f"{where}: unknown key(s) {listed} (expected tags, size, command)")
    tags = entry.get("tags")
    if tags is not None:
        tags = tuple(_strings(tags, where=f"{where}.tags"))
        invalid = [tag for tag in tags if not TAG.fullmatch(tag)]
        if invalid:
            raise RegistriesFileError(f"{where}.tags: {invalid[0]!r} is not a valid tag")
    size = entry.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise RegistriesFileError(f"{where}.size must be a whole number of bytes")
    command = tuple(_strings(entry.get("command", list(DEFAULT_COMMAND)), where=f"{where}.command"))
    return Repository(tags, size, command or DEFAULT_COMMAND)


def _normalize(reference: str, *, where: str) -> tuple[str, str]:
    """(registry, repository path) as image references normalize them."""
    try:
        image = parse_image(reference)
    except ImageReferenceError as error:
        raise RegistriesFileError(f"{where}: not a valid registry or repository name: {error}") from error
    if image.tag or image.digest:
        raise RegistriesFileError(f"{where}: a repository name takes no tag or digest (list tags under `tags:`)")
    return image.registry, image.path


def _mapping(value: Any, *, where: str) -> dict[Any, Any]:
    if not isinstance(value, dict):
        raise RegistriesFileError(f"{where} must be a mapping, not {type(value).__name__}")
    return value


def _strings(value: Any, *, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise RegistriesFileError(f"{where} must be a list of strings (quote numbers such as \"1.10\")")
    return list(value)
