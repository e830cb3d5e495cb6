"""compile_pipeline as a whole: one pod per step, credentials only where they match, errors that say where."""

from __future__ import annotations

import base64
import json

import pytest

from pipeline_queue.compiler import BuildContext, CompilerSettings, StagePlan
from pipeline_queue.errors import CompileError, RegistryConfigError
from pipeline_queue.pull import PullSettings
from tests.compiler.conftest import compile_stage, compile_text

HEAD = "kind: pipeline\ntype: kubernetes\nname: p\n"
PRIVATE = (
    HEAD + "image_pull_secrets: [dockerconfig]\nsteps:\n"
    "- name: private\n  image: registry.example.com/team/app:1\n"
    "- name: public\n  image: alpine:3.20\n"
)
CONFIG = json.dumps(
    {
        "auths": {
            "registry.example.com": {"username": "robot", "password": "pr1vate-pa55"},
            "other.example.com": {"username": "else", "password": "0ther-pa55"},
        }
    }
)


def dockerconfig_of(secret: dict) -> dict:
    return json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))


def test_objects_come_in_creation_order() -> None:
    compiled = compile_stage(
        HEAD + "image_pull_secrets: [dockerconfig]\nservices:\n- name: redis\n  image: redis:7\n"
        "steps:\n- name: a\n  image: registry.example.com/team/app:1\n  environment:\n    T: {from_secret: t}\n",
        secrets={"dockerconfig": CONFIG, "t": "t0ken-value"},
        stage_key="o",
    )
    kinds = [(obj["kind"], obj["metadata"]["name"]) for obj in compiled.objects()]
    assert kinds == [
        ("PersistentVolumeClaim", "pq-o-workspace"),
        ("Secret", "pq-o-env"),
        ("Secret", "pq-o-a-pull"),
        ("Pod", "pq-o-redis"),
        ("Service", "pq-o-redis"),
        ("Pod", "pq-o-a"),
    ]


def test_only_the_image_that_matches_gets_a_pull_secret_with_only_its_credentials() -> None:
    compiled = compile_stage(PRIVATE, secrets={"dockerconfig": CONFIG}, stage_key="c")
    private, public = compiled.plan.steps
    assert private.pod["spec"]["imagePullSecrets"] == [{"name": "pq-c-private-pull"}]
    assert private.pull_secret == "pq-c-private-pull"
    secret = compiled.pull_secret("private")
    assert secret is not None and secret["type"] == "kubernetes.io/dockerconfigjson"
    assert list(dockerconfig_of(secret)["auths"]) == ["registry.example.com"]
    assert [(c.secret, c.key, c.username) for c in private.credentials] == [
        ("dockerconfig", "registry.example.com", "robot")
    ]
    assert "imagePullSecrets" not in public.pod["spec"]
    assert public.pull_secret == "" and public.credentials == ()
    assert compiled.pull_secret("public") is None


def test_a_missing_pull_secret_is_a_warning() -> None:
    plan = compile_text(PRIVATE)
    assert plan.warnings == ("image_pull_secrets: secret 'dockerconfig' is not defined; images are pulled without it",)
    assert all(step.pull_secret == "" for step in plan.steps)


def test_a_malformed_pull_secret_names_the_secret_never_its_content() -> None:
    with pytest.raises(RegistryConfigError) as caught:
        compile_text(PRIVATE, secrets={"dockerconfig": '{"auths": "hunter2-in-here"'})
    assert "dockerconfig" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_secrets_are_hidden_from_repr_and_redacted_output() -> None:
    plan = compile_stage(
        PRIVATE.replace(
            "- name: public\n  image: alpine:3.20\n",
            "- name: public\n  image: alpine:3.20\n  environment:\n    X: {from_secret: x}\n",
        ),
        secrets={"dockerconfig": CONFIG, "x": "x-s3cret-value"},
    )
    shown = repr(plan) + str(plan.redacted_objects()) + repr(BuildContext(secrets={"x": "x-s3cret-value"}))
    for value in ("pr1vate-pa55", "x-s3cret-value", base64.b64encode(b"x-s3cret-value").decode()):
        assert value not in shown
    redacted = [obj for obj in plan.redacted_objects() if obj["kind"] == "Secret"]
    assert redacted and all(set(obj["data"].values()) == {"<redacted>"} for obj in redacted)
    # redacting never touches the plan's own objects
    assert plan.env_secret is not None and base64.b64decode(plan.env_secret["data"]["x"]) == b"x-s3cret-value"


