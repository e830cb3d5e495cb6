"""Go's url.Parse, net.SplitHostPort and filepath.Match as the keyring uses them (vectors from Go's own tests).

filepath.Match's own table (matchTests) is shared with the devcluster's glob and run against both in
tests/test_registry_kubelet_vectors.py; here are the port's options and the rest of the standard library.
"""

from __future__ import annotations

import pytest

from pipeline_queue.registry.gostd import BadPatternError, GoURL, parse_url, path_match, split_host_port
from tests import kubelet_vectors as vectors


def test_star_never_crosses_a_dot_boundary_only_because_labels_are_split_first():
    # filepath.Match itself lets '*' cross '.', the keyring splits hosts into labels before matching.
    assert path_match("*", "a.b") is True
    assert path_match("*", "a/b") is False


# envsubst's edited copy of path.Match (compiler/envsubst_funcs.py) uses the same port with options. Go's own rows
# (pattern, name) that fail only because `*` or `?` stops at '/', and match once it does not:
SLASH_CROSSING = {
    ("a*", "ab/c"), ("a*/b", "a/c/b"), ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f"), ("a?b", "a/b"), ("a*b", "a/b"),
}


# path/filepath match_test.go matchTests (tests/kubelet_vectors.py, where both keyrings' globs are judged by it).
@pytest.mark.parametrize(("pattern", "name", "expected"), vectors.GLOB_MATCHES)
def test_path_match_can_let_stars_and_question_marks_match_slashes(pattern, name, expected):
    # Every other row keeps Go's answer (`a*b?c*x` still misses `...zzy`, `a*b*c*d*e*/f` still misses `.../fff`).
    assert path_match(pattern, name, stop_at_slash=False) is (expected or (pattern, name) in SLASH_CROSSING)


def test_the_slash_crossing_rows_are_go_rows_that_fail():
    assert {(pattern, name) for pattern, name, expected in vectors.GLOB_MATCHES if not expected} >= SLASH_CROSSING


def test_a_star_resumes_inside_a_character_only_when_matching_bytes():
    # Go skips bytes after a star: `??` then matches the last two of the three bytes of '€'.
    assert path_match("*??", "€") is True
    assert path_match("*??", "€", code_points=True) is False


def test_code_points_take_any_string():
    assert path_match("?", "\ud800", code_points=True) is True
    assert path_match("[\ufffd]", "\ufffd", code_points=True) is True  # U+FFFD itself is no encoding error
    with pytest.raises(BadPatternError):
        path_match("[\ud800", "a", code_points=True)


# net ipsock_test.go: SplitHostPort successes and failures.
@pytest.mark.parametrize(
    ("hostport", "expected"),
    [
        ("www.google.com:80", ("www.google.com", "80")),
        ("127.0.0.1:1234", ("127.0.0.1", "1234")),
        ("[::1]:80", ("::1", "80")),
        ("[fe80::1%lo0]:80", ("fe80::1%lo0", "80")),
        ("[localhost%lo0]:80", ("localhost%lo0", "80")),
        (":0", ("", "0")),
        ("google.com:https%foo", ("google.com", "https%foo")),
        ("127.0.0.1:", ("127.0.0.1", "")),
        ("www.google.com:", ("www.google.com", "")),
    ],
)
def test_split_host_port_splits_like_go(hostport, expected):
    assert split_host_port(hostport) == expected


@pytest.mark.parametrize(
    "hostport",
    [
        "www.google.com",
        "127.0.0.1",
        "[::1]",
        "[fe80::1%lo0]",
        "[localhost%lo0]",
        "localhost%lo0",
        "::1",
        "fe80::1%lo0",
        "fe80::1%lo0:80",
        "[foo:bar]",
        "[foo:bar]baz",
        "[foo]bar:baz",
        "[foo]:[bar]:baz",
        "[foo]:[bar]baz",
        "foo[bar]:baz",
        "foo]bar:baz",
        "",
    ],
)
def test_split_host_port_fails_like_go(hostport):
    assert split_host_port(hostport) is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://quay.io/v1/", GoURL("quay.io", "/v1/")),
        ("https://quay.io", GoURL("quay.io", "")),
        ("https://quay.io:443/a/b", GoURL("quay.io:443", "/a/b")),
        ("https://user:pw@quay.io/a", GoURL("quay.io", "/a")),
        ("https://quay.io/a?x=1#frag", GoURL("quay.io", "/a")),
        ("https://quay.io/a?", GoURL("quay.io", "/a")),
        ("https://quay.io/a%20b", GoURL("quay.io", "/a b")),
        ("https://*.docker.io/path:1111", GoURL("*.docker.io", "/path:1111")),
        ("https://[::1]:5000/x", GoURL("[::1]:5000", "/x")),
        ("https://a[bc].io", GoURL("a[bc].io", "")),
        ("https://quay.io:", GoURL("quay.io:", "")),
        ("https://", GoURL("", "")),
        ("https://https://quay.io", GoURL("https:", "//quay.io")),
        ("http://quay.io/x", GoURL("quay.io", "/x")),
    ],
)
def test_parse_url_keeps_host_and_unescaped_path(url, expected):
    assert parse_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://quay.io:abc/x",  # port must be digits
        "https://[ab].io",  # '[' opens an IP literal whose ']' must be followed by a port
        "https://[^a].io",
        "https://a^b.io",  # '^' is not allowed in a host
        "https://a b.io",
        "https://quay.io/a%zz",  # broken escape in the path
        "https://qu%41y.io",  # hosts may not escape ASCII
        "https://quay.io/a\nb",  # control character
        "https://us{er@quay.io",  # invalid userinfo
        "https://quay.io/#%zz",  # broken escape in the fragment
    ],
)
def test_parse_url_fails_where_go_fails(url):
    assert parse_url(url) is None


def test_parse_url_allows_control_bytes_after_the_fragment_mark_like_go():
    assert parse_url("https://quay.io/a#\x01") == GoURL("quay.io", "/a")
