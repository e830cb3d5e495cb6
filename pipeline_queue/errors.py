"""The one error tree of pipeline-queue.

Every error a user can meet derives from `PipelineQueueError`, knows its exit
code and prints a message the user can act on. No error message ever contains
a password, token or secret value: callers name the entry, never its content.
"""

from __future__ import annotations

import sys


class PipelineQueueError(Exception):
    """Base of every error pipeline-queue raises on purpose."""

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def show(self) -> int:
        """Tell the user on standard error (`error: <message>`); the exit code to leave with."""
        print(f"error: {self.message}", file=sys.stderr, flush=True)
        return self.exit_code


class UsageError(PipelineQueueError):
    """The command line or an API call was used wrongly."""

    exit_code = 2


class NothingToRunError(UsageError):
    """No pipeline of the file has a trigger that matches the build's event: nothing is stored or started."""


class SpecError(PipelineQueueError):
    """A pipeline file cannot be read: carries `file:line:col` where known."""

    exit_code = 1

    def __init__(self, message: str, *, file: str = "", line: int = 0, col: int = 0) -> None:
        self.file, self.line, self.col = file, line, col
        location = f"{file}:{line}:{col}: " if file else ""
        super().__init__(f"{location}{message}")
        self.reason = message


class ImageReferenceError(PipelineQueueError):
    """An image reference does not follow the Docker distribution grammar."""

    exit_code = 2


class RegistryConfigError(PipelineQueueError):
    """A Docker config.json is malformed; the message names the entry, never its value."""

    exit_code = 2


class CompileError(PipelineQueueError):
    """A valid pipeline cannot be turned into Kubernetes objects."""

    exit_code = 1


class SecretsFileError(PipelineQueueError):
    """A `--secrets` file is not a mapping of names to string values."""

    exit_code = 2


class StoreError(PipelineQueueError):
    """The database cannot be reached or lacks what was asked for (a build, stage or step id)."""

    exit_code = 1


class StaleStateError(StoreError):
    """A stage changed since it was read (its version moved on): read it again and decide anew."""

    exit_code = 1


class FetchError(PipelineQueueError):
    """A file cannot be read from a repository at a commit: the commit or file is not there, the fetch timed out,
    the file is too large, or the clone URL is refused. The message shows the URL without its credentials."""

    exit_code = 1


class FileMissingError(FetchError):
    """The commit has no file at the path asked for (a branch without a pipeline file): nothing to build."""


class BrokerError(PipelineQueueError):
    """Redis (the queue's broker) cannot be reached, or the embedded one cannot start."""

    exit_code = 1


class VaultError(PipelineQueueError):
    """A repository secret cannot be sealed or opened: no usable key, a wrong key, or a value moved to another row.

    The message names the key source or the row (repository, secret name), never a value, ciphertext or key.
    """

    exit_code = 1


class CredentialPluginError(PipelineQueueError):
    """A registry credential plugin (Drone's HTTP registry extension, a kubelet credential provider, Amazon ECR) did
    not answer, or answered something unusable. The message names the plugin and the image, never a credential."""

    exit_code = 1


class ProviderConfigError(UsageError):
    """`PQ_CREDENTIAL_PROVIDER_CONFIG` is not a kubelet CredentialProviderConfig pipeline-queue can use; the message
    names the file and the field."""