def test_one_container_per_pod_with_the_normalized_image() -> None:
    plan = compile_text(
        HEAD + "steps:\n- name: a\n  image: golang\n- name: b\n  image: index.docker.io/library/golang:1.7\n"
    )
    images = [step.pod["spec"]["containers"] for step in plan.steps]
    assert [[c["name"] for c in containers] for containers in images] == [["step"], ["step"]]
    assert [c[0]["image"] for c in images] == ["docker.io/library/golang:latest", "docker.io/library/golang:1.7"]
    assert [c[0]["imagePullPolicy"] for c in images] == ["Always", "IfNotPresent"]


def test_plugins_keep_their_entrypoint() -> None:
    container = (
        compile_text(HEAD + "steps:\n- name: a\n  image: plugins/docker:20\n").steps[0].pod["spec"]["containers"][0]
    )
    assert "command" not in container and "args" not in container


def test_metadata_merges_and_ours_win() -> None:
    plan = compile_text(
        HEAD + "metadata:\n  namespace: ci\n  labels:\n    team: a\n    pipeline-queue.io/stage: mine\n"
        "  annotations:\n    note: hi\nsteps:\n- name: a\n  image: alpine:3\n",
        stage_key="real",
    )
    meta = plan.steps[0].pod["metadata"]
    assert plan.namespace == meta["namespace"] == "ci"
    assert meta["labels"]["team"] == "a"
    assert meta["labels"]["pipeline-queue.io/stage"] == "real"
    assert meta["annotations"]["note"] == "hi"


def test_the_context_namespace_is_the_default() -> None:
    assert compile_text(HEAD + "steps:\n- name: a\n  image: alpine:3\n", namespace="builds").namespace == "builds"


def test_the_default_stage_key_is_deterministic_and_distinct() -> None:
    text = HEAD + "steps:\n- name: a\n  image: alpine:3\n"
    first = compile_text(text, repo="o/r", build_number=5)
    assert first.stage_key == compile_text(text, repo="o/r", build_number=5).stage_key
    assert first.stage_key != compile_text(text, repo="o/r", build_number=6).stage_key
    assert first.stage_key != compile_text(text.replace("name: p", "name: q"), repo="o/r", build_number=5).stage_key
    again = compile_stage(text, repo="o/r", build_number=5).objects()
    assert compile_stage(text, repo="o/r", build_number=5).objects() == again


def test_services_are_detached_reachable_by_name_and_their_service_is_the_stage_s_own() -> None:
    text = HEAD + "services:\n- name: redis\n  image: redis:7\nsteps:\n- name: a\n  image: alpine:3\n"
    plan = compile_text(text, stage_key="s1")
    (service,) = plan.services
    assert service.detach and service.kind == "service" and service.host == "redis"
    assert service.service is not None
    # Another build of the same pipeline has a Service of its own: names are the stage's, not the pipeline's.
    assert service.service["metadata"]["name"] == "pq-s1-redis"
    assert compile_text(text, stage_key="s2").services[0].service["metadata"]["name"] == "pq-s2-redis"
    assert service.service["spec"]["clusterIP"] == "None"
    pod_labels = service.pod["metadata"]["labels"]
    assert all(pod_labels[key] == value for key, value in service.service["spec"]["selector"].items())


def test_without_depends_on_steps_run_one_after_another() -> None:
    plan = compile_text(
        HEAD + "steps:\n- name: a\n  image: alpine:3\n- name: b\n  image: alpine:3\n- name: c\n  image: alpine:3\n"
    )
    assert [step.depends_on for step in plan.steps] == [(), ("a",), ("b",)]


