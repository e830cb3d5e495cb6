"""The pod watcher: one stream of pod events turned into `advance(stage_id)` messages.

`state` is the pure state machine (events in, decisions out); `adapter` is the small loop that feeds
it from a Kubernetes watch and sends what it decides.
"""

from pipeline_queue.compiler.naming import stage_id_of
from pipeline_queue.watcher.state import Advance, Relist, WatchState

__all__ = ["Advance", "Relist", "WatchState", "stage_id_of"]
