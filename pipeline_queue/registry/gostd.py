"""The pieces of Go's standard library the kubelet keyring leans on, reproduced byte for byte.

`net/url.Parse` (host and path only), `net.SplitHostPort` and `path/filepath.Match`: their
corner cases decide which registry keys match which images, so they are ported, not approximated.
The one glob port also serves Drone's `when` globs and, through options, envsubst's older copy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

_HEX = b"0123456789abcdefABCDEF"
_ALNUM = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
# net/url's shouldEscape(c, encodeHost) is false for these (besides letters and digits).
_HOST_SAFE = _ALNUM | frozenset(b"-_.~!$&'()*+,;=:[]<>\"")
_USERINFO_SAFE = _ALNUM | frozenset(b"-._:~!$&'()*+,;=%@")
_RUNE_ERROR = 0xFFFD

_Units = bytes | tuple[int, ...]
"""What a glob reads: a Go string's bytes, or a Python string's code points."""


class BadPatternError(ValueError):
    """filepath.ErrBadPattern: the glob itself is malformed."""


@dataclass(frozen=True)
class GoURL:
    """What `url.Parse` yields for the parts the keyring uses: the unescaped host and path."""

    host: str
    path: str


def parse_url(raw: str) -> GoURL | None:
    """`url.Parse` for an absolute http(s) URL; None wherever Go returns an error."""
    data, _, fragment = _to_bytes(raw).partition(b"#")
    # Go checks for control bytes only before the fragment, then unescapes the fragment.
    if any(byte < 0x20 or byte == 0x7F for byte in data) or _unescape(fragment, host=False) is None:
        return None
    scheme, _, rest = data.partition(b":")
    if scheme.lower() not in (b"http", b"https") or not rest.startswith(b"//"):
        return None  # the keyring always builds http(s)://...; anything else is not ours to parse
    authority, slash, path = rest[2:].partition(b"?")[0].partition(b"/")
    host = _parse_authority(authority)
    unescaped_path = _unescape(slash + path, host=False)
    if host is None or unescaped_path is None:
        return None
    return GoURL(host=_to_str(host), path=_to_str(unescaped_path))


def split_host_port(hostport: str) -> tuple[str, str] | None:
    """`net.SplitHostPort`; None where Go returns an error (no port, stray colons or brackets)."""
    colon = hostport.rfind(":")
    if colon < 0:
        return None
    start, end = 0, 0
    if hostport.startswith("["):
        close = hostport.find("]")
        if close < 0 or close + 1 != colon:
            return None
        host = hostport[1:close]
        start, end = 1, close + 1
    else:
        host = hostport[:colon]
        if ":" in host:
            return None
    if "[" in hostport[start:] or "]" in hostport[end:]:
        return None
    return host, hostport[colon + 1 :]


def path_match(pattern: str, name: str, *, stop_at_slash: bool = True, code_points: bool = False) -> bool:
    """`filepath.Match` on Unix: `*` and `?` never cross '/', classes may be negated with '^'.

    Raises BadPatternError when Go returns ErrBadPattern. `stop_at_slash=False` is the edit
    drone/envsubst made to its copy: `*` and `?` match '/' too. `code_points=True` matches the
    string's code points rather than its UTF-8 bytes, so a star never resumes inside a character
    and any str (lone surrogates too) can be matched.
    """
    to_units: Callable[[str], _Units] = _code_points if code_points else _to_bytes
    pat, text = to_units(pattern), to_units(name)
    while pat:
        star, chunk, pat = _scan_chunk(pat)
        if star and not chunk:
            return not stop_at_slash or ord("/") not in text  # a trailing star matches the rest unless it has a '/'
        rest = _match_chunk(chunk, text, stop_at_slash=stop_at_slash)
        if rest is not None and (not rest or pat):
            text = rest
            continue
        if star:
            rest = _match_after_skipping(chunk, text, last=not pat, stop_at_slash=stop_at_slash)
            if rest is not None:
                text = rest
                continue
        _check_remaining(pat)
        return False
    return not text


def _match_after_skipping(chunk: _Units, text: _Units, *, last: bool, stop_at_slash: bool) -> _Units | None:
    """A star before `chunk`: try the chunk after skipping 1, 2, ... units (never past a '/' if stars stop there)."""
    for skip in range(len(text)):
        if stop_at_slash and text[skip] == ord("/"):
            break
        rest = _match_chunk(chunk, text[skip + 1 :], stop_at_slash=stop_at_slash)
        if rest is not None and not (last and rest):
            return rest
    return None


def _check_remaining(pattern: _Units) -> None:
    """Go validates the unread rest of a pattern before reporting a mismatch."""
    while pattern:
        _, chunk, pattern = _scan_chunk(pattern)
        _match_chunk(chunk, b"", stop_at_slash=True)


def _scan_chunk(pattern: _Units) -> tuple[bool, _Units, _Units]:
    """Split off leading stars and the following star-free chunk (stars in classes do not count)."""
    stars = 0
    while stars < len(pattern) and pattern[stars] == ord("*"):
        stars += 1
    stripped = pattern[stars:]
    in_range, index = False, 0
    while index < len(stripped):
        char = stripped[index]
        if char == ord("\\") and index + 1 < len(stripped):
            index += 1
        elif char == ord("["):
            in_range = True
        elif char == ord("]"):
            in_range = False
        elif char == ord("*") and not in_range:
            break
        index += 1
    return stars > 0, stripped[:index], stripped[index:]


def _match_chunk(chunk: _Units, text: _Units, *, stop_at_slash: bool) -> _Units | None:
    """Match a star-free chunk at the start of `text`: the rest of `text`, or None.

    Like Go, keeps reading the chunk after a mismatch so a malformed one always raises.
    """
    failed = False
    while chunk:
        failed = failed or not text
        head = chunk[0]
        if head == ord("["):
            rune, size = (0, 0) if failed else _decode_rune(text)
            text = text[size:]
            matched, chunk = _match_class(chunk[1:], rune)
            failed = failed or not matched
        elif head == ord("?"):
            if not failed:
                failed = stop_at_slash and text[0] == ord("/")
                text = text[_decode_rune(text)[1] :]
            chunk = chunk[1:]
        else:
            if head == ord("\\"):
                chunk = chunk[1:]
                if not chunk:
                    raise BadPatternError("pattern ends with a backslash")
            if not failed:
                failed = chunk[0] != text[0]
                text = text[1:]
            chunk = chunk[1:]
    return None if failed else text


def _match_class(chunk: _Units, rune: int) -> tuple[bool, _Units]:
    """A character class after its '[': whether `rune` is in it, and the chunk after its ']'."""
    negated = bool(chunk) and chunk[0] == ord("^")
    if negated:
        chunk = chunk[1:]
    matched, ranges = False, 0
    while not (chunk and chunk[0] == ord("]") and ranges > 0):
        low, chunk = _get_escaped(chunk)
        high = low
        if chunk[0] == ord("-"):
            high, chunk = _get_escaped(chunk[1:])
        matched = matched or low <= rune <= high
        ranges += 1
    return matched != negated, chunk[1:]


def _get_escaped(chunk: _Units) -> tuple[int, _Units]:
    """One possibly escaped character of a class; Go's getEsc."""
    if not chunk or chunk[0] in (ord("-"), ord("]")):
        raise BadPatternError("malformed character class")
    if chunk[0] == ord("\\"):
        chunk = chunk[1:]
        if not chunk:
            raise BadPatternError("malformed character class")
    rune, size = _decode_rune(chunk)
    invalid_utf8 = isinstance(chunk, bytes) and rune == _RUNE_ERROR and size == 1
    if invalid_utf8 or not chunk[size:]:
        raise BadPatternError("malformed character class")
    return rune, chunk[size:]


