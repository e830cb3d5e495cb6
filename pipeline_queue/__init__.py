"""pipeline-queue: a CI runner for Kubernetes built as a distributed job queue."""

__version__ = "0.1.0"