def test_operator_pull_settings_apply_and_errors_name_the_step() -> None:
    settings = CompilerSettings(pull=PullSettings(allowed=("IfNotPresent", "Never")))
    with pytest.raises(CompileError, match=r"^step 'a': pull: always"):
        compile_text(HEAD + "steps:\n- name: a\n  image: alpine:3\n  pull: always\n", settings=settings)
    plan = compile_text(HEAD + "steps:\n- name: a\n  image: alpine\n", settings=settings)
    assert plan.steps[0].pull.policy == "IfNotPresent"


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ("- name: a\n  image: alpine:3\n- name: a\n  image: alpine:3\n", "step 'a': the name is already used by 'a'"),
        ("- name: a\n  image: ''\n", "step 'a': no image given"),
        ("- name: a\n  image: Alpine:3\n", "step 'a': image 'Alpine:3': invalid reference format"),
        ("- name: a\n  image: alpine:3\n  depends_on: [nope]\n", "step 'a': depends_on 'nope', but no step"),
        (
            "- name: a\n  image: alpine:3\n  depends_on: [b]\n- name: b\n  image: alpine:3\n  depends_on: [a]\n",
            "depends_on: steps ['a', 'b'] wait on each other in a cycle",
        ),
        ("- name: a\n  image: alpine:3\n  volumes:\n  - {name: v, path: /v}\n", "step 'a': volume 'v' is not declared"),
    ],
)
def test_errors_say_what_and_where(steps: str, message: str) -> None:
    with pytest.raises(CompileError) as caught:
        compile_text(HEAD + "steps:\n" + steps)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ("  namespace: Bad_NS\n", "metadata.namespace: 'Bad_NS' is not a valid namespace"),
        ("  labels:\n    team: 'not valid!'\n", "metadata.labels.team: 'not valid!' is not a valid label value"),
        ("  labels:\n    'bad key!': x\n", "metadata.labels: 'bad key!' is not a valid label key"),
    ],
)
def test_metadata_kubernetes_would_refuse_is_an_error(metadata: str, message: str) -> None:
    with pytest.raises(CompileError) as caught:
        compile_text(HEAD + "metadata:\n" + metadata + "steps:\n- name: a\n  image: alpine:3\n")
    assert str(caught.value).startswith(message)


def test_two_services_on_one_host_are_refused() -> None:
    with pytest.raises(CompileError, match="would be reached at 'my-db', like service 'my_db'"):
        compile_text(HEAD + "services:\n- name: my_db\n  image: postgres:16\n- name: my.db\n  image: postgres:16\n")


def test_volume_mount_checks() -> None:
    volumes = "volumes:\n- name: v\n  temp: {}\n"
    with pytest.raises(CompileError, match="path 'rel' must be absolute"):
        compile_text(HEAD + volumes + "steps:\n- name: a\n  image: alpine:3\n  volumes:\n  - {name: v, path: rel}\n")
    with pytest.raises(CompileError, match="/drone/src is already mounted"):
        compile_text(
            HEAD + volumes + "steps:\n- name: a\n  image: alpine:3\n  volumes:\n  - {name: v, path: /drone/src}\n"
        )
    with pytest.raises(CompileError, match="give exactly one of"):
        compile_text(HEAD + "volumes:\n- name: v\nsteps:\n- name: a\n  image: alpine:3\n")


def test_an_absolute_workspace_path_is_the_mount_and_the_working_directory() -> None:
    plan: StagePlan = compile_text(HEAD + "workspace:\n  path: /go/src/app\nsteps:\n- name: a\n  image: alpine:3\n")
    container = plan.steps[0].pod["spec"]["containers"][0]
    assert container["workingDir"] == "/go/src/app"
    assert container["volumeMounts"][0]["mountPath"] == "/go/src/app"


def test_the_claim_is_read_write_once_with_the_context_size() -> None:
    plan = compile_text(HEAD + "steps:\n- name: a\n  image: alpine:3\n", workspace_claim_size="5Gi")
    assert plan.claim["spec"] == {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}}
    volume = plan.steps[0].pod["spec"]["volumes"][0]
    assert volume["persistentVolumeClaim"]["claimName"] == plan.claim["metadata"]["name"]


def test_depends_on_the_implicit_clone_step_waits_for_nothing():
    from pipeline_queue.compiler import BuildContext, compile_pipeline
    from pipeline_queue.spec.loader import load_text

    loaded = load_text(
        "kind: pipeline\ntype: kubernetes\nname: default\nsteps:\n"
        "- name: build\n  image: golang:1.22\n  commands: [go build]\n  depends_on: [clone]\n"
        "- name: test\n  image: golang:1.22\n  commands: [go test]\n  depends_on: [build]\n"
    )
    plan = compile_pipeline(loaded.pipelines[0].pipeline, BuildContext()).plan
    assert plan.step("build").depends_on == ()
    assert plan.step("test").depends_on == ("build",)
