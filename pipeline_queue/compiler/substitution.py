"""Drone's variable substitution: every `${...}` in a pipeline gets the build's own variables, as
Drone's runner does to the whole file (grammar in `envsubst`) before the pipeline is compiled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from pipeline_queue.compiler.envsubst import parse
from pipeline_queue.errors import CompileError
from pipeline_queue.spec.models import Parameter, Pipeline, Step, Variable

STEP_ONLY_VARIABLES = frozenset(
    {
        "DRONE_WORKSPACE",
        "DRONE_WORKSPACE_BASE",
        "DRONE_WORKSPACE_PATH",
        "DRONE_RUNNER_NAME",
        "DRONE_RUNNER_PLATFORM",
        "DRONE_STEP_NAME",
        "DRONE_STEP_NUMBER",
    }
)
"""Variables a step has when it runs but Drone's runner does not substitute (there they are empty)."""

# Fields Drone's server reads from the file as written (to trigger, name and route a stage) or that are
# evaluated elsewhere; steps and services are walked one by one, so that errors can name them.
_NOT_SUBSTITUTED: dict[type[BaseModel], frozenset[str]] = {
    Pipeline: frozenset({"kind", "type", "name", "platform", "trigger", "depends_on", "services", "steps"}),
    Step: frozenset({"when"}),
}
_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


@dataclass(frozen=True)
class Substituted:
    """A pipeline after substitution, and warnings about the names that became empty strings."""

    pipeline: Pipeline
    warnings: tuple[str, ...]


def substitute_pipeline(pipeline: Pipeline, variables: Mapping[str, str]) -> Substituted:
    """Every string of the pipeline that Drone substitutes; mapping keys stay as written.

    `variables` are the stage's variables (`stage_variables`); Drone substitutes its build parameters
    among them, never a secret: a `from_secret` name is text like any other, its value is not involved.
    Raises CompileError naming the field whose expression is malformed.
    """
    walker = _Walker(drone_parameters(variables))
    services = tuple(walker.step(step, kind="service") for step in pipeline.services)
    steps = tuple(walker.step(step, kind="step") for step in pipeline.steps)
    walker.where = ""
    top = walker.model(pipeline, "")
    return Substituted(top.model_copy(update={"services": services, "steps": steps}), tuple(walker.warnings))


def drone_parameters(variables: Mapping[str, str]) -> dict[str, str]:
    """What Drone's runner substitutes: no step-only variable, and a value with a newline Go-quoted."""
    # The runner quotes so that a multi-line value keeps the YAML text it is pasted into intact.
    return {
        name: go_quote(value) if "\n" in value else value
        for name, value in variables.items()
        if name not in STEP_ONLY_VARIABLES
    }


def go_quote(value: str) -> str:
    """`value` as Go's `%q` writes it: in double quotes, with backslash escapes, printable text kept."""
    out = ['"']
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        elif char in _GO_ESCAPES:
            out.append(_GO_ESCAPES[char])
        elif ord(char) < 0x20 or char == "\x7f":
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(f"\\u{ord(char):04x}" if ord(char) < 0x10000 else f"\\U{ord(char):08x}")
    return "".join([*out, '"'])


@dataclass
class _Walker:
    """Substitutes every string below a model, and says where an expression is wrong."""

    parameters: Mapping[str, str]
    where: str = ""
    warnings: dict[str, None] = field(default_factory=dict)  # an ordered set

    def step(self, step: Step, *, kind: str) -> Step:
        self.where = f"{kind} {step.name!r}: "
        result: Step = self.model(step, "")
        return result

    def model(self, model: BaseModel, path: str) -> Any:
        kept = _NOT_SUBSTITUTED.get(type(model), frozenset())
        update = {}
        for name in type(model).model_fields:
            if name not in kept:
                value = getattr(model, name)
                new = self.walk(value, _field_path(model, name, path=path))
                if new != value:
                    update[name] = new
        return model.model_copy(update=update) if update else model

    def walk(self, value: Any, path: str) -> Any:
        if isinstance(value, str):
            return self.text(value, path)
        if isinstance(value, BaseModel):
            return self.model(value, path)
        if isinstance(value, dict):
            return {key: self.walk(item, f"{path}.{key}") for key, item in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.walk(item, f"{path}[{index}]") for index, item in enumerate(value))
        return value

    def text(self, value: str, path: str) -> str:
        if "$" not in value and "\\" not in value:
            return value
        try:
            template = parse(value)
            result = template.render(self.parameters)
        except CompileError as error:
            raise CompileError(f"{self.where}{path}: {error}") from error
        for name in sorted(template.names_without_default - self.parameters.keys()):
            if name in STEP_ONLY_VARIABLES or not name.startswith(("DRONE_", "CI_")):
                self.warnings[_unset_warning(f"{self.where}{path}", name)] = None
        return result


def _field_path(model: BaseModel, name: str, *, path: str) -> str:
    if isinstance(model, Variable | Parameter) and name == "value":
        return path  # `environment.TOKEN`, not `environment.TOKEN.value`
    return f"{path}.{name}" if path else name


def _unset_warning(where: str, name: str) -> str:
    return (
        f"{where}: ${{{name}}} is replaced by an empty string: Drone substitutes only the build's own "
        f"variables into the file, before any step runs; write $${{{name}}} to leave it to the step's shell"
    )
