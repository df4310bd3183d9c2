"""The request path: forward one call upstream unchanged, stream the answer back, capture a copy.

Nothing here parses bodies, counts tokens, prices or touches the database: the captured call is
handed to the pipeline with `put_nowait` after the last byte (DESIGN §1).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import TypeGuard
from urllib.parse import unquote

from aiohttp import web

from llmlog.proxy.access.client_address import Network
from llmlog.proxy.access.guard import HostPolicy, is_cross_origin
from llmlog.proxy.access.local_paths import answer_locally, is_local_target
from llmlog.proxy.access.target import normalised_path, split_target
from llmlog.proxy.errors import UpstreamBroken, UpstreamTimeout
from llmlog.proxy.forward.capture import CLIENT_CLOSED, ERROR, SUCCESS, TIMEOUT, CapturedCall
from llmlog.proxy.forward.control import ControlHeaderError, read_control_headers
from llmlog.proxy.forward.routing import Router
from llmlog.proxy.forward.usage_injection import StreamUsageFilter, inject_usage_request
from llmlog.proxy.headers import PROVIDER_KEY_HEADERS, request_headers_to_forward, response_headers_to_forward
from llmlog.proxy.http_errors import error_response, response_of
from llmlog.proxy.ids import new_call_id
from llmlog.proxy.settings import Provider
from llmlog.proxy.upstream.interface import Upstream, UpstreamAnswer, describe

ID_HEADER = "x-llmlog-id"
log = logging.getLogger("llmlog")


class ClientGone(Exception):
    """The client hung up while still sending its request body."""


class Forwarder:
    """Holds what every forwarded call shares: the upstream client, router, limits and the sink."""

    def __init__(self, client: Upstream, router: Router, submit: Callable[[CapturedCall], None],
                 *, max_body_bytes: int, max_request_bytes: int, injected_keys: dict[str, tuple[str, str]],
                 hosts: HostPolicy, admin_keys: Iterable[str], trusted_proxies: tuple[Network, ...] = ()):
        self.client = client
        self.router = router
        self.submit = submit
        self.max_body_bytes = max_body_bytes
        self.max_request_bytes = max_request_bytes
        self.injected_keys = injected_keys  # provider name -> (header, value) used when the client sent none
        self.hosts = hosts
        self.admin_keys = list(admin_keys)  # never sent to a provider
        self.trusted_proxies = trusted_proxies  # the pipeline believes X-Forwarded-For from these alone
        self.shutting_down = False  # set on shutdown: a cancel then means the grace period ran out
        # the calls this process is forwarding now, by id, until handed to the pipeline: what the
        # logs API can say of a call not yet stored (PromptShuttle's `Pending`); a dict insert and pop per call
        self.in_flight: dict[str, CapturedCall] = {}

    async def handle(self, request: web.Request) -> web.StreamResponse:
        clock = time.perf_counter
        t0 = clock()
        started_at_ms = time.time() * 1000
        call_id = new_call_id(int(started_at_ms))
        if "#" in request.raw_path:  # never in a request target (RFC 9112 §3.2); routing and forwarding would differ
            return error_response(400, "a request target cannot hold a fragment ('#')", param="path")
        raw_path, query = split_target(request.raw_path)
        path = normalised_path(raw_path)
        if is_local_target(path):
            return await answer_locally(request)
        routed = self.router.route(path)
        if routed is None:
            return error_response(404, f"no provider is configured for {path}",
                                  headers={ID_HEADER: call_id})
        provider, upstream_path = routed
        refusal = self._refusal(provider, request, query)
        if refusal is not None:
            return refusal
        try:
            context = read_control_headers(request.headers)
        except ControlHeaderError as exc:
            return response_of(exc, headers={ID_HEADER: call_id})

        headers = request_headers_to_forward(request.headers)
        call = CapturedCall(
            id=call_id, provider=provider, method=request.method, path=upstream_path, query=query,
            started_at_ms=started_at_ms, context=context, request_headers=headers, request_body=b"",
            peer=request.remote, trusted_proxies=self.trusted_proxies,  # known since the connection opened
        )
        self.in_flight[call_id] = call
        try:
            body = call.request_body = await self._read_body(request, call, t0)
        except ClientGone:
            return web.Response(status=400)  # nobody is left to read it
        except BaseException:  # a body over the cap (413): answered, never forwarded nor logged
            self.in_flight.pop(call_id, None)
            raise
        stream_filter = None
        if provider.inject_stream_usage and body:
            injected_body = inject_usage_request(body)
            if injected_body is not None:
                body, call.injected_usage = injected_body, True
                stream_filter = StreamUsageFilter()
        headers = self._with_key(provider, headers)
        target = upstream_path + ("?" + query if query else "")

        response: web.StreamResponse | None = None
        upstream: UpstreamAnswer | None = None
        try:
            sent = clock()
            upstream = await self.client.request(request.method, provider.base_url, target, headers, body)
            call.status_code = upstream.status
            call.response_headers = response_headers_to_forward(upstream.headers)
            call.status = SUCCESS if upstream.status < 400 else ERROR
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason or None)
            for name, value in call.response_headers:
                response.headers.add(name, value)
            response.headers[ID_HEADER] = call_id
            if stream_filter is not None:
                response.headers.popall("Content-Length", None)
            try:
                await response.prepare(request)
            except ValueError as exc:  # aiohttp will not send the head as answered (a control character in
                # its reason or a header value; it stopped before writing a byte): a broken upstream, a 502
                response = None
                raise UpstreamBroken(f"answered with a head llmlog cannot pass on: {describe(exc)}") from None
            while chunk := await upstream.read():
                offset = (clock() - t0) * 1000
                if call.ttfb_ms is None:
                    call.ttfb_ms = offset
                call.keep(offset, chunk, self.max_body_bytes)
                if stream_filter is not None:
                    chunk = stream_filter.feed(chunk)
                    if not chunk:
                        continue
                await response.write(chunk)
            call.upstream_duration_ms = (clock() - sent) * 1000
            if stream_filter is not None:
                tail = stream_filter.flush()
                if tail:
                    await response.write(tail)
            if call.ttfb_ms is None:
                call.ttfb_ms = (clock() - t0) * 1000
            await response.write_eof()
        except ConnectionResetError as exc:  # writing to the client (the upstream client raises its own errors)
            if _client_gone(request):
                call.status, call.error = CLIENT_CLOSED, "client closed the connection"
            else:
                response = await self._upstream_failed(request, call, response, ERROR, 502,
                                                       f"upstream connection reset: {exc}")
        except asyncio.CancelledError:
            if self.shutting_down:
                call.status, call.error = ERROR, "llmlog shut down before the call finished"
            else:
                call.status, call.error = CLIENT_CLOSED, "client closed the connection"
            self._finish(call, t0)
            raise
        except UpstreamTimeout as exc:  # the client's connect timeout; a read timeout is asyncio's, below
            response = await self._upstream_failed(request, call, response, TIMEOUT, 504,
                                                   f"upstream {provider.name} unreachable: {exc}")
        except TimeoutError:
            message = (f"upstream {provider.name} went silent mid-response for longer than the read timeout"
                       if _started(response) else f"upstream {provider.name} did not answer within the read timeout")
            response = await self._upstream_failed(request, call, response, TIMEOUT, 504, message)
        except OSError as exc:  # UpstreamUnreachable and UpstreamBroken (proxy/errors.py) are ConnectionErrors
            message = (f"upstream {provider.name} broke off mid-response: {describe(exc)}"
                       if _started(response) else f"upstream {provider.name} unreachable or failed: {describe(exc)}")
            response = await self._upstream_failed(request, call, response, ERROR, 502, message)
        except Exception as exc:  # a fault of llmlog's own: still one logged call, and the reason logged
            log.exception("forwarding call %s failed", call.id)
            response = await self._upstream_failed(request, call, response, ERROR, 502,
                                                   f"llmlog failed while passing the answer on: {describe(exc)}")
        finally:
            if upstream is not None:
                upstream.release()
        self._finish(call, t0)
        if response is None:  # reset with the client gone before an answer began: nobody is left to read it
            return web.Response(status=400)
        return response

    async def _read_body(self, request: web.Request, call: CapturedCall, t0: float) -> bytes:
        """The whole request body (413 past `server.max_request_bytes`). A client that hangs up
        while sending it still leaves an entry, `client_closed`, with what had arrived."""
        pieces: list[bytes] = []
        size = 0
        try:
            while piece := await request.content.readany():
                pieces.append(piece)
                size += len(piece)
                if size > self.max_request_bytes:
                    raise web.HTTPRequestEntityTooLarge(max_size=self.max_request_bytes, actual_size=size)
        except (ConnectionResetError, asyncio.CancelledError) as exc:
            call.request_body = b"".join(pieces)
            call.status, call.error = CLIENT_CLOSED, "client closed the connection while sending the request body"
            self._finish(call, t0)
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise ClientGone from exc
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def _refusal(self, provider: Provider, request: web.Request, query: str) -> web.Response | None:
        """403 for a call that would carry the logs API key to a provider (in any header or the
        query, as sent or percent-encoded), or that a web page on another origin made while llmlog
        would add its own provider key (see proxy/access/guard.py)."""
        headers = request.headers
        if self.admin_keys and _carries_any(self.admin_keys, headers.values(), query):
            return error_response(403, "the call carries llmlog's logs API key (in a header or the query); "
                                  "it is never sent to a provider")
        if (provider.name in self.injected_keys and not any(name in headers for name in PROVIDER_KEY_HEADERS)
                and is_cross_origin(headers, self.hosts)):
            return error_response(403, f"llmlog adds the {provider.name} key to calls, so it does not forward "
                                  "calls that a web page on another origin made", param="Origin")
        return None

    def _finish(self, call: CapturedCall, t0: float) -> None:
        call.duration_ms = (time.perf_counter() - t0) * 1000
        self.in_flight.pop(call.id, None)
        self.submit(call)

    async def _upstream_failed(self, request: web.Request, call: CapturedCall,
                               response: web.StreamResponse | None, status: str, code: int,
                               message: str) -> web.StreamResponse:
        """Before headers went out: answer with a JSON error. After: cut the client's connection,
        so it cannot mistake a truncated stream for a complete one."""
        call.status, call.error = status, message
        if not _started(response):
            call.status_code = code
            return error_response(code, message, headers={ID_HEADER: call.id})
        if request.transport is not None:
            request.transport.close()
        return response

    def _with_key(self, provider: Provider, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        injected = self.injected_keys.get(provider.name)
        if injected is None:
            return headers
        if any(name.lower() in PROVIDER_KEY_HEADERS for name, _ in headers):
            return headers
        return [*headers, injected]


def _started(response: web.StreamResponse | None) -> TypeGuard[web.StreamResponse]:
    """Whether the client already has a status line, so an error can no longer be sent as JSON."""
    return response is not None and response.prepared


def _carries_any(keys: list[str], values: Iterable[str], query: str) -> bool:
    """Whether any key appears anywhere in the header values or the query. A substring search: keys
    are long random strings, and a partial guess never matches, so this answers no question about
    the key that the caller could not answer by holding it."""
    texts = [*values, query, unquote(query)] if "%" in query else [*values, query]
    return any(key in text for key in keys for text in texts)


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


__all__ = ["Forwarder", "ID_HEADER"]
