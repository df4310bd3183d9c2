"""llmlog's own errors, one hierarchy for every surface: the API answers them as JSON
(proxy/http_errors.py), the CLI as one `Error:` line (cli.py); a bad configuration is one too. A
leaf: it imports nothing of llmlog, so the settings, the request path, the query layer, the
pipeline and the CLI can all raise these.

The store's errors (store.interface.StoreError and its kin) stay in store/, which imports nothing of
proxy/; both maps handle StoreError beside these.
"""

from __future__ import annotations


class LlmlogError(Exception):
    """An error llmlog reports itself: `message` says what went wrong, `param` (if any) where."""

    def __init__(self, message: str, param: str | None = None):
        super().__init__(message)
        self.message, self.param = message, param


class ValidationError(LlmlogError, ValueError):
    """Input the caller must fix (a query parameter, a body field, a control header), naming it.

    Made with `naming`, the message has a place for the parameter's name, which each surface
    spells its own way: the API as the client sent it (`'limit'`), the CLI as its flag (`--limit`).
    """

    def __init__(self, message: str, param: str | None = None, *, template: str | None = None):
        super().__init__(message, param)
        self.template = template

    @classmethod
    def naming(cls, param: str, template: str) -> ValidationError:
        """An error whose `template` holds `{}` (its first one) where the parameter's name goes."""
        return cls(template.replace("{}", f"'{param}'", 1), param, template=template)

    def worded(self, name: str) -> str:
        """The message with the parameter spelled `name`; the message as made when it has no place for it."""
        return self.template.replace("{}", name, 1) if self.template is not None else self.message


class TooLarge(ValidationError):
    """A request body over its size cap."""


class ConfigError(LlmlogError, ValueError):
    """A configuration value a person has to fix (config file, `LLMLOG_*` variable, flag, price
    file); the message says which and how. Raised while loading (proxy/settings/) and building
    the price table, before anything serves."""


class NotFound(LlmlogError):
    """No such call, export job or file."""


class Conflict(LlmlogError):
    """The request is valid but the thing is in the wrong state for it (a job already running, not finished)."""


class UpstreamFailure(LlmlogError):
    """The provider could not be reached or broke the exchange; the call is logged with why.

    The upstream client's own exceptions (proxy/upstream/client.py) subclass the three below, which
    stay OSErrors (ConnectionError, TimeoutError) as asyncio's transports expect."""


class UpstreamUnreachable(UpstreamFailure, ConnectionError):
    """No connection could be opened: name not found, refused, TLS failed."""


class UpstreamTimeout(UpstreamFailure, TimeoutError):
    """No connection, or no answer, within its timeout."""


class UpstreamBroken(UpstreamFailure, ConnectionError):
    """The connection closed early, or the answer broke HTTP/1.1's rules."""
