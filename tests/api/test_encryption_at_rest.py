"""Content encrypted at rest (issue 21): what a call said reaches no file in clear (database, WAL,
spill file; PostgreSQL's columns), the API and the CLI show it decrypted, a missing or wrong key
stops a start in one line, `llmlog rekey` rotates, search is refused, a tampered value fails its
entry alone."""

from __future__ import annotations

import base64
import os
import sqlite3
from contextlib import closing

import orjson
import pytest
from click.testing import CliRunner

from llmlog import cli
from llmlog.proxy.app import Seams
from llmlog.store.backends import is_postgres, open_store
from llmlog.store.keyring import Keyring, key_id
from llmlog.store.sealing import UnsealError
from tests.api.test_export import _wait_done
from tests.conftest import chat_body, database_bytes, export_file_bytes, flushed, replay_spill_now
from tests.fakes.faulty_store import opener
from tests.fakes.seeding import make_entry, seed

CHAT = "/v1/chat/completions"
KEY_A = "a1" * 32  # hex
KEY_B = base64.b64encode(bytes(range(32))).decode()  # base64, 44 characters
A, B = key_id(bytes.fromhex(KEY_A)), key_id(bytes(range(32)))
KEYRING_A = Keyring.of([bytes.fromhex(KEY_A)])
PROMPT, ANSWER, HEADER, STREAMED = "PromptPlant7Zebra", "AnswerPlant3Okapi", "HeaderPlant5Lynx", "StreamPlant9Ibis"
PLANTS = (PROMPT, ANSWER, HEADER, STREAMED)
FILE_ENV = "LLMLOG_PRIVACY_ENCRYPTION_KEY_FILE"


def key_file(tmp_path, *keys: str, name: str = "content.key") -> str:
    path = tmp_path / name
    path.write_text("\n".join(keys) + "\n")
    os.chmod(path, 0o600)
    return str(path)


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli.main, list(args), env={FILE_ENV: None, **(env or {})}, catch_exceptions=False)


async def plant(proxy, fake) -> dict[str, str]:
    """A JSON call (prompt, answer, a header) and a streamed one, each with its planted words."""
    fake.replies[f"tell me about {PROMPT}"] = f"it is an {ANSWER}"
    resp = await proxy.post(CHAT, data=chat_body(f"tell me about {PROMPT}"), headers={"x-note": HEADER})
    assert resp.status == 200 and ANSWER in (await resp.text())
    ids = {"json": resp.headers["x-llmlog-id"]}
    resp = await proxy.post(CHAT, data=chat_body(f"sing {STREAMED}", stream=True))
    assert STREAMED.encode() in await resp.read()  # the echo streams it back
    ids["stream"] = resp.headers["x-llmlog-id"]
    return ids


def raw_store(db_path: str) -> bytes:
    """What a look at the stored bytes sees: SQLite's files (database, WAL, spill), or every column of
    PostgreSQL's content and calls rows read with plain SQL (bytea as bytes, the search document as text)."""
    if not is_postgres(db_path):
        return database_bytes(db_path)
    from llmlog.store.postgres.connect import connect
    out = []
    with closing(connect(db_path)) as conn:
        for table in ("call_content", "calls"):
            for row in conn.execute(f"SELECT * FROM {table}"):
                out += [v if isinstance(v, bytes) else str(v).encode() for v in row if v is not None]
    return b"\n".join(out)


def assert_no_plant(raw: bytes) -> None:
    for word in PLANTS:  # as written, and as a search index keeps its words (lower case)
        assert word.encode() not in raw and word.lower().encode() not in raw, word


