"""`privacy.redact`: planted personal data reaches the upstream as sent and is found nowhere llmlog
keeps it: not in the database, its WAL, the spill file or an export."""

from __future__ import annotations

import json
import sqlite3

import orjson
import pytest

from llmlog.store.spill import spill_path_for
from tests.conftest import CHAT, chat_body, database_bytes, flushed, stored_ids, wait_until

pytestmark = pytest.mark.sqlite_only

PLANTED = {
    "email": "ana.lopez@example.com",
    "card": "4111 1111 1111 1111",
    "iban": "DE89 3704 0044 0532 0130 00",
    "secret": "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
    "ssn": "123-45-6789",
    "ip": "203.0.113.45",
    "phone": "+44 20 7946 0958",
}
KINDS = list(PLANTED)
# a newline right before the card: in the JSON body it is `\n4111`, which hides the number from a
# pattern run over the raw bytes
PROMPT = ("Customer ana.lopez@example.com paid with card:\n4111 1111 1111 1111 from IBAN DE89 3704 0044 0532 0130 00, "
          "SSN 123-45-6789, from 203.0.113.45, phone +44 20 7946 0958, key sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z.")
EXPORT_FIELDS = ("id,prompt_text,output_text,request_body,response_body,request_headers,response_headers,metadata,"
                 "error,tool_calls")


def _forms(value: str) -> list[bytes]:
    """The value as a grep would look for it: as written, and its digits run together."""
    compact = value.replace(" ", "")
    return [value.encode(), compact.encode()] if compact != value else [value.encode()]


def _leaks(data: bytes) -> list[str]:
    return [kind for kind, value in PLANTED.items() if any(form in data for form in _forms(value))]


async def _planted_calls(proxy) -> list[str]:
    ids = []
    headers = {"x-customer-contact": PLANTED["email"],
               "x-llmlog-metadata": orjson.dumps({"contact": PLANTED["email"], "card": PLANTED["card"]}).decode()}
    for stream in (False, True):
        body = orjson.dumps({"model": "gpt-4o-mini", "stream": stream,
                             "messages": [{"role": "user", "content": PROMPT}]})
        resp = await proxy.post(f"{CHAT}?ref=ana.lopez%40example.com", data=body, headers=headers)
        assert resp.status == 200
        await resp.read()
        ids.append(resp.headers["x-llmlog-id"])
    return ids


async def _exported(proxy) -> bytes:
    out = b""
    for fmt in ("jsonl", "csv"):
        resp = await proxy.get("/v1/logs/export", params={"format": fmt, "fields": EXPORT_FIELDS})
        assert resp.status == 200
        out += await resp.read()
    return out


async def test_redacted_values_reach_the_upstream_and_nothing_llmlog_keeps(make_proxy, fake, db_path):
    proxy = await make_proxy(privacy__redact=KINDS)
    ids = await _planted_calls(proxy)
    await flushed(proxy)
    # the upstream got every request as it was sent
    for received in fake.received:
        assert orjson.loads(received["body"])["messages"][0]["content"] == PROMPT
        assert dict(received["headers"])["x-customer-contact"] == PLANTED["email"]
        assert received["path"].endswith(f"?ref={PLANTED['email']}")  # as aiohttp decodes it
    entries = [await (await proxy.get(f"/v1/logs/{call_id}")).json() for call_id in ids]
    everything = database_bytes(db_path) + await _exported(proxy) + orjson.dumps(entries)
    assert _leaks(everything) == []
    # what is kept reads as the text did, each value in its place as its kind
    plain, streamed = entries
    for entry in entries:
        prompt = entry["request"]["body"]["messages"][0]["content"]
        assert prompt == ("Customer [email] paid with card:\n[card] from IBAN [iban], SSN [ssn], from [ip], "
                          "phone [phone], key [secret].")
        assert entry["metadata"]["custom"] == {"contact": "[email]", "card": "[card]"}
        assert dict(entry["request"]["headers"])["x-customer-contact"] == "[email]"
        assert entry["request"]["query"] == "ref=[email]"
        assert entry["pii"] == {"email": 2, "card": 2, "iban": 2, "ssn": 2, "ip": 2, "phone": 2, "secret": 2}
    assert plain["output"]["text"].startswith("Echo: Customer [email] paid with card: [card] from IBAN [iban]")
    assert plain["response"]["body"]["choices"][0]["message"]["content"] == plain["output"]["text"]
    # the stream sent the card number word by word, over four events: its raw events are not kept,
    # its assembled answer is
    assert streamed["output"]["text"] == plain["output"]["text"]
    assert not streamed["response"]["body"]


