"""Choosing the provider for a path by longest matching prefix (DESIGN §2); pure."""

from __future__ import annotations

from collections.abc import Iterable

from llmlog.proxy.settings import Provider


class Router:
    def __init__(self, providers: Iterable[Provider]):
        # longest prefix first so `/anthropic` wins over `/`
        self._providers = sorted(providers, key=lambda p: len(p.prefix.rstrip("/")), reverse=True)

    def route(self, path: str) -> tuple[Provider, str] | None:
        """The provider and the upstream path (prefix stripped), or None when nothing matches."""
        for provider in self._providers:
            prefix = provider.prefix.rstrip("/")
            if not prefix:
                return provider, path
            if path == prefix or path.startswith(prefix + "/"):
                return provider, path[len(prefix):] or "/"
        return None
