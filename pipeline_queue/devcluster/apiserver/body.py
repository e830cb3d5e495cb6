"""Request bodies: framed by Content-Length or chunked, and never read past the limit kube-apiserver keeps.

`framing` judges the headers before a byte of the body is read (so a 413 can go out at once, and a client that
sent `Expect: 100-continue` never sends the body); `read_body` then reads exactly the body, chunked or not,
stopping with a 413 as soon as the chunks add up to more than the limit.
"""

from __future__ import annotations

import re
from email.message import Message
from typing import Protocol

from .errors import ApiError, bad_request, too_large

MAX_BODY = 3 * 1024 * 1024
"""kube-apiserver's default --max-request-body-bytes (3 MiB): the largest request body read."""
_LINE = 4096
"""The longest chunk-size or trailer line read; a longer one is a malformed body."""
_TRAILERS = 64
_CHUNK_SIZE = re.compile(rb"[0-9a-fA-F]{1,16}")
CHUNKED = -1
"""`framing` for a chunked body, whose length is known only once it is read."""


class Reader(Protocol):
    """The connection's buffered input, as the request handler's `rfile` offers it."""

    def read(self, size: int, /) -> bytes: ...

    def readline(self, size: int, /) -> bytes: ...


def framing(headers: Message, *, limit: int = MAX_BODY) -> int:
    """The body's length from the headers (0 for none, CHUNKED); 400 for a framing refused, 413 over `limit`."""
    codings = [c.strip().lower() for value in headers.get_all("Transfer-Encoding") or [] for c in value.split(",")]
    if codings:
        if headers.get_all("Content-Length"):
            raise bad_request("a request may not carry both Transfer-Encoding and Content-Length")
        if codings != ["chunked"]:
            raise ApiError(501, "NotImplemented", message=f"unsupported transfer encoding: {', '.join(codings)}")
        return CHUNKED
    lengths = {value.strip() for value in headers.get_all("Content-Length") or []}
    if not lengths:
        return 0  # HTTP/1.1: a request with neither header has no body
    text = lengths.pop()
    if lengths or not text.isdigit() or not text.isascii():
        raise bad_request("invalid Content-Length header")
    if int(text) > limit:
        raise too_large(limit)
    return int(text)


def read_body(rfile: Reader, length: int, *, limit: int = MAX_BODY) -> bytes:
    """Exactly the body `framing` announced; 400 when it ends early or its chunks are malformed."""
    if length != CHUNKED:
        data = rfile.read(length) if length else b""
        if len(data) < length:
            raise bad_request(f"the request body ended after {len(data)} of its {length} bytes")
        return data
    parts: list[bytes] = []
    total = 0
    while (size := _chunk_size(rfile)) > 0:
        total += size
        if total > limit:
            raise too_large(limit)
        data = rfile.read(size)
        if len(data) < size or rfile.readline(_LINE) not in (b"\r\n", b"\n"):
            raise bad_request("malformed chunked encoding: a chunk ends early")
        parts.append(data)
    for _ in range(_TRAILERS):
        if rfile.readline(_LINE) in (b"\r\n", b"\n"):
            return b"".join(parts)
    raise bad_request("malformed chunked encoding: no end of the trailer")


def _chunk_size(rfile: Reader) -> int:
    line = rfile.readline(_LINE)
    size = line.split(b";", 1)[0].strip()
    if not line.endswith(b"\n") or not _CHUNK_SIZE.fullmatch(size):
        raise bad_request("malformed chunked encoding: bad chunk size line")
    return int(size, 16)
