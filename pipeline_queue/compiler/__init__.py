"""The compiler: a pipeline and a build context become plain Kubernetes objects, one Pod per step.

Pure: no I/O and no Kubernetes client. Its output, a `CompiledStage`, is the stage plan the workers run
(stored as it is) and, apart from it, the stage's Secrets.
"""

from pipeline_queue.compiler.context import BuildContext, CompilerSettings
from pipeline_queue.compiler.naming import (
    LABEL_BUILD,
    LABEL_KIND,
    LABEL_MANAGED_BY,
    LABEL_REPO,
    LABEL_STAGE,
    LABEL_STEP,
    MANAGED_BY,
)
from pipeline_queue.compiler.plan import CompiledStage, CredentialSource, StagePlan, StepPlan, UpstreamPolicy
from pipeline_queue.compiler.stage import compile_pipeline

__all__ = [
    "LABEL_BUILD",
    "LABEL_KIND",
    "LABEL_MANAGED_BY",
    "LABEL_REPO",
    "LABEL_STAGE",
    "LABEL_STEP",
    "MANAGED_BY",
    "BuildContext",
    "CompiledStage",
    "CompilerSettings",
    "CredentialSource",
    "StagePlan",
    "StepPlan",
    "UpstreamPolicy",
    "compile_pipeline",
]
