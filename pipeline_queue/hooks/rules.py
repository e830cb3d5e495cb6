"""The rules every host shares: what a ref is, what a deletion looks like, and Drone's skip directives."""

from __future__ import annotations

import re

from pipeline_queue.hooks.model import BUILDING_ACTIONS, Cause, Event, EventKind, Ignored, Provider
from pipeline_queue.hooks.payload import Fields

BRANCH_PREFIX = "refs/heads/"
TAG_PREFIX = "refs/tags/"

SKIP_DIRECTIVES = ("[ci skip]", "[skip ci]", "***no_ci***")
"""Drone's directives (trigger/skip.go), matched case-insensitively in a commit message or pull request title."""


_WORD = re.compile(r"[A-Za-z][A-Za-z0-9 _.-]{0,39}")


def is_word(text: str) -> bool:
    """Whether `text` (from a header or a payload) is a plain word that a message may repeat."""
    return _WORD.fullmatch(text) is not None


def word(text: str) -> str:
    """` 'text'`, to name an event or action after a noun in a reason, if it is a plain word; else ""."""
    return f" '{text}'" if is_word(text) else ""


def is_zero(sha: str) -> bool:
    """Whether `sha` is the all-zeros id hosts send for a ref that does not exist (SHA-1 or SHA-256)."""
    return bool(sha) and not sha.strip("0")


def ref_kind(ref: str) -> EventKind | None:
    """`push` for a branch ref, `tag` for a tag ref, None for any other ref (notes, pull request heads, ...)."""
    if ref.startswith(BRANCH_PREFIX) and len(ref) > len(BRANCH_PREFIX):
        return EventKind.PUSH
    if ref.startswith(TAG_PREFIX) and len(ref) > len(TAG_PREFIX):
        return EventKind.TAG
    return None


def trim_ref(ref: str) -> str:
    """A branch or tag name from its ref (go-scm's TrimRef); other strings unchanged."""
    return ref.removeprefix(BRANCH_PREFIX).removeprefix(TAG_PREFIX)


def head_commit(payload: Fields, sha: str, *, newest_first: bool) -> Fields:
    """A push's head commit: `head_commit` where the host sends one, else the listed commit `sha` names, else the
    newest listed (hosts list commits in different orders); an empty object for a push without commits."""
    if payload.has("head_commit"):
        return payload.obj("head_commit")
    commits = payload.objects("commits")
    for commit in commits:
        if commit.text("id") == sha:
            return commit
    if commits:
        return commits[0] if newest_first else commits[-1]
    return payload.obj("head_commit", required=False)


def deleted(provider: Provider, *, repo: str, ref: str) -> Ignored:
    """A branch or tag deletion: nothing to build."""
    what = "tag" if ref.startswith(TAG_PREFIX) else "branch"
    return Ignored(f"The {provider.label} delivery deletes the {what} {trim_ref(ref)}; deletions start no build.",
                   Cause.DELETED, repo=repo, ref=ref)


def unhandled_ref(provider: Provider, *, repo: str, ref: str) -> Ignored:
    """A push to a ref that is neither a branch nor a tag."""
    return Ignored(f"The {provider.label} push is to a ref that is neither a branch nor a tag; it starts no build.",
                   Cause.UNHANDLED_REF, repo=repo, ref=ref)


def skip_directive(*texts: str) -> str:
    """The first of Drone's skip directives found in `texts`; "" when there is none."""
    for text in texts:
        lower = text.lower()
        for directive in SKIP_DIRECTIVES:
            if directive in lower:
                return directive
    return ""


def screened(event: Event) -> Event | Ignored:
    """The event, or an `Ignored` when it asks to skip CI, by Drone's rule.

    Tags are never skipped (Drone), nor a closed pull request, which builds nothing and must reach the caller so
    that it can cancel running builds. A pull request is skipped by its title or its description.
    """
    if event.kind is EventKind.TAG:
        return event
    if event.kind is EventKind.PULL_REQUEST:
        if event.action not in BUILDING_ACTIONS:
            return event
        directive = skip_directive(event.title, event.message)
        where = "pull request's title or description"
    else:
        directive = skip_directive(event.message)
        where = "head commit's message"
    if not directive:
        return event
    return Ignored(f"The {where} says {directive}; no build is started.", Cause.SKIP_DIRECTIVE,
                   repo=event.repo, ref=event.ref)
