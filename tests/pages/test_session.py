"""The session cookie: signed, expiring, bound to one token, and never holding the token itself."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

from pipeline_queue.server.pages.session import LIFETIME, anonymous, seal, session_key, signed_in, unseal
from pipeline_queue.store.tokens import TokenRecord

NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)
KEY = session_key(b"k" * 32)
RECORD = TokenRecord(name="alice", read_only=False, created=NOW - timedelta(days=1), last_used=None)


def test_a_sealed_session_opens_as_it_was():
    session = signed_in(RECORD, now=NOW)
    assert unseal(seal(session, KEY), KEY, now=NOW + timedelta(hours=1)) == session
    assert session.signed_in and session.same_token(RECORD) and not anonymous(now=NOW).signed_in


def test_a_tampered_foreign_expired_or_garbled_cookie_opens_as_nothing():
    cookie = seal(signed_in(RECORD, now=NOW), KEY)
    payload, signature = cookie.split(".")
    forged = base64.urlsafe_b64encode(json.dumps({"csrf": "x", "token": "root", "read_only": False,
                                                  "token_created": "", "issued": NOW.timestamp()}).encode()).decode()
    for bad in (f"{forged}.{signature}", f"{payload}.{signature[:-2]}AA", "", "a.b.c", "no-dot", "x" * 5000):
        assert unseal(bad, KEY, now=NOW) is None
    assert unseal(cookie, session_key(b"o" * 32), now=NOW) is None
    assert unseal(cookie, KEY, now=NOW + LIFETIME + timedelta(seconds=1)) is None
    assert unseal(cookie, KEY, now=NOW - timedelta(minutes=1)) is None  # issued in the future: not ours


def test_a_token_made_again_under_the_same_name_is_another_token():
    session = signed_in(RECORD, now=NOW)
    assert not session.same_token(TokenRecord(name="alice", read_only=False, created=NOW, last_used=None))


def test_every_session_has_its_own_csrf_secret_and_the_cookie_names_no_token_value():
    first, second = anonymous(now=NOW), signed_in(RECORD, now=NOW)
    assert first.csrf != second.csrf and len(first.csrf) >= 40
    payload = json.loads(base64.urlsafe_b64decode(seal(second, KEY).split(".")[0] + "=="))
    assert set(payload) == {"csrf", "token", "token_created", "read_only", "issued"}
    assert payload["token"] == "alice"  # the token's name; the token itself is nowhere