@pytest.mark.sqlite_only  # the spill file: failing_writes fails SQLite's writer
@pytest.mark.parametrize("encrypted", [True, False])
async def test_no_plant_in_the_spill_file_database_or_wal(make_proxy, fake, db_path, tmp_path, store_faults,
                                                          failing_writes, encrypted):
    # bodies stored unpacked (never compressed), so a grep would see any body kept in clear
    seams = Seams(open_store=opener(db_path, store_faults, compress_from_bytes=1 << 40))
    keys = {"privacy__encryption_key_file": key_file(tmp_path, KEY_A)} if encrypted else {}
    proxy = await make_proxy(seams=seams, **keys)
    ids = await plant(proxy, fake)
    await flushed(proxy)
    spilled = open(db_path + ".spill", "rb").read()
    assert spilled.count(b"\n") == 2  # both entries wait in the spill file
    if not encrypted:  # the control: without a key every planted word is there to find
        assert all(word.encode() in spilled for word in PLANTS)
        return
    assert_no_plant(spilled)
    failing_writes["on"] = False
    await replay_spill_now(proxy)
    assert_no_plant(database_bytes(db_path))  # database, its WAL, what is left of the spill
    entry = await (await proxy.get(f"/v1/logs/{ids['json']}")).json()
    assert entry["output"]["text"] == f"it is an {ANSWER}"  # sealed once: the replay did not seal it again


@pytest.mark.backends
async def test_stored_sealed_and_served_decrypted(make_proxy, fake, db_path, tmp_path, backend):
    keys = key_file(tmp_path, KEY_A)
    proxy = await make_proxy(privacy__encryption_key_file=keys)
    ids = await plant(proxy, fake)
    await flushed(proxy)
    raw = raw_store(db_path)
    assert_no_plant(raw)
    assert A.encode() in raw  # each entry records its key's id (never the key)
    assert KEY_A.encode() not in raw and bytes.fromhex(KEY_A) not in raw

    entry = await (await proxy.get(f"/v1/logs/{ids['json']}")).json()
    assert entry["prompt"]["text"] == f"tell me about {PROMPT}"
    assert entry["output"]["text"] == f"it is an {ANSWER}"
    assert ["x-note", HEADER] in entry["request"]["headers"]
    assert entry["request"]["body"]["messages"][0]["content"] == f"tell me about {PROMPT}"
    streamed = await (await proxy.get(f"/v1/logs/{ids['stream']}")).json()
    assert streamed["output"]["text"] == f"Echo: sing {STREAMED}"
    events = await (await proxy.get(f"/v1/logs/{ids['stream']}/events")).json()
    assert any(STREAMED in str(event["data"]) for event in events["events"])
    listed = await (await proxy.get("/v1/logs")).json()
    previews = {e["id"]: (e["prompt"]["text"], e["output"]["text"]) for e in listed["logs"]}
    assert previews == {ids["json"]: (f"tell me about {PROMPT}", f"it is an {ANSWER}"),
                        ids["stream"]: (f"sing {STREAMED}", f"Echo: sing {STREAMED}")}

    env = {FILE_ENV: keys}
    shown = run("show", ids["json"], "--db", db_path, env=env)
    assert shown.exit_code == 0, shown.output
    assert PROMPT in shown.output and ANSWER in shown.output and HEADER in shown.output
    table = run("logs", "--db", db_path, env=env)
    assert table.exit_code == 0 and PROMPT in table.output and STREAMED in table.output


def one_line_error(result, *words: str) -> str:
    assert result.exit_code != 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.output
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.mark.backends
def test_a_missing_or_wrong_key_stops_a_start_in_one_line(db_path, tmp_path):
    (call_id,) = seed(db_path, [make_entry(1_700_000_000_000, prompt="sealed with A")], KEYRING_A)
    for command in (["show", call_id], ["logs"], ["export", "-o", str(tmp_path / "out.jsonl")], ["rekey"]):
        missing = run(*command, "--db", db_path)
        one_line_error(missing, A, "no encryption key is configured", "privacy.encryption_key_env")
        wrong = run(*command, "--db", db_path, env={FILE_ENV: key_file(tmp_path, KEY_B)})
        one_line_error(wrong, A, "no configured key has", B)
    # commands that show no content still run
    assert run("summary", "--db", db_path).exit_code == 0
    right = run("show", call_id, "--db", db_path, env={FILE_ENV: key_file(tmp_path, KEY_A)})
    assert right.exit_code == 0 and "sealed with A" in right.output


