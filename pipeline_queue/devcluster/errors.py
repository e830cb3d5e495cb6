"""The development cluster's own error tree, rooted at `DevClusterError` and apart from the product's.

The command that runs the cluster turns a `DevClusterError` into its own usage error; nothing here knows the product.
"""

from __future__ import annotations


class DevClusterError(Exception):
    """Base of every error the development cluster raises on purpose; `message` is what a user reads."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class RegistriesFileError(DevClusterError):
    """The `--registries` file cannot be read or breaks a rule; the message names the entry, never a password."""


class PullSecretError(DevClusterError):
    """A pull secret's docker config is malformed; the message names the secret and entry, never a credential."""


class ContainerConfigError(DevClusterError):
    """A container cannot be configured yet (a Secret or key it needs is missing): CreateContainerConfigError."""


class PodAddressError(DevClusterError):
    """No loopback address can be leased for a new pod: the kubelet reports FailedCreatePodSandBox."""
