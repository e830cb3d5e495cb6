"""The source code manager at the edge: what pipeline-queue reads from a repository's git server."""

from pipeline_queue.scm.fetch import read_file_at, redact_url

__all__ = ["read_file_at", "redact_url"]