async def test_a_stream_whose_values_arrive_whole_keeps_its_events_redacted(make_proxy, fake, db_path):
    proxy = await make_proxy(privacy__redact=["email"])
    body = orjson.dumps({"model": "gpt-4o-mini", "stream": True,
                         "messages": [{"role": "user", "content": "write to ana.lopez@example.com today"}]})
    resp = await proxy.post(CHAT, data=body)
    raw = await resp.read()
    assert PLANTED["email"].encode() in raw  # the client got the answer as sent
    await flushed(proxy)
    entry = await (await proxy.get(f"/v1/logs/{resp.headers['x-llmlog-id']}")).json()
    assert entry["output"]["text"] == "Echo: write to [email] today"
    events = await (await proxy.get(f"/v1/logs/{entry['id']}/events")).json()
    texts = "".join(e["data"] for e in events["events"])
    assert "[email]" in texts and "ana.lopez" not in texts
    assert len(events["events"]) == raw.count(b"data:")  # the timeline still cuts the body into its events
    assert PLANTED["email"].encode() not in database_bytes(db_path)


async def test_the_spill_file_holds_redacted_entries_only(make_proxy, db_path, failing_writes):
    proxy = await make_proxy(privacy__redact=KINDS)
    ids = await _planted_calls(proxy)
    await flushed(proxy)  # the writes fail: the entries go to the spill file
    spilled = open(spill_path_for(db_path), "rb").read()
    assert b"[email]" in spilled and _leaks(spilled) == []
    failing_writes["on"] = False
    await wait_until(lambda: sorted(stored_ids(db_path)) == sorted(ids))
    assert _leaks(database_bytes(db_path)) == []


async def test_unredacted_kinds_are_kept_and_the_pii_counts_are_of_the_text_as_sent(make_proxy, db_path):
    proxy = await make_proxy(privacy__redact=["card"])
    ids = await _planted_calls(proxy)
    await flushed(proxy)
    entry = await (await proxy.get(f"/v1/logs/{ids[0]}")).json()
    prompt = entry["request"]["body"]["messages"][0]["content"]
    assert "[card]" in prompt and PLANTED["email"] in prompt and PLANTED["iban"] in prompt
    assert entry["pii"]["card"] == 2
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM calls WHERE pii IS NOT NULL").fetchone()[0] == 2


async def test_a_body_cut_at_the_cap_is_redacted_as_text_escapes_and_all(make_proxy, db_path):
    proxy = await make_proxy(privacy__redact=KINDS, store__max_body_bytes=200)
    long_prompt = PROMPT + " filler" * 100
    resp = await proxy.post(CHAT, data=orjson.dumps({"model": "gpt-4o-mini", "messages": [
        {"role": "user", "content": long_prompt}]}))
    assert resp.status == 200
    await flushed(proxy)
    entry = await (await proxy.get(f"/v1/logs/{resp.headers['x-llmlog-id']}")).json()
    assert entry["request"]["truncated"] and len(entry["request"]["body"]) <= 200
    # JSON cut short is redacted as its text, escapes read as what they stand for
    assert "card:\\n[card] from IBAN [iban], SSN [ssn], from [ip], phone [phone]" in entry["request"]["body"]
    assert _leaks(database_bytes(db_path) + orjson.dumps(entry)) == []


async def test_a_large_call_is_built_off_the_event_loop(make_proxy):
    import threading

    from llmlog.proxy.app import Seams
    from llmlog.proxy.pipeline.interpret import build_entry

    threads = []

    def watched(call, prices, max_body_bytes, privacy):
        threads.append(threading.current_thread())
        return build_entry(call, prices, max_body_bytes, privacy)

    proxy = await make_proxy(seams=Seams(build_entry=watched), privacy__redact=KINDS)
    for size in (10, 300_000):
        body = orjson.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x" * size}]})
        assert (await proxy.post(CHAT, data=body)).status == 200
    await flushed(proxy)
    assert [t is threading.main_thread() for t in threads] == [True, False]


async def test_a_value_in_a_header_alone_is_redacted(make_proxy, db_path):
    proxy = await make_proxy(privacy__redact=["email"])
    resp = await proxy.post(CHAT, data=orjson.dumps({"model": "gpt-4o-mini", "messages": [
        {"role": "user", "content": "nothing personal here"}]}), headers={"x-customer-contact": PLANTED["email"]})
    assert resp.status == 200
    await flushed(proxy)
    entry = await (await proxy.get(f"/v1/logs/{resp.headers['x-llmlog-id']}")).json()
    assert dict(entry["request"]["headers"])["x-customer-contact"] == "[email]"
    assert PLANTED["email"].encode() not in database_bytes(db_path)


async def test_a_cut_body_written_with_unicode_escapes_is_read_as_its_text(make_proxy, db_path):
    """Python's json.dumps writes `号4352…` as `\\u53f74352…` and may write `@` as `\\u0040`: in the raw bytes
    the card number follows a hex digit and the address has no `@`."""
    proxy = await make_proxy(privacy__redact=KINDS, store__max_body_bytes=300)
    text = f"客户号{PLANTED['card']}，号{PLANTED['secret']} 邮件{PLANTED['email']}"
    body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text},
                                                            {"role": "user", "content": "filler " * 200}]})
    body = body.replace("@", "\\u0040")
    resp = await proxy.post(CHAT, data=body.encode(), headers={"Content-Type": "application/json"})
    assert resp.status == 200
    await flushed(proxy)
    entry = await (await proxy.get(f"/v1/logs/{resp.headers['x-llmlog-id']}")).json()
    stored = entry["request"]["body"]
    assert entry["request"]["truncated"] and "\\u53f7[card]\\uff0c\\u53f7[secret] \\u90ae\\u4ef6[email]" in stored
    assert _leaks(database_bytes(db_path) + orjson.dumps(entry)) == []


