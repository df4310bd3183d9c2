"""Named header sets and the few operations on them: what is forwarded, stripped or redacted.

Shared by the request path, the upstream client and the pipeline's scrubbing, so it belongs to none of them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from urllib.parse import unquote

from multidict import CIMultiDict, CIMultiDictProxy

# RFC 9110 §7.6.1 connection-specific fields, plus the de-facto ones proxies drop.
HOP_BY_HOP = frozenset({
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
})

# Credentials meant for a proxy on the way (RFC 9110 §11.7): llmlog is that proxy, so they go no
# further in either direction.
PROXY_AUTH = frozenset({"proxy-authorization", "proxy-authenticate"})

# Headers whose value is a credential: never written to the store (DESIGN §4).
SECRET = frozenset({
    "authorization",
    "api-key",
    "x-api-key",
    "cookie",
    "set-cookie",
    "proxy-authorization",
})

# The proxy's own control headers (DESIGN §3): read, then never forwarded.
CONTROL = frozenset({
    "x-debug",
    "x-portkey-debug",
    "helicone-omit-request",
    "helicone-omit-response",
    "x-llmlog-user",
    "x-llmlog-session",
    "x-llmlog-trace-id",
    "x-llmlog-parent-id",
    "x-llmlog-tags",
    "x-llmlog-environment",
    "x-llmlog-task-type",
    "x-llmlog-metadata",
    "x-llmlog-flow",
    "x-llmlog-customer",
    "x-llmlog-agent-role",
})

# Peers' headers llmlog reads as its own (DESIGN §3, proxy/forward/peers.py): stripped the same way,
# with every `Helicone-Property-<Name>` (CONTROL_PREFIXES).
PEER_CONTROL = frozenset({
    "helicone-user-id",
    "helicone-session-id",
    "helicone-request-id",
    "x-litellm-tags",
    "x-litellm-spend-logs-metadata",
    "x-litellm-end-user-id",
    "x-portkey-trace-id",
    "x-portkey-metadata",
})
CONTROL_PREFIXES = ("helicone-property-",)

# Where a client puts its provider key, in the order llmlog reads it (OpenAI and most SDKs,
# Anthropic, Azure, Gemini): the key the entry's hash and prefix describe, and the headers whose
# presence means llmlog does not add a configured key (`api_key_env`).
PROVIDER_KEY_HEADERS = ("authorization", "x-api-key", "api-key", "x-goog-api-key")

# Recomputed by the HTTP layer on each hop, so copying them would be wrong.
FRAMING = frozenset({"host", "content-length"})

# Secrets travel in query strings too (e.g. Gemini's `?key=`, Azure's SAS `sig=`).
SECRET_QUERY_PARAMS = frozenset({"key", "api_key", "api-key", "apikey", "access_token", "token", "sig"})

# Beyond the named sets, any header or query name that says it holds a credential: `x-goog-api-key`
# (Gemini's SDK), `x-auth-token`, `x-amz-security-token`, `client_secret`, `db-password`. Matched on
# the words of the name, so rate-limit counters such as `x-ratelimit-remaining-tokens` stay readable.
SECRET_NAME_WORDS = frozenset({
    "key",
    "apikey",
    "token",
    "secret",
    "auth",
    "authorization",
    "authentication",
    "password",
    "passwd",
    "pwd",
    "credential",
    "credentials",
    "cookie",
    "signature",
    "jwt",
    "bearer",
})
# ... and names run together without separators (`xapikey`, `accesstoken`, `clientsecret`)
SECRET_NAME_PARTS = ("apikey", "secret", "passw", "credential", "authtoken", "accesstoken")
_WORD_SEPARATORS = re.compile(r"[-_.\s]+")
_CONTROL_AND_SPACE = re.compile(r"[\x00-\x20\x7f]+")

REDACTED = "[redacted]"

_NOT_FORWARDED = HOP_BY_HOP | PROXY_AUTH | CONTROL | PEER_CONTROL | FRAMING
_NOT_RETURNED = HOP_BY_HOP | PROXY_AUTH

# aiohttp's request headers, or (name, value) pairs as the upstream client reads them
Headers = Mapping[str, str] | list[tuple[str, str]]


def _pairs(headers: Headers) -> Iterable[tuple[str, str]]:
    return headers if isinstance(headers, list) else headers.items()


def field_tokens(headers: Headers, name: str) -> list[str]:
    """The comma-separated elements of every `name` field (lower-case `name`), in order, lower-cased,
    empty elements dropped (RFC 9110 §5.6.1): Connection, Transfer-Encoding, Content-Length."""
    if isinstance(headers, (CIMultiDict, CIMultiDictProxy)):  # aiohttp's: case-insensitive lookup, no scan
        values = headers.getall(name, ())
    else:
        values = [v for k, v in _pairs(headers) if k.lower() == name]
    return [token for value in values for part in value.split(",") if (token := part.strip().lower())]


def connection_tokens(headers: Headers) -> set[str]:
    """Header names listed in `Connection:` are hop-by-hop for this message too."""
    return set(field_tokens(headers, "connection"))


def request_headers_to_forward(headers: Headers) -> list[tuple[str, str]]:
    """Client headers as sent, less hop-by-hop, framing and control headers (llmlog's and peers')."""
    extra = connection_tokens(headers)
    return [
        (name, value) for name, value in _pairs(headers)
        if (low := name.lower()) not in _NOT_FORWARDED and low not in extra and not low.startswith(CONTROL_PREFIXES)
    ]


def response_headers_to_forward(headers: Headers) -> list[tuple[str, str]]:
    """Upstream headers as sent, less hop-by-hop ones; Content-Length is kept for plain bodies."""
    extra = connection_tokens(headers)
    return [
        (name, value) for name, value in _pairs(headers)
        if (low := name.lower()) not in _NOT_RETURNED and low not in extra
    ]


def _names_a_secret(low: str) -> bool:
    if any(part in low for part in SECRET_NAME_PARTS):
        return True
    words = _WORD_SEPARATORS.split(low)
    # `x-sessionkey`, `x-refreshtoken`: a word ending in key or token (never `tokens`: counters)
    return not SECRET_NAME_WORDS.isdisjoint(words) or any(w.endswith(("key", "token")) for w in words)


@lru_cache(maxsize=2048)  # a proxy sees few distinct header names; this runs for every header stored
def is_secret_header(name: str) -> bool:
    """Whether a header's value is a credential, by the named set or by what its name says."""
    low = name.lower()
    return low in SECRET or _names_a_secret(low)


@lru_cache(maxsize=2048)
def is_secret_query_param(name: str) -> bool:
    """The same for a query parameter, whose name may arrive percent-encoded (`%6Bey` is `key`)."""
    low = _CONTROL_AND_SPACE.sub("", unquote(name.replace("+", " "))).lower()  # `key%00`, ` key`
    return low in SECRET_QUERY_PARAMS or _names_a_secret(low)


def redact(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """A copy safe to store: credential values replaced by `[redacted]`."""
    return [(name, REDACTED if is_secret_header(name) else value) for name, value in headers]


def redact_query(query: str) -> str:
    """A query string safe to store: values of credential-looking parameters replaced."""
    if not query:
        return query
    parts = []
    for pair in query.split("&"):
        name, sep, _ = pair.partition("=")
        parts.append(f"{name}={REDACTED}" if sep and is_secret_query_param(name) else pair)
    return "&".join(parts)
