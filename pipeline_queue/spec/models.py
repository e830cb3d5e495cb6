"""Models of Drone's Kubernetes pipeline documents: plain, frozen values.

The loader hands these models data whose scalars are the strings written in
the file (YAML 1.1 booleans and numbers are not resolved), so `1.10` stays
`1.10`; fields that are really booleans or integers are converted here.
Unknown keys are ignored by the models and reported by the linter.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

PULL_VALUES = ("always", "if-not-exists", "never")


def _as_list(value: Any) -> Any:
    """Drone accepts a lone string wherever a list of strings is expected."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return value


def _as_mapping(value: Any) -> Any:
    return {} if value is None else value


def _none_as_empty(value: Any) -> Any:
    return "" if value is None else value


def _yaml_int(value: Any) -> Any:
    """The loader keeps `0644` as text; read it as YAML 1.1 (and Drone's Go parser) does: octal."""
    if not isinstance(value, str):
        return value
    if re.fullmatch(r"[-+]?0[0-7_]+", value):
        return int(value.replace("_", ""), 8)
    try:
        return int(value, 0)  # 0x1f, 0o17, 0b101, 1_000
    except ValueError:
        return value  # pydantic reports it as not an integer


StrList = Annotated[tuple[str, ...], BeforeValidator(_as_list)]
StrMap = Annotated[dict[str, str], BeforeValidator(_as_mapping)]
Str = Annotated[str, BeforeValidator(_none_as_empty)]
YamlInt = Annotated[int, BeforeValidator(_yaml_int)]


class Model(BaseModel):
    """Base: frozen, ignores unknown keys (the linter warns about them)."""

    model_config = ConfigDict(frozen=True, extra="ignore", coerce_numbers_to_str=True)


class Condition(Model):
    """One `when`/`trigger` field: include and exclude glob lists."""

    include: StrList = ()
    exclude: StrList = ()

    @classmethod
    def parse(cls, value: Any) -> Any:
        """A string or list means include; a mapping has include/exclude."""
        if value is None:
            return {}
        if isinstance(value, (str, list, tuple)):
            return {"include": _as_list(value)}
        return value

    @property
    def empty(self) -> bool:
        return not self.include and not self.exclude


CondField = Annotated[Condition, BeforeValidator(Condition.parse)]


class Conditions(Model):
    """A step's `when` or a pipeline's `trigger`."""

    branch: CondField = Condition()
    event: CondField = Condition()
    ref: CondField = Condition()
    repo: CondField = Condition()
    status: CondField = Condition()
    target: CondField = Condition()
    instance: CondField = Condition()
    cron: CondField = Condition()
    action: CondField = Condition()
    paths: CondField = Condition()


class Variable(Model):
    """An environment value: plain text, or the name of a secret (`from_secret`)."""

    value: Str = ""
    from_secret: Str = ""

    @classmethod
    def parse(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return value
        return {"value": "" if value is None else value}


class Parameter(Model):
    """A plugin setting: any YAML value, or `from_secret`."""

    value: Any = None
    from_secret: Str = ""

    @classmethod
    def parse(cls, value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"from_secret"}:
            return value
        return {"value": value}


EnvMap = Annotated[
    dict[str, Annotated[Variable, BeforeValidator(Variable.parse)]],
    BeforeValidator(_as_mapping),
]
SettingsMap = Annotated[
    dict[str, Annotated[Parameter, BeforeValidator(Parameter.parse)]],
    BeforeValidator(_as_mapping),
]


class ResourceAmounts(Model):
    """`cpu` in millicores (Drone's unit) or a Kubernetes quantity; `memory` in bytes or with a unit."""

    cpu: Str = ""
    memory: Str = ""


class Resources(Model):
    limits: ResourceAmounts = ResourceAmounts()
    requests: ResourceAmounts = ResourceAmounts()


class VolumeMount(Model):
    """A step's use of a pipeline volume."""

    name: Str = ""
    path: Str = ""


class Step(Model):
    """A step or a service: one container image."""

    name: Str = ""
    image: Str = ""
    pull: Str = ""
    commands: StrList = ()
    command: StrList = ()
    entrypoint: StrList = ()
    environment: EnvMap = Field(default_factory=dict)
    settings: SettingsMap = Field(default_factory=dict)
    when: Conditions = Conditions()
    depends_on: StrList = ()
    detach: bool = False
    failure: Str = ""
    privileged: bool = False
    resources: Resources = Resources()
    volumes: tuple[VolumeMount, ...] = ()
    user: Str = ""
    working_dir: Str = ""
    shell: Str = ""


class TempVolume(Model):
    medium: Str = ""
    size_limit: Str = ""


class HostVolume(Model):
    path: Str = ""


class ClaimVolume(Model):
    name: Str = ""
    read_only: bool = False


class ConfigMapVolume(Model):
    name: Str = ""
    default_mode: YamlInt | None = None
    optional: bool = False


class SecretVolume(Model):
    secret_name: Str = ""
    default_mode: YamlInt | None = None
    optional: bool = False


class Volume(Model):
    """A pipeline volume: exactly one of the source kinds is set."""

    name: Str = ""
    temp: TempVolume | None = None
    host: HostVolume | None = None
    claim: ClaimVolume | None = None
    config_map: ConfigMapVolume | None = None
    secret: SecretVolume | None = None

    @classmethod
    def parse(cls, value: Any) -> Any:
        # `temp: {}` is how Drone writes an emptyDir; YAML may give None for it.
        if isinstance(value, dict) and "temp" in value and value["temp"] is None:
            return {**value, "temp": {}}
        return value


class Toleration(Model):
    key: Str = ""
    operator: Str = ""
    value: Str = ""
    effect: Str = ""
    toleration_seconds: YamlInt | None = None


class Metadata(Model):
    namespace: Str = ""
    labels: StrMap = Field(default_factory=dict)
    annotations: StrMap = Field(default_factory=dict)


class Platform(Model):
    os: Str = ""
    arch: Str = ""
    variant: Str = ""
    version: Str = ""


class Clone(Model):
    disable: bool = False
    depth: YamlInt | None = None
    retries: YamlInt | None = None
    skip_verify: bool = False
    trace: bool = False


class Workspace(Model):
    path: Str = ""


class Pipeline(Model):
    """A `kind: pipeline`, `type: kubernetes` document."""

    kind: Str = "pipeline"
    type: Str = "kubernetes"
    name: Str = ""
    platform: Platform = Platform()
    metadata: Metadata = Metadata()
    node_selector: StrMap = Field(default_factory=dict)
    tolerations: tuple[Toleration, ...] = ()
    service_account_name: Str = ""
    image_pull_secrets: StrList = ()
    trigger: Conditions = Conditions()
    depends_on: StrList = ()
    clone: Clone = Clone()
    workspace: Workspace = Workspace()
    environment: EnvMap = Field(default_factory=dict)
    volumes: tuple[Annotated[Volume, BeforeValidator(Volume.parse)], ...] = ()
    services: tuple[Step, ...] = ()
    steps: tuple[Step, ...] = ()


class Secret(Model):
    """A `kind: secret` document: a name and where its value comes from."""

    kind: Str = "secret"
    name: Str = ""
    data: Str = Field(default="", repr=False)  # encrypted, still never shown
    get: dict[str, Any] = Field(default_factory=dict)


class Signature(Model):
    """A `kind: signature` document (an HMAC of the file); accepted, not verified here."""

    kind: Str = "signature"
    hmac: Str = ""
