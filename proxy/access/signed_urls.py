"""Export file URLs a program can fetch without the logs API key, as Portkey's signed download URL
works (seeds/004: `requests.get(download_url)` and `curl -o … "{signed_download_url}"` send no
key): the URL carries an expiry and an HMAC of the job id and that expiry. Pure.

The HMAC key is derived from the configured logs API keys, so every replica with the same
configuration signs and checks alike, a URL never shows a key, and changing the keys voids every
URL already handed out. With no key configured the logs API is open anyway and URLs are unsigned.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence

DOWNLOAD_URL_TTL_S = 3600  # long enough to hand a URL to another program; short enough not to be a key
FILE_PATH = re.compile(r"/v1/logs/exports/([^/]+)/file")
_CONTEXT = b"llmlog export file URL\0"  # this key is for nothing else, should another use come


def file_path(job_id: str) -> str:
    return f"/v1/logs/exports/{job_id}/file"


class UrlSigner:
    """Signs and checks `/v1/logs/exports/{id}/file?expires=<unix s>&signature=<hex>`."""

    def __init__(self, api_keys: Sequence[str]):
        material = b"\0".join(sorted(key.encode("utf-8", "surrogateescape") for key in api_keys))
        self._secret = hashlib.sha256(_CONTEXT + material).digest() if api_keys else None

    def _mac(self, job_id: str, expires: int) -> str:
        assert self._secret is not None
        message = f"{job_id}\n{expires}".encode("utf-8", "surrogateescape")
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def query(self, job_id: str, now_s: int) -> dict[str, str]:
        """The query string that lets a URL of this job's file through until now + the TTL
        ({} when no key is configured: nothing to let through)."""
        if self._secret is None:
            return {}
        expires = now_s + DOWNLOAD_URL_TTL_S
        return {"expires": str(expires), "signature": self._mac(job_id, expires)}

    def allows(self, path: str, query: Mapping[str, str], now_s: float) -> bool:
        """Whether this request is for an export file with a valid, unexpired signature."""
        found = FILE_PATH.fullmatch(path)
        expires, signature = query.get("expires", ""), query.get("signature", "")
        if self._secret is None or found is None or not (expires.isascii() and expires.isdigit()) \
                or len(expires) > 12:  # isdigit() alone lets `²` through, which int() refuses
            return False
        if int(expires) < now_s:
            return False
        return hmac.compare_digest(signature.encode("ascii", "replace"), self._mac(found[1], int(expires)).encode())
