"""Kubelet credential providers run by the worker: the config file read once, each provider executed from the bin
directory with a CredentialProviderRequest on standard input and its CredentialProviderResponse read from standard
output, as the kubelet runs them (a one-minute limit, the config's `args` and `env` over the inherited
environment), and answers kept in this process per cacheKeyType for cacheDuration.

Unlike the kubelet, which pulls without credentials when a provider fails, a failing provider is an error of the
steps whose images it serves: a pipeline never runs a private image without the credentials it was meant to have.
"""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from pipeline_queue.errors import CredentialPluginError, ProviderConfigError
from pipeline_queue.registry.dockerconfig import DockerConfig
from pipeline_queue.registry.providers import (
    ProviderCache,
    ProviderSpec,
    env_pairs,
    parse_provider_config,
    parse_provider_response,
    provider_request,
)

log = logging.getLogger(__name__)

EXEC_TIMEOUT = 60.0
"""Seconds a provider may run: the kubelet's catch-all limit for exec plugins."""
CONFIG_SUFFIXES = (".json", ".yaml", ".yml")
_STDERR_SHOWN = 300


def read_provider_config(path: Path) -> tuple[ProviderSpec, ...]:
    """The providers of a config file, or of every *.json, *.yaml, *.yml file of a directory in name order (as the
    kubelet reads `--image-credential-provider-config`); ProviderConfigError names what is wrong."""
    try:
        files = sorted(p for p in path.iterdir() if p.suffix in CONFIG_SUFFIXES and p.is_file()) \
            if path.is_dir() else [path]
        documents = [(str(file), file.read_text(encoding="utf-8")) for file in files]
    except (OSError, UnicodeDecodeError) as error:
        raise ProviderConfigError(f"PQ_CREDENTIAL_PROVIDER_CONFIG: cannot read {path}: "
                                  f"{getattr(error, 'strerror', None) or error}") from None
    if not documents:
        raise ProviderConfigError(f"PQ_CREDENTIAL_PROVIDER_CONFIG: no configuration files found in directory {path}")
    return parse_provider_config(documents)


class ExecProviders:
    """The configured providers of one worker process, with their answers' cache."""

    def __init__(self, specs: Sequence[ProviderSpec], *, bin_dir: Path, environ: Mapping[str, str],
                 clock: Callable[[], float] = time.monotonic, timeout: float = EXEC_TIMEOUT) -> None:
        """`environ` is what providers inherit (the worker's environment less pipeline-queue's own secrets)."""
        self.specs, self.bin_dir, self.timeout = tuple(specs), bin_dir, timeout
        self._environ, self._clock = dict(environ), clock
        self._caches = {spec.name: ProviderCache() for spec in self.specs}
        self._lock = threading.Lock()  # one worker thread may share the caches with the next

    def __repr__(self) -> str:
        return f"ExecProviders({[spec.name for spec in self.specs]!r}, bin_dir={str(self.bin_dir)!r})"

    def serving(self, image: str) -> tuple[ProviderSpec, ...]:
        """The providers whose matchImages cover `image` (a repository name), in the config's order."""
        return tuple(spec for spec in self.specs if spec.serves(image))

    def configs_for(self, image: str) -> list[DockerConfig]:
        """Every serving provider's credentials for `image`, cached or freshly asked; CredentialPluginError when
        one of them fails."""
        return [self._answer(spec, image) for spec in self.serving(image)]

    def _answer(self, spec: ProviderSpec, image: str) -> DockerConfig:
        cache = self._caches[spec.name]
        with self._lock:
            cached = cache.get(image, now=self._clock())
        if cached is not None:
            return cached
        response = parse_provider_response(self._run(spec, image), spec=spec, image=image)
        with self._lock:
            cache.put(image, response, default=spec.default_cache_duration, now=self._clock())
        return response.config

    def _run(self, spec: ProviderSpec, image: str) -> bytes:
        executable = self.bin_dir / spec.name
        try:
            done = subprocess.run([str(executable), *spec.args], input=provider_request(spec, image),
                                  capture_output=True, timeout=self.timeout, env=env_pairs(spec, self._environ),
                                  check=False)
        except subprocess.TimeoutExpired:
            raise CredentialPluginError(f"{spec.source} did not answer for image {image} within "
                                        f"{self.timeout:g}s") from None
        except OSError as error:
            raise CredentialPluginError(f"{spec.source} cannot run for image {image}: {executable}: "
                                        f"{error.strerror or type(error).__name__}") from None
        if done.returncode != 0:
            # The kubelet reports the provider's standard error too; its last line says why.
            last = next((line for line in reversed(done.stderr.decode(errors="replace").splitlines())
                         if line.strip()), "")
            shown = f": {last.strip()[:_STDERR_SHOWN]}" if last else ""
            raise CredentialPluginError(f"{spec.source} failed for image {image} (exit status {done.returncode})"
                                        f"{shown}")
        return done.stdout
