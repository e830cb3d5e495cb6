"""The compiler: a pipeline and a build context become plain Kubernetes objects, one Pod per step.

Pure: no I/O and no Kubernetes client; the workers send what it returns.
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
from pipeline_queue.compiler.plan import CompiledStep, CredentialSource, Plan
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
    "CompiledStep",
    "CompilerSettings",
    "CredentialSource",
    "Plan",
    "compile_pipeline",
]
