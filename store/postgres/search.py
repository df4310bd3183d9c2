"""Full-text search that finds what SQLite's FTS5 (tokenize unicode61) finds, on any server.

PostgreSQL's own parser splits text its own way (emails, URLs, `gpt-4o` and `3.14` are single
tokens there, and what counts as a letter depends on the server's locale), so `q=` would answer
differently per backend. Instead the writer splits prompt and output here, the way unicode61
does: a word is a run of letters and digits (anything else separates), lowercased, diacritics
removed. The words go in as a tsvector *literal* (lexeme:positions), which the server stores as
given; a GIN index on it answers `@@`. A query splits each user word the same way: a word of
several parts (`gpt-4o`) must match them in a row (`gpt <-> 4o`), as an FTS5 phrase does; every
word is required; a word with no letters or digits is ignored, and a query with none matches
nothing. The tsquery is built from these lexemes only, each quoted, and bound as a parameter:
user text never becomes query syntax.

Limits, where SQLite has none: only the first MAX_TEXT_CHARS of each text are indexed (a tsvector
holds at most 1 MB), positions past 16,383 count as 16,383 (phrases beyond it may match loosely),
a word matches at most its first 256 places, and a "word" over 2,046 bytes is not indexed
(PostgreSQL's limits).
"""

from __future__ import annotations

import re
import unicodedata

MAX_TEXT_CHARS = 200_000
MAX_POSITION = 16_383
MAX_POSITIONS = 256
MAX_WORD_BYTES = 2046
_WORD = re.compile(r"[^\W_]+")


def _fold(word: str) -> str:
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFD", word)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """unicode61's tokens of `text`: lowercased, diacritics removed."""
    return [_fold(w) for w in _WORD.findall(text.lower())]


def document(prompt: str | None, output: str | None) -> str | None:
    """The tsvector literal of a call's prompt and output (None when neither has a word). The
    output's positions start one past the prompt's, so a phrase never joins the two."""
    positions: dict[str, list[int]] = {}
    position = 0
    for text in (prompt, output):
        if not text:
            continue
        for word in words(text[:MAX_TEXT_CHARS]):
            position += 1
            if len(word) > MAX_WORD_BYTES // 4 and len(word.encode()) > MAX_WORD_BYTES:
                continue  # PostgreSQL keeps no longer word (its own parser skips them too)
            where = positions.get(word)
            if where is None:
                positions[word] = [min(position, MAX_POSITION)]
            elif len(where) < MAX_POSITIONS:
                where.append(min(position, MAX_POSITION))
        position += 1
    if not positions:
        return None
    # the words are letters and digits only: no quote or backslash needs escaping
    return " ".join(f"'{word}':{','.join(map(str, dict.fromkeys(where)))}" for word, where in positions.items())


def query(text: str) -> str | None:
    """The tsquery literal for `q=`: every word required, a word's parts in a row; None when no
    word has letters or digits (FTS5 then matches nothing)."""
    phrases = []
    for raw in text.split():
        parts = words(raw)
        if any(len(part.encode()) > MAX_WORD_BYTES for part in parts):
            return None  # never indexed, so never found
        if parts:
            phrases.append("(" + " <-> ".join(f"'{part}'" for part in parts) + ")")
    return " & ".join(phrases) or None
