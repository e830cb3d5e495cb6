"""The node cache: which node holds which image (the index beat keeps in Redis), which of them are private and why,
and the cache guard's findings, each with the build that first pulled its image with credentials.

Privacy is decided by the guard's own rule (`cache.rules.is_private`) over the operator's patterns and the images
pipelines pulled with credentials, so the page says what the guard would say. Without Redis the page still shows the
findings (they are in the database) and says why the nodes are missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from pipeline_queue.broker import RedisError, redis_client
from pipeline_queue.cache.guard import privacy_rules
from pipeline_queue.cache.index import all_nodes, credentialed_repositories, images_on
from pipeline_queue.cache.rules import PrivacyRules, PrivacyVerdict, digest_of, is_private
from pipeline_queue.images import try_parse_image
from pipeline_queue.server.pages.render import page, services_of
from pipeline_queue.server.services import Services
from pipeline_queue.store.documents import finding_places
from pipeline_queue.store.findings import list_findings
from pipeline_queue.store.pulls import PullRecord, first_credentialed_pull
from pipeline_queue.store.records import FindingRecord


@dataclass(frozen=True)
class CachedImage:
    """One name a node holds an image under, with its digest, size and whether it is private."""

    name: str
    digest: str
    size: int
    privacy: PrivacyVerdict


@dataclass(frozen=True)
class FindingRow:
    """A finding with where it was made and the credentialed pull that brought its image (when one is recorded)."""

    finding: FindingRecord
    repo: str
    step: str
    digest: str
    first_pull: PullRecord | None


def cache(request: Request) -> Response:
    services = services_of(request)
    nodes, problem = _nodes(services)
    return page(request, "cache.html", nodes=nodes, problem=problem, findings=_findings(services))


def _nodes(services: Services) -> tuple[dict[str, list[CachedImage]], str]:
    """Node -> its images, and "" or why the index could not be read."""
    if not services.broker_url:
        return {}, "no Redis is configured, so the node cache index cannot be read (set REDIS_URL, or run `up`)"
    rules = privacy_rules(services.settings.cache)
    client = redis_client(services.broker_url)
    try:
        credentialed = credentialed_repositories(client)
        nodes = {node: images_on(client, node) for node in all_nodes(client)}
    except RedisError as error:
        return {}, f"Redis does not answer ({type(error).__name__}): the node cache index cannot be read now"
    finally:
        client.close()
    return {node: [CachedImage(name=image.name, digest=image.digest, size=image.size,
                               privacy=_privacy(image.name, rules=rules, credentialed=credentialed))
                   for image in images] for node, images in nodes.items()}, ""


def _privacy(name: str, *, rules: PrivacyRules, credentialed: frozenset[str]) -> PrivacyVerdict:
    ref = try_parse_image(name)
    if ref is None:
        return PrivacyVerdict(private=False, reason="not an image reference the guard can read")
    return is_private(ref, rules=rules, credentialed_repos=credentialed)


def _findings(services: Services) -> list[FindingRow]:
    rows = []
    with services.sessions.begin() as session:
        findings = list(list_findings(session))
        places = finding_places(session, findings, digest_of=digest_of)
        for finding in reversed(findings):  # newest first
            step, digest = places.steps.get(finding.step_id, ("", "")) if finding.step_id is not None else ("", "")
            rows.append(FindingRow(finding=finding, repo=places.repos.get(finding.build_id, ""), step=step or "",
                                   digest=digest,
                                   first_pull=first_credentialed_pull(session, digest=digest, image=finding.image)))
    return rows
