"""Go's url.Parse, net.SplitHostPort and filepath.Match as the keyring uses them (vectors from Go's own tests)."""

from __future__ import annotations

import pytest

from pipeline_queue.registry.gostd import BadPatternError, GoURL, parse_url, path_match, split_host_port

# path/filepath match_test.go: (pattern, name, matched); ErrBadPattern cases are listed apart.
MATCHES = [
    ("abc", "abc", True),
    ("*", "abc", True),
    ("*c", "abc", True),
    ("a*", "a", True),
    ("a*", "abc", True),
    ("a*", "ab/c", False),
    ("a*/b", "abc/b", True),
    ("a*/b", "a/c/b", False),
    ("a*b*c*d*e*/f", "axbxcxdxe/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", False),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", False),
    ("a*b?c*x", "abxbbxdbxebxczzx", True),
    ("a*b?c*x", "abxbbxdbxebxczzy", False),
    ("ab[c]", "abc", True),
    ("ab[b-d]", "abc", True),
    ("ab[e-g]", "abc", False),
    ("ab[^c]", "abc", False),
    ("ab[^b-d]", "abc", False),
    ("ab[^e-g]", "abc", True),
    ("a\\*b", "a*b", True),
    ("a\\*b", "ab", False),
    ("a?b", "a☺b", True),
    ("a[^a]b", "a☺b", True),
    ("a???b", "a☺b", False),
    ("a[^a][^a][^a]b", "a☺b", False),
    ("[a-ζ]*", "\u03b1", True),  # alpha
    ("*[a-ζ]", "A", False),
    ("a?b", "a/b", False),
    ("a*b", "a/b", False),
    ("[\\]a]", "]", True),
    ("[\\-]", "-", True),
    ("[x\\-]", "x", True),
    ("[x\\-]", "-", True),
    ("[x\\-]", "z", False),
    ("[\\-x]", "x", True),
    ("[\\-x]", "-", True),
    ("[\\-x]", "a", False),
    ("*x", "xxx", True),
]

BAD_PATTERNS = [
    ("[]a]", "]"),
    ("[-]", "-"),
    ("[x-]", "x"),
    ("[x-]", "-"),
    ("[x-]", "z"),
    ("[-x]", "x"),
    ("[-x]", "-"),
    ("[-x]", "a"),
    ("\\", "a"),
    ("[a-b-c]", "a"),
    ("[", "a"),
    ("[^", "a"),
    ("[^bc", "a"),
    ("a[", "a"),
    ("a[", "ab"),
    ("a[", "x"),
    ("a/b[", "x"),
]


@pytest.mark.parametrize(("pattern", "name", "expected"), MATCHES)
def test_path_match_follows_go(pattern, name, expected):
    assert path_match(pattern, name) is expected


@pytest.mark.parametrize(("pattern", "name"), BAD_PATTERNS)
def test_path_match_rejects_malformed_patterns_like_go(pattern, name):
    with pytest.raises(BadPatternError):
        path_match(pattern, name)


def test_star_never_crosses_a_dot_boundary_only_because_labels_are_split_first():
    # filepath.Match itself lets '*' cross '.', the keyring splits hosts into labels before matching.
    assert path_match("*", "a.b") is True
    assert path_match("*", "a/b") is False


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