async def test_the_query_path_form_body_and_body_user_are_redacted(make_proxy, fake, db_path):
    proxy = await make_proxy(privacy__redact=KINDS)
    query = f"{PLANTED['email']}&name={PLANTED['ssn']}&{PLANTED['card'].replace(' ', '%20')}=1"
    form = f"email={PLANTED['email'].replace('@', '%40')}&card={PLANTED['card'].replace(' ', '+')}"
    resp = await proxy.post(f"/v1/files/{PLANTED['email']}/{PLANTED['card'].replace(' ', '')}?{query}",
                            data=form, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 200
    chat = orjson.dumps({"model": "gpt-4o-mini", "user": PLANTED["email"],
                         "messages": [{"role": "user", "content": "hello"}]})
    chat_resp = await proxy.post(CHAT, data=chat)
    assert chat_resp.status == 200
    await flushed(proxy)
    assert fake.received[0]["body"] == form.encode()  # sent on as it came
    entry = await (await proxy.get(f"/v1/logs/{resp.headers['x-llmlog-id']}")).json()
    assert entry["path"] == "/v1/files/[email]/[card]"
    assert entry["request"]["query"] == "[email]&name=[ssn]&[card]=1"
    assert entry["request"]["body"] == "email=[email]&card=[card]"
    chat_entry = await (await proxy.get(f"/v1/logs/{chat_resp.headers['x-llmlog-id']}")).json()
    assert chat_entry["metadata"]["user_id"] == "[email]" and chat_entry["request"]["body"]["user"] == "[email]"
    everything = database_bytes(db_path) + orjson.dumps([entry, chat_entry]) + await _exported(proxy)
    assert _leaks(everything) == [] and b"ana.lopez%40" not in everything


async def test_escaped_values_in_bodies_that_are_not_json_and_numbers_and_body_tags(make_proxy, db_path):
    proxy = await make_proxy(privacy__redact=KINDS)
    email = PLANTED["email"]
    escaped = email.replace("@", "\\u0040")
    calls = [
        (b"note: " + escaped.encode(), "text/plain"),  # nothing else in the call holds anything
        (b'{"model": "gpt-4o-mini", "temperature": NaN, "note": "' + escaped.encode() + b'"}', "application/json"),
        (orjson.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}],
                       "metadata": {"tags": [email], "cc": 4111111111111111, "cc2": 4.111111111111111e15}}),
         "application/json"),
    ]
    ids = []
    for body, content_type in calls:
        resp = await proxy.post("/v1/chat/completions" if b"messages" in body else "/v1/notes", data=body,
                                headers={"Content-Type": content_type})
        ids.append(resp.headers["x-llmlog-id"])
    await flushed(proxy)
    entries = [await (await proxy.get(f"/v1/logs/{call_id}")).json() for call_id in ids]
    assert entries[0]["request"]["body"] == "note: [email]"
    assert "[email]" in entries[1]["request"]["body"] and "NaN" in entries[1]["request"]["body"]
    assert entries[2]["tags"] == ["[email]"] and entries[2]["request"]["body"]["metadata"]["cc"] == "[card]"
    assert entries[2]["request"]["body"]["metadata"]["cc2"] == "[card]"
    assert _leaks(database_bytes(db_path) + orjson.dumps(entries)) == []
    assert b"4111111111111111" not in database_bytes(db_path)


async def test_what_a_cut_went_through_is_not_kept(make_proxy, fake, db_path):
    proxy = await make_proxy(privacy__redact=KINDS, store__max_body_bytes=400)
    # the answer echoes the prompt; over twenty lengths of filler, its JSON is cut at 400 bytes
    # inside the card number at least once
    ids = []
    for pad in range(200, 222):
        resp = await proxy.post(CHAT, data=chat_body(f"{'w' * pad} {PLANTED['card']} and then more words"))
        assert resp.status == 200
        ids.append(resp.headers["x-llmlog-id"])
    form = (f"email={PLANTED['email'].replace('@', '%40')}&card={PLANTED['card'].replace(' ', '+')}&pad="
            + "x" * 3000)
    form_resp = await proxy.post("/v1/forms", data=form,
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    await flushed(proxy)
    for call_id in ids:
        entry = await (await proxy.get(f"/v1/logs/{call_id}")).json()
        assert entry["response"]["truncated"] and "4111" not in str(entry["response"]["body"]), call_id
    stored_form = (await (await proxy.get(f"/v1/logs/{form_resp.headers['x-llmlog-id']}")).json())["request"]["body"]
    assert stored_form.startswith("email=[email]&card=[card]&pad=x")
    assert _leaks(database_bytes(db_path)) == [] and b"4111" not in database_bytes(db_path)
