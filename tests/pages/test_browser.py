"""The pages as a person sees them, in a real headless Chromium: sign-in, the builds list (live), a failed build with
its coloured log, a running step's log streaming in, the buttons, a repository's secrets and webhook, the node cache.

Builds come from the real producer; their steps move on through the store's own functions, as the workers move them.
Every page is photographed (see conftest for where), and no page may show a secret's value.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from pipeline_queue import store
from pipeline_queue.broker import redis_client
from pipeline_queue.cache import index
from pipeline_queue.store.pulls import NewPull, record_pull
from pipeline_queue.vault.keys import load_key_ring
from pipeline_queue.vault.repository import repository_secrets
from pipeline_queue.vocabulary import FindingKind, Status
from tests.pages.conftest import DEPLOY_TOKEN, REGISTRY_PASSWORD, REPO, WEBHOOK_SECRET, Site
from tests.polling import wait_for

pytestmark = pytest.mark.timeout(120)

SIMPLE = """kind: pipeline
type: kubernetes
name: default
steps:
- {name: build, image: "alpine:3.19", commands: [make]}
"""
FAILED_LOG = ("\x1b[1m$ go test ./...\x1b[0m\n--- \x1b[31mFAIL\x1b[0m: TestAdd (0.00s)\n"
              "    add_test.go:9: got 3, want 4 <script>window.pwned = 1</script>\n"
              "\x1b[31;1mFAIL\x1b[0m\texample/add\n")
BUILDER = "registry.example.com/team/builder:1.0"
BUILDER_DIGEST = "sha256:" + "b" * 64
NEVER_SHOWN = (REGISTRY_PASSWORD, DEPLOY_TOKEN, WEBHOOK_SECRET, base64.b64encode(f"ci:{REGISTRY_PASSWORD}".encode())
               .decode())


def css(browser: Any, selector: str) -> Any:
    return browser.find_element(By.CSS_SELECTOR, selector)


def text_of(browser: Any, selector: str) -> str:
    """The text of the first element `selector` finds, "" when there is none (or the live page just replaced it)."""
    try:
        found = browser.find_elements(By.CSS_SELECTOR, selector)
        return found[0].text if found else ""
    except StaleElementReferenceException:
        return ""


def click(browser: Any, selector: str) -> None:
    """Click what `selector` finds, finding it again if the live page replaced it in between."""
    def clicked() -> bool:
        try:
            css(browser, selector).click()
        except StaleElementReferenceException:
            return False
        return True

    wait_for(clicked, what=f"a click on {selector}", timeout=5)


def shows_no_secret(browser: Any) -> None:
    source = browser.page_source
    for secret in NEVER_SHOWN:
        assert secret not in source


def no_console_errors(browser: Any, *, expected: str = "") -> None:
    """Nothing the page does is refused by its own Content-Security-Policy, and its script raised nothing (but for
    a refusal the test asked for: `expected`)."""
    errors = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert [error for error in errors if not (expected and expected in error)] == []


def shoot(browser: Any, screenshots: Any, name: str) -> None:
    browser.execute_script("window.scrollTo(0, 0)")
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1400, min(max(height + 120, 600), 4000))  # the whole page in one picture
    assert browser.save_screenshot(str(screenshots / f"{name}.png"))
    browser.set_window_size(1400, 1000)


def open_page(browser: Any, site: Site, path: str) -> None:
    """`path`, signed in as alice (signing in first when the session has ended)."""
    browser.get(site.url_of(path))
    if "/sign-in" in browser.current_url:
        css(browser, "#token").send_keys(site.token)
        click(browser, "form button[type=submit].primary")
        wait_for(lambda: "/sign-in" not in browser.current_url, what="sign-in")


@pytest.fixture(scope="module")
def failed_build(site: Site) -> int:
    """octo/app's build: `build/compile` passed on node-1, `build/test` failed on node-2 with a coloured log, `deploy`
    was skipped; a cache risk was recorded for the test step."""
    build_id = site.submit(message="Add the adder\n\nWith a test that fails.").build_id
    steps, stages = site.steps(build_id), site.stages(build_id)
    with site.sessions.begin() as session:
        store.start_stage(session, stages["build"].id, namespace="pages")
    site.run_step(steps["build/compile"].id, log="make\n\x1b[32mok\x1b[0m built\n", pull_policy="IfNotPresent",
                  image_id=f"registry.example.com/team/builder@{BUILDER_DIGEST}")
    site.run_step(steps["build/test"].id, log=FAILED_LOG, status=Status.FAILURE, node="node-2")
    with site.sessions.begin() as session:
        store.finish_stage(session, stages["build"].id)
        store.finish_stage(session, stages["deploy"].id, status=Status.SKIPPED)
        store.finish_build(session, build_id)
        store.add_finding(session, build_id=build_id, step_id=steps["build/test"].id, kind=FindingKind.RISK,
                          image="golang:1.22", node="node-2", mode="warn", action="recorded",
                          detail="golang:1.22 could come from node-2's cache")
    return build_id


def test_sign_in_refuses_an_unknown_token_and_lets_a_known_one_in(browser, site, screenshots):
    browser.get(site.url_of("/builds"))
    assert "/sign-in?next=/builds" in browser.current_url
    assert css(browser, "h1").text == "Sign in"
    shoot(browser, screenshots, "sign-in")
    css(browser, "#token").send_keys("pq_not-a-token")
    click(browser, "form button.primary")
    assert "not known" in wait_for(lambda: text_of(browser, "#sign-in-problem"), what="the refusal")
    css(browser, "#token").send_keys(site.token)
    click(browser, "form button.primary")
    wait_for(lambda: browser.current_url.endswith("/builds"), what="the builds list")
    assert "signed in as alice" in css(browser, ".who").text
    assert site.token not in browser.page_source
    assert "pq_session" not in browser.execute_script("return document.cookie")  # HttpOnly
    no_console_errors(browser, expected="status of 401")  # the unknown token


def test_the_builds_list_is_newest_first_filters_by_repository_and_follows_status_live(
    browser, site, screenshots, failed_build
):
    other = site.submit(repo="octo/lib", text=SIMPLE, branch="feature/x", message="Try the lib").build_id
    open_page(browser, site, "/builds")
    rows = browser.find_elements(By.CSS_SELECTOR, "#build-rows tr[data-build]")
    assert [int(row.get_attribute("data-build")) for row in rows][:2] == [other, failed_build]
    assert rows[1].find_element(By.CSS_SELECTOR, ".status").text == "failure"
    assert "octo/app #" in rows[1].text and "main" in rows[1].text and "push" in rows[1].text
    assert "ago" in rows[0].text or "just now" in rows[0].text
    with site.sessions.begin() as session:  # a worker takes the lib build's stage: the open page shows it running
        store.start_stage(session, site.stages(other)["default"].id, namespace="pages")
    row = f"#build-rows tr[data-build='{other}'] .status"
    wait_for(lambda: text_of(browser, row) == "running", what="the row to turn running", timeout=10)
    shoot(browser, screenshots, "builds")
    Select(css(browser, "select[name=repo]")).select_by_value("octo/lib")  # the form sends itself
    wait_for(lambda: "repo=octo%2Flib" in browser.current_url, what="the filtered list")
    shown = {int(row.get_attribute("data-build")) for row in browser.find_elements(By.CSS_SELECTOR, "tr[data-build]")}
    assert shown == {other}
    no_console_errors(browser)


def test_a_failed_build_marks_the_failed_step_and_shows_its_coloured_log_and_no_secret(
    browser, site, screenshots, failed_build
):
    steps = site.steps(failed_build)
    open_page(browser, site, f"/builds/{failed_build}")
    assert css(browser, ".build-head .status").text == "failure"
    test_row = css(browser, f"#step-{steps['build/test'].id}")
    assert test_row.get_attribute("data-status") == "failure"
    assert "failure" in test_row.text and "exit 1" in test_row.text and "node-2" in test_row.text
    compile_row = css(browser, f"#step-{steps['build/compile'].id}").text
    assert "success" in compile_row and "node-1" in compile_row and BUILDER in compile_row
    assert "IfNotPresent" in compile_row and "tag 1.0" in compile_row
    assert "dockerconfig → registry.example.com (user ci)" in compile_row
    push_row = css(browser, f"#step-{steps['deploy/push'].id}").text
    assert "skipped" in push_row and "Always" in push_row and "no tag or digest" in push_row
    log = css(browser, f"#log-{steps['build/test'].id}")
    assert log.get_attribute("open") is not None  # a failed step's log is open
    assert "--- FAIL: TestAdd (0.00s)" in log.text
    assert "<script>window.pwned = 1</script>" in log.text  # shown as text, never run
    assert browser.execute_script("return window.pwned === undefined")
    red = log.find_elements(By.CSS_SELECTOR, "span.f1")
    assert [span.text for span in red] == ["FAIL", "FAIL"]
    assert red[0].value_of_css_property("color") != css(browser, f"#log-{steps['build/test'].id} .line") \
        .value_of_css_property("color")
    assert "risk" in css(browser, ".findings").text
    shows_no_secret(browser)
    shoot(browser, screenshots, "build-failed")
    no_console_errors(browser)


def test_a_running_steps_log_streams_into_the_open_page_until_the_build_ends(browser, site, screenshots):
    build_id = site.submit(repo="octo/lib", text=SIMPLE).build_id
    step = site.steps(build_id)["default/build"]
    with site.sessions.begin() as session:
        store.start_stage(session, site.stages(build_id)["default"].id, namespace="pages")
    site.run_step(step.id, log="one\nhal", status=Status.RUNNING)
    open_page(browser, site, f"/builds/{build_id}")
    lines = f"#log-{step.id} .line"

    def shown() -> list[str]:
        return [line.text for line in browser.find_elements(By.CSS_SELECTOR, lines)]

    assert shown() == ["one"]  # the line still being written waits for its newline
    with site.sessions.begin() as session:
        store.append_log(session, step.id, "f done\n\x1b[33mtwo\x1b[0m\n")
    wait_for(lambda: shown() == ["one", "half done", "two"], what="the new lines", timeout=10, explain=str)
    shoot(browser, screenshots, "build-running")
    with site.sessions.begin() as session:
        store.update_step(session, step.id, status=Status.SUCCESS, exit_code=0)
        store.finish_stage(session, step.stage_id)
        store.finish_build(session, build_id)
    wait_for(lambda: browser.find_element(By.TAG_NAME, "body").get_attribute("data-live") == "ended",
             what="the stream to end with the build", timeout=10)
    assert css(browser, f"#step-{step.id}").get_attribute("data-status") == "success"
    assert css(browser, f"#log-{step.id} summary .status").text == "success"
    assert css(browser, ".build-head .status").text == "success"
    assert shown() == ["one", "half done", "two"]  # nothing sent twice
    no_console_errors(browser)


def test_approve_cancel_and_restart_buttons_act_on_the_build(browser, site, screenshots):
    waiting = site.submit(blocked=True)
    open_page(browser, site, f"/builds/{waiting.build_id}")
    assert css(browser, ".build-head .status").text == "blocked"
    shoot(browser, screenshots, "build-blocked")
    site.sent.clear()
    click(browser, ".actions button.primary")  # Approve
    wait_for(lambda: text_of(browser, ".build-head .status") == "pending", what="the approved build")
    assert site.sent == [stage.stage_id for stage in waiting.stages if stage.name == "build"]
    click(browser, ".actions button.danger")  # Cancel: marked; the workers stop it
    wait_for(lambda: site.steps(waiting.build_id) and _cancel_requested(site, waiting.build_id), what="the cancel")
    blocked = site.submit(blocked=True).build_id
    open_page(browser, site, f"/builds/{blocked}")
    click(browser, ".actions button.danger")  # a blocked build ends at once
    wait_for(lambda: text_of(browser, ".build-head .status") == "killed", what="the killed build")
    buttons = [button.text for button in browser.find_elements(By.CSS_SELECTOR, ".actions button")]
    assert buttons == ["Restart"]
    click(browser, ".actions button")
    wait_for(lambda: browser.current_url.rstrip("/").split("/")[-1] != str(blocked), what="the new build's page")
    assert f"build {blocked}" in css(browser, ".facts").text and "alice" in css(browser, ".facts").text
    no_console_errors(browser)


def _cancel_requested(site: Site, build_id: int) -> bool:
    with site.sessions.begin() as session:
        return store.get_build(session, build_id).build.cancel_requested


def test_a_repository_page_adds_and_removes_secrets_and_never_shows_a_value(browser, site, screenshots):
    open_page(browser, site, "/repos")
    click(browser, f"a[href='/repos/{REPO}']")
    wait_for(lambda: text_of(browser, "h1") == REPO, what="the repository page")
    assert css(browser, "#webhook-url").text == site.url_of("/hook")
    assert "https://git.example.com/octo/app.git" in css(browser, ".facts").text
    names = [row.get_attribute("data-secret") for row in browser.find_elements(By.CSS_SELECTOR, "tr[data-secret]")]
    assert names == ["deploy_token", "dockerconfig"]
    value = "npm-value-that-is-never-shown-3c1"
    css(browser, "#secret-name").send_keys("npm_token")
    css(browser, "#secret-value").send_keys(value)
    click(browser, ".add-secret button")
    wait_for(lambda: "npm_token saved" in text_of(browser, "#notice"), what="the notice")
    assert browser.find_elements(By.CSS_SELECTOR, "tr[data-secret='npm_token']")
    assert value not in browser.page_source and css(browser, "#secret-value").get_attribute("value") == ""
    with site.sessions.begin() as session:  # what was typed is what the vault opens
        ring = load_key_ring(site.settings.vault, data_dir=site.settings.paths.data_dir).ring
        opened = {secret.name: secret.value for secret in repository_secrets(session, REPO, ring=ring)}
    assert opened["npm_token"] == value
    shows_no_secret(browser)
    shoot(browser, screenshots, "repository")
    click(browser, "tr[data-secret='npm_token'] button.danger")
    wait_for(lambda: "npm_token removed" in text_of(browser, "#notice"), what="the removal's notice")
    assert not browser.find_elements(By.CSS_SELECTOR, "tr[data-secret='npm_token']")
    click(browser, ".webhook button")  # asked for: the webhook secret, to paste into the git host
    assert wait_for(lambda: text_of(browser, "#webhook-secret"), what="the webhook secret") == WEBHOOK_SECRET
    no_console_errors(browser)


def test_the_cache_page_marks_private_images_and_names_the_build_that_first_pulled(
    browser, site, screenshots, failed_build
):
    compile_step = site.steps(failed_build)["build/compile"]
    client = redis_client(site.redis_url)
    index.sweep([_node("node-1", [BUILDER, "alpine:3.19"]), _node("node-2", ["golang:1.22"])], redis=client)
    index.record_pull(client, image_name=BUILDER, digest=BUILDER_DIGEST, build=failed_build, repo=REPO,
                      credentialed=True, registry_key="registry.example.com")
    client.close()
    leaked = site.submit(repo="octo/lib", text=SIMPLE.replace("alpine:3.19", BUILDER)).build_id
    leaked_step = site.steps(leaked)["default/build"]
    site.run_step(leaked_step.id, image_id=f"registry.example.com/team/builder@{BUILDER_DIGEST}")
    with site.sessions.begin() as session:
        record_pull(session, NewPull(build_id=failed_build, step_id=compile_step.id, repo=REPO, node="node-1",
                                     image=BUILDER, image_id=f"{BUILDER}@{BUILDER_DIGEST}", digest=BUILDER_DIGEST,
                                     credentialed=True, registry_key="registry.example.com"))
        store.add_finding(session, build_id=leaked, step_id=leaked_step.id, kind=FindingKind.LEAK, image=BUILDER,
                          node="node-1", mode="warn", action="recorded")
    open_page(browser, site, "/cache")
    node = css(browser, "section.node[data-node='node-1']")
    private = [row.text for row in node.find_elements(By.CSS_SELECTOR, "tr.private")]
    assert [text.split()[0] for text in private] == [BUILDER, f"registry.example.com/team/builder@{BUILDER_DIGEST}"]
    assert all("pulled registry.example.com/team/builder with credentials" in text for text in private)
    public = [row.text for row in node.find_elements(By.CSS_SELECTOR, "tr.public")]
    assert [text.split()[0] for text in public] == ["docker.io/library/alpine:3.19"]
    leak = css(browser, "tr.finding-leak")
    assert f"build {leaked}" in leak.text and "default/build" in leak.text
    assert f"build {failed_build} of {REPO}" in leak.find_element(By.CSS_SELECTOR, ".first-pull").text
    shoot(browser, screenshots, "cache")
    no_console_errors(browser)


def _node(name: str, images: list[str]) -> dict[str, Any]:
    repo_digest = f"registry.example.com/team/builder@{BUILDER_DIGEST}"
    entries = [{"names": [image, *([repo_digest] if image == BUILDER else [])], "sizeBytes": 50_000_000}
               for image in images]
    return {"metadata": {"name": name}, "status": {"images": entries}}
