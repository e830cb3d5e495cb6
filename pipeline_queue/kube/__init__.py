"""The only place pipeline-queue talks to Kubernetes: a client factory, a handful of verbs (`verbs`), the pod watch
(`watching`), a stage's objects (`stage`) and their errors, chosen by HTTP status (`errors`)."""

from pipeline_queue.kube.client import make_api_client
from pipeline_queue.kube.errors import (
    AlreadyExistsError,
    ConflictError,
    ForbiddenError,
    ForeignObjectError,
    InvalidError,
    KubeError,
    NotFoundError,
    TransientKubeError,
)
from pipeline_queue.kube.retry import RetryPolicy
from pipeline_queue.kube.verbs import Kube

__all__ = [
    "AlreadyExistsError",
    "ConflictError",
    "ForbiddenError",
    "ForeignObjectError",
    "InvalidError",
    "Kube",
    "KubeError",
    "NotFoundError",
    "RetryPolicy",
    "TransientKubeError",
    "make_api_client",
]
