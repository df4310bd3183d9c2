"""Raw text that may hold JSON escapes, read as a person reads it: `\\u0040` is an `@`, `\\n` a line
break. A body cut short at the store's cap is no longer JSON a parser takes, yet its values must
be found; each character read keeps where it stands in the raw text, so a value found is replaced
there, escapes and all. Pure.
"""

from __future__ import annotations

import bisect
import re


def read_text(data: bytes) -> str:
    """Bytes as redaction reads them: UTF-8, JSON escapes read (`\\u0040` is an `@`)."""
    text = data.decode("utf-8", "surrogateescape")
    return Unescaped(text).text if "\\" in text else text


_JSON_ESCAPE = re.compile(r'\\(?:u[0-9A-Fa-f]{4}|[nrtbf"\\/])')
_ESCAPED = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "\\": "\\", "/": "/"}


class Unescaped:
    """Text with its JSON escapes read, and where each of its characters stands in the raw text."""

    def __init__(self, raw: str):
        pieces: list[str] = []
        self._starts: list[int] = []  # where each piece starts in `text`
        self._raw: list[tuple[int, int]] = []  # the raw span of each piece
        self._escape: list[bool] = []  # the piece is one escape (one character for several raw ones)
        at = size = 0
        for m in _JSON_ESCAPE.finditer(raw):
            if m.start() > at:
                self._piece(pieces, raw[at:m.start()], size, (at, m.start()), False)
                size += m.start() - at
            code = m.group()
            self._piece(pieces, chr(int(code[2:], 16)) if code[1] == "u" else _ESCAPED[code[1]], size,
                        m.span(), True)
            size += 1
            at = m.end()
        if at < len(raw):
            self._piece(pieces, raw[at:], size, (at, len(raw)), False)
        self.text = "".join(pieces)

    def _piece(self, pieces: list[str], text: str, start: int, raw: tuple[int, int], escape: bool) -> None:
        pieces.append(text)
        self._starts.append(start)
        self._raw.append(raw)
        self._escape.append(escape)

    def _raw_of(self, index: int) -> tuple[int, int]:
        """The raw span of the character at `index` of `text`."""
        k = bisect.bisect_right(self._starts, index) - 1
        raw_start, raw_end = self._raw[k]
        if self._escape[k]:
            return raw_start, raw_end
        at = raw_start + index - self._starts[k]
        return at, at + 1

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """The raw span of `text[start:end]` (not empty)."""
        return self._raw_of(start)[0], self._raw_of(end - 1)[1]
