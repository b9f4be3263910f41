"""Endpoint URL masking.

Hosted nodes put the API key in the URL: in the path (Alchemy ``/v2/KEY``, Infura ``/v3/KEY``,
QuickNode ``/TOKEN/``), in the query (``?apikey=KEY``) or in the userinfo (``user:pass@``).
Telling a key from a version segment is guesswork, so the mask is conservative: it keeps only
the scheme, host and port, which is what a reader needs to know which node failed.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit, urlunsplit

from .errors import BadEndpoint

__all__ = ["check_url", "mask_url", "redact"]

MASK = "***"
SCHEMES = ("http", "https")
_HOST_PORT = re.compile(r"^[A-Za-z0-9.\-\[\]:]+:\d+(/.*)?$")


def check_url(url: str) -> None:
    """Raise ``BadEndpoint`` unless ``url`` is an ``http://`` or ``https://`` URL with a host,
    before anything is sent. The message shows the URL masked, with a hint.

    >>> check_url("127.0.0.1:8545")
    Traceback (most recent call last):
    ...
    loopscan.rpc.errors.BadEndpoint: RPC URL has no scheme: did you mean http://127.0.0.1:8545?
    """
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port
    except ValueError as exc:  # a port that is not a number, a bracket left open
        raise BadEndpoint(f"RPC URL {mask_url(url)} does not parse ({exc}); expected http(s)://host[:port][/path]") from None
    if _HOST_PORT.match(url) and (not parts.scheme or not parts.netloc):
        raise BadEndpoint(f"RPC URL has no scheme: did you mean {mask_url('http://' + url)}?")
    if parts.scheme not in SCHEMES:
        if not parts.scheme:
            raise BadEndpoint("RPC URL is not a URL: expected http(s)://host[:port][/path], e.g. http://127.0.0.1:8545")
        raise BadEndpoint(f"RPC URL scheme {parts.scheme}:// is not supported: loopscan reads over http:// or https://")
    if not host or any(c.isspace() for c in url):
        raise BadEndpoint(f"RPC URL {mask_url(url)} has no host or has spaces; expected http(s)://host[:port][/path]")


def mask_url(url: str) -> str:
    """Return ``url`` with userinfo, every non-empty path segment, every query value and the
    fragment replaced by ``***``.

    >>> mask_url("https://eth-mainnet.g.alchemy.com/v2/SECRETKEY")
    'https://eth-mainnet.g.alchemy.com/***/***'
    >>> mask_url("https://user:pw@node.example:8545/?key=abc&chain=1")
    'https://***@node.example:8545/?key=***&chain=***'
    >>> mask_url("http://127.0.0.1:8545")
    'http://127.0.0.1:8545'
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return MASK
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    if parts.username is not None or parts.password is not None:
        netloc = f"{MASK}@{netloc}"
    path = "/".join(MASK if segment else "" for segment in parts.path.split("/"))
    query = "&".join(_mask_query_item(item) for item in parts.query.split("&")) if parts.query else ""
    fragment = MASK if parts.fragment else ""
    return urlunsplit((parts.scheme, netloc, path, query, fragment))


def _mask_query_item(item: str) -> str:
    key, sep, _ = item.partition("=")
    return f"{key}={MASK}" if sep else MASK


def redact(text: str, url: str) -> str:
    """``text`` with ``url`` and each of its maskable parts replaced by ``***``.

    For text the client did not write (a library's exception message, an error page's body)
    that may echo the URL or the key in it, raw or percent-decoded. Path and query parts
    shorter than 4 characters (``v2``) are left, since replacing them would garble the text
    and they are not keys; userinfo is replaced whatever its length.
    """
    text = text.replace(url, mask_url(url))
    try:
        parts = urlsplit(url)
    except ValueError:
        return text
    userinfo = {parts.username, parts.password} - {None, ""}
    others = [parts.fragment, *parts.path.split("/")]
    others += [item.partition("=")[2] or item for item in parts.query.split("&")]
    secrets = userinfo | {s for s in others if len(s) >= 4}
    secrets |= {unquote(s) for s in secrets}
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text
