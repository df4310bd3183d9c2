"""Content encrypted at rest (issue 21): sealing a content row before it is written anywhere, and
opening it again on every read. Pure functions over typed values; no I/O but the random nonces.

A `Keyring` (store/keyring.py) holds the configured 256-bit keys, newest first: the newest seals,
every one opens (rotation). Each key is known by an id derived from it, never by the key, and the id is
what a row records in `call_content.key_id` (SQLite m021, PostgreSQL m009; NULL = clear). A sealed
value is AES-256-GCM with a fresh 96-bit random nonce: bytes columns (bodies, compressed first by
store/bodies.py `pack`) hold `nonce || ciphertext || tag`, text columns the same in standard base64,
ASCII, so PostgreSQL's text columns take it. The associated data binds each value to its call id
and column: a value moved to another row or column fails to open instead of showing the wrong
content. Metrics, ids, labels and the m014 measures stay clear, so lists, filters, sorts and
aggregates read them as before.

Export files are sealed in frames (`seal_frame`/`open_frame`), one per chunk the store serves, bound
to the job id, the chunk's index and whether it is the last, so a file cannot be cut short, reordered
or have another job's frames spliced in without failing to open.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence
from typing import IO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .bodies import COMPRESS_FROM_BYTES, pack, unpack_row
from .filters import LogFilter
from .interface import Store, StoreError
from .keyring import Keyring
from .rows import SEALED_BYTES, SEALED_COLUMNS, SEALED_TEXT, ContentRow, Preview, Row, as_content, as_preview

NONCE_BYTES = 12  # 96 bits, GCM's own size: random per value
TAG_BYTES = 16
FRAME_MAGIC = b"\x00LLX"  # no JSON, CSV or Parquet file starts with a NUL
FRAME_OVERHEAD = len(FRAME_MAGIC) + 8 + NONCE_BYTES + TAG_BYTES  # magic, key id, nonce, tag


class UnsealError(Exception):
    """Stored content that cannot be opened: under a key not configured, or changed since it was
    sealed. The message names the call (or export) and says which."""


class KeysMissing(StoreError):
    """The store holds content under key ids no configured key has: refused at start, so content is
    never taken for lost nor written under a key next to one nobody holds."""


class SearchOff(StoreError):
    """A full-text search asked of a store whose content is encrypted: refused (a 400 in the API)."""


SEARCH_OFF = ("full-text search is off: content is encrypted at rest (privacy.encryption_key_env / "
              "privacy.encryption_key_file), and an index of its words would keep it in clear; filter by "
              "model, user, tags, labels or time instead")


def _associated(call_id: str, column: str) -> bytes:
    return b"llmlog content v1\x00" + call_id.encode("utf-8", "surrogatepass") + b"\x00" + column.encode()


def _seal(cipher: AESGCM, data: bytes, associated: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + cipher.encrypt(nonce, data, associated)


def _open(cipher: AESGCM, sealed: bytes, associated: bytes) -> bytes:
    return cipher.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated)


def seal(content: ContentRow, keyring: Keyring) -> ContentRow:
    """The content with every SEALED_COLUMNS value encrypted under the newest key and `key_id` set;
    content already sealed is returned as it is (a replayed spill is never sealed twice). Call on
    packed content (`pack` first): a sealed body does not compress. Never changes `content`."""
    if content.get("key_id") is not None:
        return content
    key = keyring.newest
    cipher = keyring.cipher(key.id)
    assert cipher is not None
    call_id = content["call_id"]
    sealed: Row = dict(content)
    for column in SEALED_BYTES:
        raw = sealed.get(column)
        if raw is not None:
            sealed[column] = _seal(cipher, raw, _associated(call_id, column))
    for column in SEALED_TEXT:
        text = sealed.get(column)
        if text is not None:
            blob = _seal(cipher, text.encode("utf-8", "surrogatepass"), _associated(call_id, column))
            sealed[column] = base64.b64encode(blob).decode("ascii")
    sealed["key_id"] = key.id
    return as_content(sealed)


def stored_form(content: ContentRow, keyring: Keyring | None,
                compress_from_bytes: int = COMPRESS_FROM_BYTES) -> ContentRow:
    """What the store and the spill file hold of a content row: bodies packed (store/bodies.py),
    then sealed when a keyring is configured. Content already sealed is returned as it is."""
    if content.get("key_id") is not None:
        return content
    packed = pack(content, compress_from_bytes)
    return packed if keyring is None else seal(packed, keyring)


def unseal(row: Row, keyring: Keyring | None, call_id: str) -> Row:
    """Open the row's sealed columns (those it has) in place and drop `key_id`; a row in clear
    (no `key_id`) is returned as it is. UnsealError when the key is not configured or a value was
    changed since it was sealed. Bodies stay packed: `unpack_row` follows (see `opened`)."""
    sealed_under = row.pop("key_id", None)
    if sealed_under is None:
        return row
    cipher = keyring.cipher(sealed_under) if keyring is not None else None
    if cipher is None:
        raise UnsealError(f"the content of call {call_id} is encrypted with key {sealed_under}, which is not "
                          "configured (privacy.encryption_key_env / privacy.encryption_key_file)")
    for column in SEALED_COLUMNS:
        value = row.get(column)
        if value is None:
            continue
        try:
            if column in SEALED_BYTES:
                row[column] = _open(cipher, bytes(value), _associated(call_id, column))
            else:
                row[column] = _open(cipher, base64.b64decode(value, validate=True),
                                    _associated(call_id, column)).decode("utf-8", "surrogatepass")
        except (InvalidTag, ValueError, binascii.Error):
            raise UnsealError(f"the content of call {call_id} cannot be decrypted ({column} under key "
                              f"{sealed_under}): it was changed since it was written") from None
    return row


def opened(row: Row, keyring: Keyring | None, call_id: str) -> Row:
    """A content or export row as every reader serves it: unsealed, then its bodies unpacked."""
    return unpack_row(unseal(row, keyring, call_id))


def opened_or_marked(row: Row, keyring: Keyring | None, call_id: str) -> Row:
    """`opened` for a row among many (a page's content): one that cannot be opened keeps no
    content and says why in `content_error`, so one tampered entry never fails the page."""
    try:
        return opened(row, keyring, call_id)
    except UnsealError as exc:
        for column in SEALED_COLUMNS:
            if column in row:
                row[column] = None
        row.pop("body_encoding", None)
        row["content_error"] = str(exc)
        return row


def opened_preview(call_id: str, values: Sequence[object], sealed_under: str | None, keyring: Keyring | None,
                   chars: int) -> Preview:
    """A list's preview from its values in Preview's order, the texts cut to `chars`. The database
    cuts texts in clear itself (only prefixes leave it); a sealed text comes whole, is opened and cut
    here. One that cannot be opened has no texts and says why in `content_error`."""
    if sealed_under is None:
        return as_preview(values)
    prompt, output, *measures = values
    row: Row = {"prompt_text": prompt, "output_text": output, "key_id": sealed_under}
    try:
        unseal(row, keyring, call_id)
    except UnsealError as exc:
        preview = as_preview([None, None, *measures])
        preview["content_error"] = str(exc)
        return preview
    texts = [None if row[c] is None else row[c][:chars] for c in ("prompt_text", "output_text")]
    return as_preview([*texts, *measures])


# -- rotation (`llmlog rekey`) ------------------------------------------------------------------------
RESEALED_COLUMNS = (*SEALED_COLUMNS, "body_encoding", "key_id")  # what resealing a stored row rewrites


def resealed(row: Row, keyring: Keyring, call_id: str, compress_from_bytes: int = COMPRESS_FROM_BYTES) -> Row:
    """A stored content row's RESEALED_COLUMNS under the newest key: opened with whichever key sealed
    it (or taken as it is when in clear), bodies packed, sealed again. UnsealError when it cannot be
    opened. `row` is not changed."""
    clear = unseal(dict(row), keyring, call_id)  # bodies stay packed: `pack` leaves them as they are
    content: Row = {column: clear.get(column) for column in (*SEALED_COLUMNS, "body_encoding")}
    content["call_id"] = call_id
    new = stored_form(as_content(content), keyring, compress_from_bytes)
    return {column: new.get(column) for column in RESEALED_COLUMNS}


def rekeying(keyring: Keyring | None) -> Keyring:
    """The keyring `Store.rekey` seals with; StoreError when none is configured."""
    if keyring is None:
        raise StoreError("llmlog rekey needs an encryption key: set privacy.encryption_key_env or "
                         "privacy.encryption_key_file")
    return keyring


def verify_keys(store: Store) -> None:
    """The check at start (serve, and every CLI command that reads content): KeysMissing, one line,
    when the store holds content under a key id none of the store's keys has. Ids whose content is
    all gone (pruned, erased) are forgotten first, so only content that is really there stops a start."""
    missing = missing_keys(store.content_keys(), store.keyring)
    if missing:
        store.forget_keys(missing)
        check_keys(store.content_keys(), store.keyring, store.location)


def refuse_search(f: LogFilter, keyring: Keyring | None) -> None:
    """SearchOff when `f` asks for a full-text search of encrypted content."""
    if f.text and keyring is not None:
        raise SearchOff(SEARCH_OFF)


def missing_keys(stored_ids: set[str], keyring: Keyring | None) -> list[str]:
    """The key ids the store holds content under that no configured key has, sorted."""
    return sorted(stored_ids - (keyring.ids if keyring is not None else frozenset()))


def check_keys(stored_ids: set[str], keyring: Keyring | None, where: str) -> None:
    """KeysMissing, in one line naming the ids and what to set, when content would be unreadable."""
    missing = missing_keys(stored_ids, keyring)
    if not missing:
        return
    ids = ", ".join(missing)
    if keyring is None:
        raise KeysMissing(f"{where} holds content encrypted with key id(s) {ids}, but no encryption key is "
                          "configured: set privacy.encryption_key_env (or privacy.encryption_key_file) to "
                          "those keys")
    raise KeysMissing(f"{where} holds content encrypted with key id(s) {ids}, which no configured key has "
                      f"(configured: {', '.join(k.id for k in keyring.keys)}): add those keys after the newest "
                      "in privacy.encryption_key_env / privacy.encryption_key_file, and run `llmlog rekey` "
                      "before removing them")


# -- export files ------------------------------------------------------------------------------------
def _frame_associated(job_id: str, index: int, last: bool) -> bytes:
    return b"llmlog export v1\x00%s\x00%d\x00%d" % (job_id.encode(), index, int(last))


def seal_frame(keyring: Keyring, job_id: str, index: int, chunk: bytes, last: bool) -> bytes:
    """Chunk `index` of an export file, sealed under the newest key: magic, key id, nonce, ciphertext."""
    key = keyring.newest
    cipher = keyring.cipher(key.id)
    assert cipher is not None
    return FRAME_MAGIC + key.id.encode("ascii") + _seal(cipher, chunk, _frame_associated(job_id, index, last))


def is_sealed_file(start: bytes) -> bool:
    """Whether a file (its first bytes) holds sealed frames."""
    return start.startswith(FRAME_MAGIC)


def open_frame(keyring: Keyring | None, job_id: str, index: int, frame: bytes, chunk_bytes: int) -> bytes:
    """The chunk a frame holds. A frame holding less than `chunk_bytes` is the file's last; a file
    always ends with one (maybe empty), so a missing frame (b"") is a file cut short."""
    if len(frame) < FRAME_OVERHEAD or not frame.startswith(FRAME_MAGIC):
        raise UnsealError(f"export {job_id}: its encrypted file is cut short or damaged at chunk {index}")
    sealed_under = frame[len(FRAME_MAGIC):len(FRAME_MAGIC) + 8].decode("ascii", "replace")
    cipher = keyring.cipher(sealed_under) if keyring is not None else None
    if cipher is None:
        raise UnsealError(f"export {job_id} is encrypted with key {sealed_under}, which is not configured")
    sealed = frame[len(FRAME_MAGIC) + 8:]
    last = len(sealed) - NONCE_BYTES - TAG_BYTES < chunk_bytes
    try:
        return _open(cipher, sealed, _frame_associated(job_id, index, last))
    except InvalidTag:
        raise UnsealError(f"export {job_id} cannot be decrypted at chunk {index}: the file was changed") from None


class SealedWriter:
    """A binary file-like that writes an export file as sealed frames: each `chunk_bytes` of what is
    written becomes one frame, and `close` writes the last, shorter one (maybe empty), so a reader
    serves chunk `index` by opening frame `index` alone (`open_frame`)."""

    def __init__(self, out: IO[bytes], keyring: Keyring, job_id: str, chunk_bytes: int):
        self.out, self.keyring, self.job_id, self.chunk_bytes = out, keyring, job_id, chunk_bytes
        self._buffer = bytearray()
        self._index = 0

    def write(self, data: bytes) -> int:
        self._buffer += data
        while len(self._buffer) >= self.chunk_bytes:  # a whole chunk is never the last: an empty frame follows
            self._frame(bytes(self._buffer[:self.chunk_bytes]), last=False)
            del self._buffer[:self.chunk_bytes]
        return len(data)

    def _frame(self, chunk: bytes, last: bool) -> None:
        self.out.write(seal_frame(self.keyring, self.job_id, self._index, chunk, last))
        self._index += 1

    def close(self) -> None:
        """Write the last frame; the file itself is the caller's to close."""
        self._frame(bytes(self._buffer), last=True)
        self._buffer.clear()


def frame_bytes(chunk_bytes: int) -> int:
    """The size on disk of a frame holding a whole chunk: where frame `index` starts is index times it."""
    return chunk_bytes + FRAME_OVERHEAD
