"""Named header sets are exact: a missing comma would silently merge two names."""

from llmlog.proxy.headers import (
    CONTROL,
    HOP_BY_HOP,
    PEER_CONTROL,
    PROVIDER_KEY_HEADERS,
    SECRET,
    redact,
    redact_query,
    request_headers_to_forward,
)


def test_provider_key_headers_are_exact_and_ordered():
    assert PROVIDER_KEY_HEADERS == ("authorization", "x-api-key", "api-key", "x-goog-api-key")


def test_sets_are_exact():
    assert SECRET == {"authorization", "api-key", "x-api-key", "cookie", "set-cookie", "proxy-authorization"}
    assert HOP_BY_HOP == {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
                          "upgrade"}
    assert {"x-debug", "x-llmlog-user", "x-llmlog-metadata", "x-llmlog-parent-id", "x-llmlog-flow",
            "x-llmlog-customer", "x-llmlog-agent-role"} <= CONTROL
    assert all(name == name.lower() and "," not in name and " " not in name for name in SECRET | HOP_BY_HOP | CONTROL)


def test_forwarding_drops_hop_by_hop_control_and_connection_listed():
    kept = request_headers_to_forward({"Connection": "close, X-Drop", "X-Drop": "1", "Keep-Alive": "5",
                                       "x-debug": "false", "Host": "h", "Authorization": "Bearer k", "X-Ok": "1"})
    assert kept == [("Authorization", "Bearer k"), ("X-Ok", "1")]


def test_redaction():
    assert redact([("Authorization", "Bearer k"), ("X-Api-Key", "k"), ("Accept", "*/*")]) == [
        ("Authorization", "[redacted]"), ("X-Api-Key", "[redacted]"), ("Accept", "*/*")]
    assert redact_query("key=abc&alt=sse&api_key=z") == "key=[redacted]&alt=sse&api_key=[redacted]"


def test_peer_control_set_is_exact_and_helicone_properties_are_stripped():
    assert PEER_CONTROL == {"helicone-user-id", "helicone-session-id", "helicone-request-id", "x-litellm-tags",
                            "x-litellm-spend-logs-metadata", "x-litellm-end-user-id", "x-portkey-trace-id",
                            "x-portkey-metadata"}
    kept = request_headers_to_forward([("Helicone-Property-Team", "a"), ("helicone-property-x", "b"),
                                       ("Helicone-Auth", "Bearer h"), ("X-Portkey-Trace-Id", "t")])
    assert kept == [("Helicone-Auth", "Bearer h")]  # only the headers llmlog reads are its own
