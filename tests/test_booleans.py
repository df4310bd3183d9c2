"""One true/false vocabulary (proxy/booleans.py): a setting, a logs-API parameter and the do-not-track
header read the same word the same way, and refuse the same words."""

from __future__ import annotations

import time

import pytest

from llmlog.proxy.booleans import FALSE_WORDS, TRUE_WORDS
from llmlog.proxy.forward.control import ControlHeaderError, wants_no_tracking
from llmlog.proxy.settings import ConfigError, load_config
from tests.fakes.seeding import make_entry, seed

NOW = int(time.time() * 1000)
WORDS = sorted(TRUE_WORDS | FALSE_WORDS) + [
    "TRUE", "False", " Off ", "YES", "oN", "y", "n", "t", "f", "2", "-1", "00", "enabled", "disabled",
    "truee", "yes please", "nil", "none", "null", "✓"]


def config_reads(word: str) -> bool | None:
    """What `server.insecure` becomes from LLMLOG_INSECURE=word; None when the word is refused."""
    try:
        return load_config(None, env={"LLMLOG_INSECURE": word}).server.insecure
    except ConfigError as exc:
        assert "LLMLOG_INSECURE" in str(exc) and "expected bool" in str(exc)
        return None


def test_the_documented_words():
    """DESIGN §3: x-debug false (also 0, no, off) means do-not-track; the settings took these words already."""
    assert FALSE_WORDS == {"false", "0", "no", "off"}
    assert TRUE_WORDS == {"true", "1", "yes", "on"}


async def test_config_and_logs_api_accept_exactly_the_same_words(make_proxy, db_path):
    streamed, plain = make_entry(NOW - 2000, stream=1), make_entry(NOW - 1000, stream=0)
    seed(db_path, [streamed, plain])
    api = await make_proxy()
    seen = {}
    for word in WORDS:
        resp = await api.get("/v1/logs", params={"stream": word})
        body = await resp.json()
        if resp.status == 400:
            assert body["error"]["param"] == "stream", body
            seen[word] = None
        else:
            assert resp.status == 200, body
            ids = [entry["id"] for entry in body["logs"]]
            assert ids in ([streamed.call["id"]], [plain.call["id"]]), ids
            seen[word] = ids == [streamed.call["id"]]
    assert seen == {word: config_reads(word) for word in WORDS}
    assert {w for w, v in seen.items() if v is not None} > TRUE_WORDS | FALSE_WORDS  # case and spaces too


@pytest.mark.parametrize("word", WORDS)
def test_do_not_track_headers_read_the_same_words(word):
    """Refused by the settings, refused in a do-not-track header (a 400: tests/forward/test_do_not_track_words.py)."""
    meaning = config_reads(word)
    for name, asks in [("x-debug", False), ("x-portkey-debug", False), ("helicone-omit-request", True),
                       ("helicone-omit-response", True)]:
        if meaning is None:
            with pytest.raises(ControlHeaderError) as raised:
                wants_no_tracking({name: word})
            assert raised.value.param == name
        else:
            assert wants_no_tracking({name: word}) is (meaning is asks), name
