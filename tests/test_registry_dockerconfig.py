"""Docker config.json parsing: what a pull secret holds, and errors that never show a secret."""

from __future__ import annotations

import base64
import json

import pytest

from pipeline_queue.errors import RegistryConfigError
from pipeline_queue.registry import DockerConfig, RegistryAuth, parse_docker_config
from pipeline_queue.registry.dockerconfig import MAX_DEPTH

PASSWORD = "pQ9zR2mW7xK4vL"
TOKEN = "eyJhbGciOiJSUzI1NiJ9tK3nZ"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def config(auths: object, **extra: object) -> str:
    return json.dumps({"auths": auths, **extra})


def only(text: str | bytes) -> RegistryAuth:
    (auth,) = parse_docker_config(text, source="regcred").auths
    return auth


def test_kubectl_docker_registry_secret_is_read():
    # What `kubectl create secret docker-registry` writes.
    text = config({"registry.example.com": {
        "username": "ci", "password": PASSWORD, "email": "ci@example.com", "auth": b64(f"ci:{PASSWORD}"),
    }})
    parsed = parse_docker_config(text, source="regcred")
    assert parsed == DockerConfig(
        source="regcred",
        auths=(RegistryAuth("registry.example.com", "ci", PASSWORD, email="ci@example.com"),),
    )


def test_auth_is_split_on_the_first_colon():
    auth = only(config({"ghcr.io": {"auth": b64(f"bot:{PASSWORD}:with:colons")}}))
    assert (auth.username, auth.password) == ("bot", f"{PASSWORD}:with:colons")


def test_auth_wins_over_username_and_password():
    auth = only(config({"ghcr.io": {"username": "other", "password": "nope", "auth": b64(f"bot:{PASSWORD}")}}))
    assert (auth.username, auth.password) == ("bot", PASSWORD)


def test_empty_auth_falls_back_to_username_and_password():
    auth = only(config({"ghcr.io": {"username": "bot", "password": PASSWORD, "auth": ""}}))
    assert (auth.username, auth.password) == ("bot", PASSWORD)


@pytest.mark.parametrize(
    "encoded",
    [
        b64("bot:pw"),  # padded
        b64("bot:pw").rstrip("="),  # unpadded, RawStdEncoding
        b64("bot:pw")[:4] + "\r\n" + b64("bot:pw")[4:],  # Go skips CR and LF
    ],
)
def test_auth_decodes_like_go(encoded):
    auth = only(config({"ghcr.io": {"auth": encoded}}))
    assert (auth.username, auth.password) == ("bot", "pw")


def test_identity_token_and_email_are_kept():
    auth = only(config({"myacr.azurecr.io": {
        "auth": b64("00000000-0000-0000-0000-000000000000:"), "identitytoken": TOKEN, "email": "a@b.c",
    }}))
    assert auth.username == "00000000-0000-0000-0000-000000000000"
    assert (auth.password, auth.identitytoken, auth.email) == ("", TOKEN, "a@b.c")


def test_auth_value_is_base64_of_username_colon_password():
    auth = RegistryAuth("ghcr.io", "bot", PASSWORD)
    assert base64.b64decode(auth.auth_value()).decode() == f"bot:{PASSWORD}"


def test_entries_keep_document_order_and_other_settings_are_ignored():
    text = config(
        {"https://index.docker.io/v1/": {}, "quay.io": {"username": "q", "password": "p"}},
        credsStore="desktop", HttpHeaders={"User-Agent": "x"},
    )
    auths = parse_docker_config(text, source="regcred").auths
    assert [(a.key, a.username, a.password) for a in auths] == [
        ("https://index.docker.io/v1/", "", ""), ("quay.io", "q", "p"),
    ]


def test_field_names_match_case_insensitively_like_go_json():
    auth = only(json.dumps({"Auths": {"ghcr.io": {"Username": "bot", "PASSWORD": PASSWORD}}}))
    assert (auth.username, auth.password) == ("bot", PASSWORD)


def test_null_fields_and_unknown_fields_are_ignored():
    auth = only(config({"ghcr.io": {"username": "bot", "password": PASSWORD, "email": None, "serveraddress": 1}}))
    assert (auth.username, auth.email) == ("bot", "")


def test_legacy_dockercfg_map_is_accepted():
    text = json.dumps({"https://quay.io/v1/": {"auth": b64("old:pw"), "email": "o@q.io"}})
    assert only(text) == RegistryAuth("https://quay.io/v1/", "old", "pw", email="o@q.io")


def test_bytes_with_a_byte_order_mark_are_read():
    assert only(("\ufeff" + config({"ghcr.io": {"auth": b64("bot:pw")}})).encode()).username == "bot"


def test_empty_auths_gives_no_credentials():
    assert parse_docker_config('{"auths": {}}', source="regcred").auths == ()