@pytest.mark.parametrize("env, words", [
    ({"LLMLOG_PRIVACY_ENCRYPTION_KEY_ENV": "LLMLOG_TEST_KEY"}, ["LLMLOG_TEST_KEY", "unset"]),
    ({"LLMLOG_PRIVACY_ENCRYPTION_KEY_ENV": "LLMLOG_TEST_KEY", "LLMLOG_TEST_KEY": " "}, ["LLMLOG_TEST_KEY", "empty"]),
    ({"LLMLOG_PRIVACY_ENCRYPTION_KEY_ENV": "LLMLOG_TEST_KEY", "LLMLOG_TEST_KEY": "abc123"},
     ["privacy.encryption_key_env (LLMLOG_TEST_KEY): key 1 of 1 is malformed", "64 hex digits"]),
    ({"LLMLOG_PRIVACY_ENCRYPTION_KEY_ENV": "LLMLOG_TEST_KEY", "LLMLOG_TEST_KEY": f"{KEY_A},{KEY_B[:-2]}"},
     ["key 2 of 2 is malformed"]),
    ({FILE_ENV: "/nonexistent/content.key"}, ["privacy.encryption_key_file", "cannot be read"]),
])
def test_a_malformed_or_unreadable_key_is_one_line(tmp_path, env, words):
    result = run("logs", "--db", str(tmp_path / "llmlog.db"), env={"LLMLOG_TEST_KEY": None, **env})
    line = one_line_error(result, *words)
    assert "abc123" not in line and KEY_A not in line  # never a key's value


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_a_key_file_others_can_read_is_refused(tmp_path, mode):
    path = key_file(tmp_path, KEY_A)
    os.chmod(path, mode)
    one_line_error(run("logs", "--db", str(tmp_path / "llmlog.db"), env={FILE_ENV: path}), "chmod 600", f"{mode:04o}")


@pytest.mark.parametrize("setting", ["LLMLOG_PRIVACY_ENCRYPTION_KEY_ENV", FILE_ENV])
def test_a_key_given_where_its_name_or_path_belongs_is_never_echoed(tmp_path, setting):
    near_keys = [KEY_A[:-1], KEY_B.rstrip("=")[:-1]]  # a digit lost, or base64 cut short
    if setting != FILE_ENV:  # a path may hold any character: only a variable's name is held to a shape
        near_keys += [f"key={KEY_A}", "ab/" + KEY_B[3:-1]]
    for key in (KEY_A, KEY_B, f"{KEY_A},{KEY_B}", *near_keys):
        line = one_line_error(run("logs", "--db", str(tmp_path / "llmlog.db"), env={setting: key}), "key")
        assert KEY_A not in line and KEY_B not in line and KEY_A[:16] not in line


def test_serve_with_a_missing_key_exits_with_one_line(tmp_path):
    from tests.cli.test_serve_startup import _free_port, _one_clear_line, _serve
    db = str(tmp_path / "llmlog.db")
    seed(db, [make_entry(1_700_000_000_000, prompt="sealed with A")], KEYRING_A)
    _one_clear_line(_serve(tmp_path, db, _free_port()), A, "no encryption key is configured")
    _one_clear_line(_serve(tmp_path, db, _free_port(), **{FILE_ENV: key_file(tmp_path, KEY_B)}), A, B)


@pytest.mark.backends
def test_rekey_moves_every_entry_to_the_newest_key_and_the_old_one_can_go(db_path, tmp_path, backend):
    now = 1_700_000_000_000
    clear = seed(db_path, [make_entry(now + i, prompt=f"ClearWord{i} before encryption") for i in range(2)])
    under_a = seed(db_path, [make_entry(now + 10 + i, prompt=f"SealedWord{i} under A", output="x" * 3000)
                             for i in range(3)], KEYRING_A)
    both = {FILE_ENV: key_file(tmp_path, KEY_B, KEY_A, name="both.key")}
    result = run("rekey", "--db", db_path, env=both)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"encrypted 2 entries stored in clear and 3 entries under older keys with key {B}",
        f"forgot key id(s) {A}: their keys can be removed from the configuration"]
    only_b = {FILE_ENV: key_file(tmp_path, KEY_B, name="b.key")}
    prompts = ["ClearWord0", "ClearWord1", "SealedWord0", "SealedWord1", "SealedWord2"]
    for call_id, prompt in zip(clear + under_a, prompts, strict=True):
        shown = run("show", call_id, "--db", db_path, "--json", env=only_b)
        assert shown.exit_code == 0, shown.output
        assert prompt in shown.output
    store = open_store(db_path, create=False)
    try:
        assert store.content_keys() == {B}
    finally:
        store.close()
    if backend == "sqlite":  # the entries from before encryption left the search index and the files
        raw = database_bytes(db_path)
        assert b"ClearWord0" not in raw and b"clearword0" not in raw
        with closing(sqlite3.connect(db_path)) as conn:
            assert conn.execute("SELECT count(*) FROM call_search").fetchone()[0] == 0
    again = run("rekey", "--db", db_path, env=only_b)
    assert again.stdout.splitlines() == [
        f"encrypted 0 entries stored in clear and 0 entries under older keys with key {B}"]


