"""Drone pipeline files: safe loading into models with positions, and the linter.

`load_text`/`load_file` read a file (raising SpecError with `file:line:col`);
`lint` lists what Drone would reject or silently ignore.
"""

from pipeline_queue.spec.document import Document, LoadedFile, LoadedPipeline, Position, Problem
from pipeline_queue.spec.linter import RULES, has_errors, lint
from pipeline_queue.spec.loader import load_file, load_text

__all__ = [
    "RULES",
    "Document",
    "LoadedFile",
    "LoadedPipeline",
    "Position",
    "Problem",
    "has_errors",
    "lint",
    "load_file",
    "load_text",
]
