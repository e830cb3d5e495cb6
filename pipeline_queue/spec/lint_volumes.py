"""Lint rules on pipeline volumes and the steps that mount them.

Privileged steps and host volumes are a trusted repository's right: `lint_trust` refuses them to the others.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import astuple

from pipeline_queue.spec.document import LoadedPipeline, Problem, quote
from pipeline_queue.spec.lint_rules import each_step, problem, step_label

SOURCES = ("temp", "host", "claim", "config_map", "secret")


def check_volumes(filename: str, loaded: LoadedPipeline) -> Iterator[Problem]:
    document = loaded.document
    first_line: dict[str, int] = {}
    for index, volume in enumerate(loaded.pipeline.volumes):
        path = ("volumes", index)
        label = f"volume {quote(volume.name)}" if volume.name else f"volumes[{index}]"
        if not volume.name:
            yield problem(document, file=filename, path=path, rule="missing-volume-name",
                          message=f"{label} has no name")
        elif volume.name in first_line:
            yield problem(document, file=filename, path=(*path, "name"), rule="duplicate-volume-name",
                          message=f"duplicate volume name {quote(volume.name)} "
                                  f"(first at line {first_line[volume.name]})")
        else:
            first_line[volume.name] = document.position(*path, "name").line
        sources = sorted(
            (source for source in SOURCES if getattr(volume, source) is not None),
            key=lambda source: astuple(document.position(*path, source)),
        )
        if not sources:
            yield problem(document, file=filename, path=path, rule="missing-volume-source",
                          message=f"{label}: no source; set one of {', '.join(SOURCES[:-1])} or {SOURCES[-1]}")
        elif len(sources) > 1:
            yield problem(document, file=filename, path=(*path, sources[1]), rule="multiple-volume-sources",
                          message=f"{label}: several sources ({', '.join(sources)}); keep one")


def check_mounts(filename: str, loaded: LoadedPipeline) -> Iterator[Problem]:
    document = loaded.document
    declared = {volume.name for volume in loaded.pipeline.volumes if volume.name}
    for step_path, step in each_step(loaded.pipeline):
        label = step_label(step, step_path)
        for index, mount in enumerate(step.volumes):
            path = (*step_path, "volumes", index)
            mounted = f"volume {quote(mount.name)}" if mount.name else f"volumes[{index}]"
            if not mount.name:
                yield problem(document, file=filename, path=path, rule="unknown-volume",
                              message=f"{label}: {mounted} names no volume")
            elif mount.name not in declared:
                yield problem(document, file=filename, path=(*path, "name"), rule="unknown-volume",
                              message=f"{label}: {mounted} is not one of the pipeline's volumes")
            if not mount.path:
                yield problem(document, file=filename, path=path, rule="missing-mount-path",
                              message=f"{label}: {mounted} has no path")
