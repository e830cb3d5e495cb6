"""Reconciling a stage: the pure state machine (`state`), the stored plan (`plan`) and `advance_stage` (`service`)."""

from pipeline_queue.reconcile.service import AdvanceResult, advance_stage

__all__ = ["AdvanceResult", "advance_stage"]
