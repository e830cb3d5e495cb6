"""The linter: one fixture per rule (testdata/lint/<rule>.yml) with the exact problems it must report.

A fixture lists what the linter must report as `# want: LINE:COL: [severity: ]message`
comments; a first line `# secrets: a, b` lints with those repository secrets, and a line
`# untrusted: namespace NS` lints it for an untrusted repository of that namespace (and of those secrets).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pipeline_queue.spec import RULES, Problem, has_errors, lint, load_file, load_text
from pipeline_queue.spec.linter import TRUSTED, Trust

FIXTURES = Path(__file__).parent / "testdata" / "lint"


def expectations(path: Path) -> tuple[list[str], list[str] | None, Trust]:
    lines = path.read_text().splitlines()
    wanted = [line.removeprefix("# want: ") for line in lines if line.startswith("# want: ")]
    secrets = None
    if lines[0].startswith("# secrets:"):
        secrets = [name.strip() for name in lines[0].split(":", 1)[1].split(",")]
    trust = TRUSTED
    for line in lines:
        if line.startswith("# untrusted: namespace "):
            trust = Trust(trusted=False, namespace=line.removeprefix("# untrusted: namespace ").strip(),
                          secrets=frozenset(secrets or ()))
    return wanted, secrets, trust


@pytest.mark.parametrize("rule", sorted(RULES))
def test_each_rule_reports_exactly_its_fixture(rule: str) -> None:
    path = FIXTURES / f"{rule}.yml"
    wanted, secrets, trust = expectations(path)
    problems = lint(load_file(path), secrets=secrets, trust=trust)
    assert [str(found).removeprefix(f"{path}:") for found in problems] == wanted
    assert wanted, "a fixture must show its rule firing"
    assert {found.rule for found in problems} == {rule}
    assert {found.severity for found in problems} == {RULES[rule].severity}


def test_every_fixture_is_a_rule() -> None:
    assert sorted(path.stem for path in FIXTURES.glob("*.yml")) == sorted(RULES)


def test_rule_ids_are_kebab_case_and_severities_known() -> None:
    for rule_id, rule in RULES.items():
        assert rule_id == rule_id.lower() and " " not in rule_id and "_" not in rule_id
        assert rule.severity in ("error", "warning", "notice")


CLEAN = """\
kind: pipeline
type: kubernetes
name: default

steps:
- name: build
  image: golang:1.22
  commands: [go build ./...]
  environment:
    TOKEN: {from_secret: token}
"""


def test_a_clean_file_has_no_problems() -> None:
    assert lint(load_text(CLEAN), secrets=["token"]) == []


def test_the_secret_check_is_skipped_without_a_secret_list() -> None:
    assert lint(load_text(CLEAN)) == []
    [found] = lint(load_text(CLEAN, filename="ci.yml"), secrets=[])
    assert str(found) == (
        'ci.yml:10:13: warning: step "build": environment "TOKEN" uses secret "token", which is not provided'
    )


def test_a_single_unnamed_pipeline_is_named_default() -> None:
    text = CLEAN.replace("name: default\n", "")
    assert lint(load_text(text)) == []
    found = lint(load_text(text + "---\n" + text))
    assert [(problem.rule, problem.line) for problem in found] == [
        ("missing-pipeline-name", 1),
        ("missing-pipeline-name", 11),
    ]


def test_problems_are_sorted_by_position_and_include_notices() -> None:
    text = "kind: pipeline\ntype: docker\nname: d\n---\n" + CLEAN.replace("  image: golang:1.22\n", "") + "x: 1\n"
    found = lint(load_text(text, filename="f.yml"))
    assert [str(problem) for problem in found] == [
        'f.yml:2:1: notice: pipeline "d" has type "docker"; only kubernetes pipelines run here, skipped',
        'f.yml:10:3: step "build": missing image',
        'f.yml:14:1: warning: pipeline "default": unknown key "x", ignored',
    ]
    assert has_errors(found)
    assert not has_errors([problem for problem in found if problem.severity != "error"])


def test_problem_str_by_severity() -> None:
    def make(severity: str) -> str:
        return str(Problem("a.yml", 3, 5, "it is wrong", rule="some-rule", severity=severity))

    assert make("error") == "a.yml:3:5: it is wrong"
    assert make("warning") == "a.yml:3:5: warning: it is wrong"
    assert make("notice") == "a.yml:3:5: notice: it is wrong"


def test_a_kubernetes_pipeline_may_depend_on_a_docker_pipeline() -> None:
    kubernetes = CLEAN.replace("name: default\n", "name: k\ndepends_on: [on-docker]\n")
    text = "kind: pipeline\nname: on-docker\n---\n" + kubernetes
    assert [problem.rule for problem in lint(load_text(text))] == ["skipped-pipeline"]


def test_steps_may_depend_on_later_steps_and_on_clone() -> None:
    text = CLEAN + "  depends_on: [clone, test]\n- name: test\n  image: golang:1.22\n"
    assert lint(load_text(text)) == []


def test_privileged_steps_and_host_volumes_are_allowed() -> None:
    text = CLEAN + textwrap.dedent("""\
          privileged: true
          volumes: [{name: sock, path: /var/run}]
        volumes:
        - name: sock
          host:
            path: /var/run
        """)
    assert lint(load_text(text)) == []


def test_a_long_dependency_chain_lints_quickly() -> None:
    steps = "".join(
        f"- name: s{index}\n  image: alpine\n  depends_on: [s{index - 1}]\n" for index in range(1, 3000)
    )
    text = "kind: pipeline\ntype: kubernetes\nname: long\nsteps:\n- name: s0\n  image: alpine\n" + steps
    text += "  when: {}\n- name: back\n  image: alpine\n  depends_on: [s999]\n"
    assert lint(load_text(text)) == []
    cyclic = text.replace("- name: s0\n  image: alpine\n", "- name: s0\n  image: alpine\n  depends_on: [s999]\n")
    [found] = lint(load_text(cyclic))
    assert found.rule == "step-dependency-cycle" and found.line == 7
    assert found.message.startswith('step "s0": dependency cycle "s0" -> "s999" -> "s998"')
    assert found.message.endswith('"s1" -> "s0"')