def error_for(text: str | bytes) -> RegistryConfigError:
    with pytest.raises(RegistryConfigError) as caught:
        parse_docker_config(text, source="regcred")
    return caught.value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"auths": {"ghcr.io": {"password": "' + PASSWORD + '",}}}', "line 1, column"),
        ("[]", "must be a JSON object"),
        ('"' + PASSWORD + '"', "found a string"),
        ('{"auths": ["' + PASSWORD + '"]}', "'auths' must be an object"),
        ('{"auths": null}', "'auths' must be an object of registries, found null"),
        ('{"auths": {"ghcr.io": "' + PASSWORD + '"}}', "entry 'ghcr.io': must be an object, found a string"),
        ('{"auths": {"ghcr.io": {"auth": "' + PASSWORD + '!"}}}', "entry 'ghcr.io': field 'auth' is not valid base64"),
        ('{"auths": {"ghcr.io": {"auth": "' + b64(PASSWORD) + '"}}}', "entry 'ghcr.io': field 'auth' must decode"),
        ('{"auths": {"ghcr.io": {"password": 12345}}}', "entry 'ghcr.io': field 'password' must be a string"),
        ('{"auths": {"ghcr.io": {"auth": NaN}}}', "is not valid JSON"),
        ('{"credsStore": "desktop"}', "has no 'auths' object"),
        ("{}", "has no 'auths' object"),
        (b'{"auths": {"ghcr.io": {"password": "\xff"}}}', "is not UTF-8"),
    ],
)
def test_errors_name_the_secret_and_the_entry(text, expected):
    error = error_for(text)
    assert "regcred" in str(error)
    assert expected in str(error)


def test_json_error_points_at_line_and_column():
    text = '{\n  "auths": {\n    "ghcr.io": {"password": "' + PASSWORD + '" "x": 1}\n  }\n}'
    assert "(line 3, column" in str(error_for(text))


def test_base64_with_spaces_is_rejected_like_go():
    assert "not valid base64" in str(error_for(config({"ghcr.io": {"auth": " " + b64("bot:pw")}})))


def secret_fragments(*secrets: str) -> set[str]:
    """Every 5-character window of every secret: none of them may show anywhere."""
    return {secret[i : i + 5] for secret in secrets for i in range(len(secret) - 4)}


LEAKY_INPUTS = [
    '{"auths": {"ghcr.io": {"password": "' + PASSWORD + '",}}}',
    '{"auths": {"ghcr.io": {"password": "' + PASSWORD + '\\q"}}}',
    '"' + PASSWORD + '"',
    '{"auths": ["' + PASSWORD + '"]}',
    '{"auths": {"ghcr.io": "' + PASSWORD + '"}}',
    '{"auths": {"ghcr.io": ["' + PASSWORD + '"]}}',
    '{"auths": {"ghcr.io": {"auth": "' + PASSWORD + '!"}}}',
    '{"auths": {"ghcr.io": {"auth": "' + b64(PASSWORD) + '"}}}',
    '{"auths": {"ghcr.io": {"auth": "' + b64("bot:" + PASSWORD)[:-3] + '="}}}',
    '{"auths": {"ghcr.io": {"password": {"v": "' + PASSWORD + '"}}}}',
    '{"' + PASSWORD + '": 1}',
    PASSWORD,
    ('{"auths": {"ghcr.io": {"password": "' + PASSWORD + '\xff"}}}').encode("latin-1"),
]


@pytest.mark.parametrize("text", LEAKY_INPUTS)
def test_no_secret_appears_in_errors(text):
    error = error_for(text)
    shown = " ".join([str(error), repr(error), error.message, repr(error.args)])
    fragments = secret_fragments(PASSWORD, b64(PASSWORD), b64("bot:" + PASSWORD))
    assert not [fragment for fragment in fragments if fragment in shown]
    # Nothing chained either: a traceback of the error cannot print the input.
    assert error.__cause__ is None
    assert error.__context__ is None


def test_no_secret_appears_in_parsed_values():
    text = config({"ghcr.io": {"auth": b64(f"bot:{PASSWORD}"), "identitytoken": TOKEN}})
    parsed = parse_docker_config(text, source="regcred")
    shown = " ".join([repr(parsed), str(parsed), repr(parsed.auths), str(parsed.auths[0])])
    assert "bot" in shown
    assert not [fragment for fragment in secret_fragments(PASSWORD, TOKEN) if fragment in shown]


# --- nesting -----------------------------------------------------------------------

DEEP_JSON = {
    "arrays": "[" * 100_000,
    "objects": '{"a": ' * 100_000,
    "arrays in an entry": '{"auths": {"ghcr.io": {"username": "bot", "x": ' + "[" * 100_000 + "]" * 100_000 + "}}}",
    "one a line": "[\n" * 100_000,
}


@pytest.mark.parametrize("text", DEEP_JSON.values(), ids=DEEP_JSON.keys())
def test_deep_nesting_is_a_placed_error_not_a_recursion_error(text):
    error = error_for(text)
    assert f"docker config 'regcred' nests arrays and objects deeper than {MAX_DEPTH} levels (line " in str(error)
    assert error.__cause__ is None and error.__context__ is None


def test_nesting_is_placed_at_the_bracket_that_goes_too_deep():
    text = '{"auths": {"ghcr.io": {"username": "bot", "x":\n  ' + "[" * (MAX_DEPTH - 3) + "]" * (MAX_DEPTH - 3) + "}}}"
    assert only(text).username == "bot"  # the deepest array is MAX_DEPTH levels down
    error = error_for(text.replace("[", "[[", 1).replace("]", "]]", 1))
    assert str(error).endswith(f"deeper than {MAX_DEPTH} levels (line 2, column {MAX_DEPTH})")


def test_brackets_inside_strings_do_not_count():
    password = "[" * 500 + '"{\\' * 500  # json.dumps writes each quote and backslash escaped
    assert only(config({"ghcr.io": {"username": "bot", "password": password}})).password == password


def test_nan_is_named():
    assert str(error_for('{"auths": {"ghcr.io": {"auth": NaN}}}')).endswith("(NaN and Infinity are not JSON)")