def _decode_rune(data: _Units) -> tuple[int, int]:
    """`utf8.DecodeRune`: the first code point and its width; (U+FFFD, 1) for invalid UTF-8."""
    if not data:
        return _RUNE_ERROR, 0
    if not isinstance(data, bytes):
        return data[0], 1  # already code points
    lead = data[0]
    width = 1 if lead < 0x80 else 2 if 0xC2 <= lead < 0xE0 else 3 if 0xE0 <= lead < 0xF0 else 4
    if lead >= 0xF5 or 0x80 <= lead < 0xC2:
        return _RUNE_ERROR, 1
    try:
        return ord(data[:width].decode("utf-8")), width
    except UnicodeDecodeError:
        return _RUNE_ERROR, 1


def _parse_authority(authority: bytes) -> bytes | None:
    """`parseAuthority`: drop a valid userinfo before the last '@', parse the host."""
    userinfo, at, hostport = authority.rpartition(b"@")
    if at and (not all(byte in _USERINFO_SAFE for byte in userinfo) or _unescape(userinfo, host=False) is None):
        return None
    return _parse_host(hostport)


def _parse_host(host: bytes) -> bytes | None:
    """`parseHost`: an optional numeric port after the last ':' (or after ']'), then unescape."""
    if host.startswith(b"["):
        close = host.rfind(b"]")
        if close < 0 or not _valid_optional_port(host[close + 1 :]):
            return None
    else:
        colon = host.rfind(b":")
        if colon >= 0 and not _valid_optional_port(host[colon:]):
            return None
    return _unescape(host, host=True)


def _valid_optional_port(port: bytes) -> bool:
    return not port or (port[:1] == b":" and port[1:].isdigit()) or port == b":"


def _unescape(data: bytes, *, host: bool) -> bytes | None:
    """Percent-decode like url.unescape; hosts may only escape non-ASCII bytes (or '%25')."""
    out, index = bytearray(), 0
    while index < len(data):
        byte = data[index]
        if byte == ord("%"):
            code = data[index + 1 : index + 3]
            if len(code) < 2 or code[0] not in _HEX or code[1] not in _HEX:
                return None
            if host and int(code[:1], 16) < 8 and code != b"25":
                return None
            out.append(int(code, 16))
            index += 3
            continue
        if host and byte < 0x80 and byte not in _HOST_SAFE:
            return None
        out.append(byte)
        index += 1
    return bytes(out)


def _to_bytes(text: str) -> bytes:
    # surrogateescape carries bytes that were not UTF-8 back and forth unchanged, as a Go string would.
    return text.encode("utf-8", "surrogateescape")


def _code_points(text: str) -> tuple[int, ...]:
    return tuple(map(ord, text))


def _to_str(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")
