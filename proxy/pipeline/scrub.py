"""The credentials a client sent, and keeping them out of stored text; pure.

Headers and query parameters that carry a credential are redacted by name (proxy/headers.py). A
credential can still come back inside text: a provider's error message quoting the key, a prompt
with a key pasted in. Every stored text of a call is scrubbed of the values that call presented.
"""

from __future__ import annotations

from urllib.parse import unquote

from llmlog.proxy.headers import PROVIDER_KEY_HEADERS, REDACTED, is_secret_header, is_secret_query_param

# Shorter values are not looked for in bodies, prompts and output: `[redacted]` in place of every
# "test" would ruin the text. Error messages (a provider quoting the key back) are short and say
# what they quote, so there any key of MIN_SCRUBBED_ERROR_CHARS or more is scrubbed.
MIN_SCRUBBED_CHARS = 8
MIN_SCRUBBED_ERROR_CHARS = 4
# A key's prefix is shown so a person can tell keys apart, never so much that it gives the key
# away: at most this many characters, and at most a quarter of the key.
KEY_PREFIX_CHARS = 10
KEY_PREFIX_SHARE = 4
MIN_KEY_PREFIX_CHARS = 3


def credential_of(value: str) -> str:
    """A credential header's value without its scheme (`Bearer sk-…` → `sk-…`)."""
    parts = value.split(None, 1)  # any whitespace: `Bearer<TAB>key` is still a bearer key
    if len(parts) == 2 and parts[0].lower() in ("bearer", "basic", "token"):
        return parts[1].strip()
    return value.strip()


def presented_secrets(headers: list[tuple[str, str]], query: str) -> tuple[str, ...]:
    """The credential values in a request's headers and query (MIN_SCRUBBED_ERROR_CHARS or longer),
    longest first (so a key is replaced before a shorter value inside it)."""
    return request_credentials(headers, query)[1]


def api_key_of(headers: list[tuple[str, str]]) -> str | None:
    """The provider key the client sent, from whichever header its SDK uses (scheme removed)."""
    return request_credentials(headers, "")[0]


def request_credentials(headers: list[tuple[str, str]], query: str) -> tuple[str | None, tuple[str, ...]]:
    """`api_key_of` and `presented_secrets` from one pass over the headers: every entry needs both,
    and the provider key headers are all secret headers, so the second look was the same work again."""
    found = set()
    keys = {}  # provider key header -> its credential (the last such header wins)
    for name, value in headers:
        if is_secret_header(name):
            credential = credential_of(value)
            found.add(credential)
            if (low := name.lower()) in _PROVIDER_KEY_NAMES:
                keys[low] = credential
    key = None
    if keys:
        for name in PROVIDER_KEY_HEADERS:  # the first header in this order that holds a key
            if key := keys.get(name):
                break
        key = key or None
    for pair in query.split("&") if query else ():
        name, sep, value = pair.partition("=")
        if sep and is_secret_query_param(name):
            found.update((value, unquote(value.replace("+", " "))))
    if len(found) == 1:  # the usual request: one key, nothing to order
        secret = found.pop()
        return key, (secret,) if len(secret) >= MIN_SCRUBBED_ERROR_CHARS else ()
    return key, tuple(sorted((s for s in found if len(s) >= MIN_SCRUBBED_ERROR_CHARS), key=len, reverse=True))


# each is a secret header too (tests/access/test_credentials_kept_out.py), so the one pass sees them all
_PROVIDER_KEY_NAMES = frozenset(PROVIDER_KEY_HEADERS)


def scrub_error(text: str | None, secrets: tuple[str, ...]) -> str | None:
    """An error message with every presented credential replaced."""
    if text:
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
    return text


def scrub_text(text: str | None, secrets: tuple[str, ...]) -> str | None:
    """Prompt, output or an assembled answer with every credential of MIN_SCRUBBED_CHARS or more replaced."""
    if text:
        for secret in secrets:
            if len(secret) >= MIN_SCRUBBED_CHARS and secret in text:
                text = text.replace(secret, REDACTED)
    return text


def scrub_bytes(data: bytes, secrets: tuple[str, ...]) -> bytes:
    """Bodies keep their length (each byte of a secret becomes `*`), so a stream's chunk
    timeline still splits the stored body where it arrived split."""
    for secret in secrets:
        if len(secret) < MIN_SCRUBBED_CHARS:
            continue
        raw = secret.encode("utf-8", "surrogateescape")
        if raw in data:
            data = data.replace(raw, b"*" * len(raw))
    return data


def key_prefix(key: str | None) -> str | None:
    """The first characters of a key, to tell keys apart: never a short key whole."""
    if not key:
        return None
    shown = min(KEY_PREFIX_CHARS, len(key) // KEY_PREFIX_SHARE)
    return key[:shown] if shown >= MIN_KEY_PREFIX_CHARS else None