@pytest.mark.backends
def test_rekey_can_drop_what_cannot_be_decrypted_so_the_old_key_can_go(db_path, tmp_path, backend):
    now = 1_700_000_000_000
    good, broken = seed(db_path, [make_entry(now + i, prompt=f"SealedWord{i} under A") for i in range(2)], KEYRING_A)
    tamper(db_path, broken)
    both = {FILE_ENV: key_file(tmp_path, KEY_B, KEY_A, name="both.key")}
    refused = run("rekey", "--db", db_path, env=both)
    assert refused.exit_code == 1 and refused.output.splitlines()[-1].startswith("Error: 1 entry could not be ")
    assert broken in refused.output and "--drop-unreadable" in refused.output
    dropped = run("rekey", "--db", db_path, "--drop-unreadable", env=both)
    assert dropped.exit_code == 0, dropped.output
    assert f"removed the content of 1 entry that could not be decrypted: {broken}" in dropped.stdout
    assert f"forgot key id(s) {A}" in dropped.stdout
    only_b = {FILE_ENV: key_file(tmp_path, KEY_B, name="b.key")}
    assert "SealedWord0" in run("show", good, "--db", db_path, "--json", env=only_b).output
    shown = run("show", broken, "--db", db_path, "--json", env=only_b)
    assert shown.exit_code == 0 and orjson.loads(shown.output)["has_content"] is False


@pytest.mark.backends
async def test_search_is_refused_with_the_reason(make_proxy, db_path, tmp_path):
    proxy = await make_proxy(privacy__encryption_key_file=key_file(tmp_path, KEY_A))
    for path in ("/v1/logs", "/v1/logs/summary", "/v1/logs/export"):
        resp = await proxy.get(path, params={"q": "anything"})
        body = await resp.json()
        assert resp.status == 400, body
        assert "full-text search is off: content is encrypted at rest" in body["error"]["message"]
    assert (await proxy.get("/v1/logs")).status == 200  # without q the list works
    result = run("logs", "--db", db_path, "--search", "anything", env={FILE_ENV: key_file(tmp_path, KEY_A)})
    one_line_error(result, "full-text search is off")


def tamper(db_path: str, call_id: str) -> None:
    """Change one character of a sealed prompt as stored (a disk fault, or someone editing the rows)."""
    if is_postgres(db_path):
        from llmlog.store.postgres.connect import connect
        with closing(connect(db_path)) as conn, conn.transaction():
            conn.execute("UPDATE call_content SET prompt_text = overlay(prompt_text placing "
                         "CASE WHEN substr(prompt_text, 30, 1) = 'A' THEN 'B' ELSE 'A' END from 30 for 1) "
                         "WHERE call_id = %s", (call_id,))
        return
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute("UPDATE call_content SET prompt_text = substr(prompt_text, 1, 29) || "
                     "CASE WHEN substr(prompt_text, 30, 1) = 'A' THEN 'B' ELSE 'A' END || substr(prompt_text, 31) "
                     "WHERE call_id = ?", (call_id,))


