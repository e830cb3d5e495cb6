"""The producer: a pipeline file becomes a build in the store, its Secrets in Kubernetes and `pq.advance` messages.

`submit_file` does all three; `cancel_build` stops a build; `dependencies` decides when a stage that waits on
other pipelines may run.
"""

from pipeline_queue.producer.cancel import cancel_build
from pipeline_queue.producer.dependencies import may_start, release_waiting
from pipeline_queue.producer.submit import SubmittedBuild, SubmittedStage, check_file, submit_file

__all__ = [
    "SubmittedBuild",
    "SubmittedStage",
    "cancel_build",
    "check_file",
    "may_start",
    "release_waiting",
    "submit_file",
]