@pytest.mark.backends
async def test_a_tampered_value_fails_its_entry_alone(make_proxy, fake, db_path, tmp_path):
    keys = key_file(tmp_path, KEY_A)
    proxy = await make_proxy(privacy__encryption_key_file=keys)
    ids = await plant(proxy, fake)
    await flushed(proxy)
    tamper(db_path, ids["json"])
    listed = await proxy.get("/v1/logs")
    assert listed.status == 200
    by_id = {e["id"]: e for e in (await listed.json())["logs"]}
    assert "cannot be decrypted" in by_id[ids["json"]]["content_error"] and by_id[ids["json"]]["prompt"] is None
    assert by_id[ids["stream"]]["prompt"]["text"] == f"sing {STREAMED}" and "content_error" not in by_id[ids["stream"]]
    broken = await proxy.get(f"/v1/logs/{ids['json']}")
    message = (await broken.json())["error"]["message"]
    assert broken.status == 500 and ids["json"] in message and "prompt_text" in message and A in message
    assert (await proxy.get(f"/v1/logs/{ids['stream']}")).status == 200
    one_line_error(run("show", ids["json"], "--db", db_path, env={FILE_ENV: keys}), "cannot be decrypted")
    # an export with content: the tampered entry has no content and says why; the others are whole
    exported = await proxy.get("/v1/logs/export", params={"format": "jsonl", "fields": "id,prompt_text"})
    assert exported.status == 200
    records = {r["id"]: r for r in map(orjson.loads, (await exported.read()).splitlines())}
    tampered = records[ids["json"]]
    assert tampered["prompt_text"] is None and "cannot be decrypted" in tampered["content_error"]
    assert records[ids["stream"]] == {"id": ids["stream"], "prompt_text": f"sing {STREAMED}"}
    csv = await proxy.get("/v1/logs/export", params={"format": "csv", "fields": "id,prompt_text"})
    assert csv.status == 200 and f"{ids['json']}," in await csv.text()
    cli_export = run("export", "--db", db_path, "--fields", "id,prompt_text", "--format", "jsonl",
                     env={FILE_ENV: keys})
    assert cli_export.exit_code == 0 and f"sing {STREAMED}" in cli_export.output


@pytest.mark.backends
async def test_an_export_job_file_is_encrypted_and_downloads_decrypted(make_proxy, fake, db_path, tmp_path):
    # small chunks: the file is several frames, each opened on its own as it is downloaded
    seams = Seams(open_store=opener(db_path, export_chunk_bytes=64))
    proxy = await make_proxy(seams=seams, privacy__encryption_key_file=key_file(tmp_path, KEY_A))
    ids = await plant(proxy, fake)
    await flushed(proxy)
    job = await (await proxy.post("/v1/logs/exports", json={
        "requested_data": ["id", "prompt_text", "output_text"], "format": "jsonl"})).json()
    assert (await proxy.post(f"/v1/logs/exports/{job['id']}/start")).status == 202
    done = await _wait_done(proxy, job["id"])
    assert done["status"] == "success", done
    download = await proxy.get(done["download_url"])
    assert download.status == 200
    records = {r["id"]: r for r in map(orjson.loads, (await download.read()).splitlines())}
    assert records[ids["json"]] == {"id": ids["json"], "prompt_text": f"tell me about {PROMPT}",
                                    "output_text": f"it is an {ANSWER}"}
    assert records[ids["stream"]]["output_text"] == f"Echo: sing {STREAMED}"
    if is_postgres(db_path):  # kept in the database, piece by piece
        from llmlog.store.postgres.connect import connect
        with closing(connect(db_path)) as conn:
            raw = b"".join(bytes(row[0]) for row in conn.execute("SELECT data FROM export_chunks"))
    else:
        raw = open(f"{db_path}.exports/{job['id']}.jsonl", "rb").read()
    assert raw.startswith(b"\x00LLX") and len(raw) > 3 * 64
    assert_no_plant(raw)
    with pytest.raises(UnsealError, match="not configured"):  # without the key the file stays closed
        export_file_bytes(db_path, job["id"])


def test_a_key_in_a_config_list_is_not_echoed(tmp_path):
    config = tmp_path / "llmlog.toml"
    config.write_text(f'[privacy]\nencryption_key_env = ["{KEY_A}"]\n')
    line = one_line_error(run("logs", "--config", str(config), "--db", str(tmp_path / "l.db")),
                          "privacy.encryption_key_env", "got a value of type list")
    assert KEY_A[:16] not in line


def test_a_key_file_may_hold_comments(tmp_path, db_path):
    path = key_file(tmp_path, "# rotated 2026-12-01: newest first", KEY_B, "  # the old one, until rekey", KEY_A)
    [call_id] = seed(db_path, [make_entry(1_700_000_000_000, prompt="sealed with A")], KEYRING_A)
    shown = run("show", call_id, "--db", db_path, env={FILE_ENV: path})
    assert shown.exit_code == 0 and "sealed with A" in shown.output
