"""How deeply a parsed JSON value nests: pure, shared by the control headers (a bound on
x-llmlog-metadata) and the entries the API shows (bodies and outputs deeper than JSON can be
written back at are shown as their text)."""

from __future__ import annotations

# orjson writes at most 254 nested levels (and reads 1024): a stored body nested deeper parses
# but its entry could not be answered. Bodies shown parsed stay this shallow, leaving the levels
# above for the answer around them (an entry's `request.body`, an export record's field).
SHOWN_DEPTH = 200


def depth(value) -> int:
    """How deeply lists and objects nest in a parsed JSON value (a walk, not recursion)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict):
            item = item.values()
        elif not isinstance(item, list):
            continue
        deepest = max(deepest, level)
        pending.extend((child, level + 1) for child in item)
    return deepest


def too_deep_to_show(raw: bytes | str, value) -> bool:
    """Whether `value`, parsed from `raw`, nests past SHOWN_DEPTH. A text with no more brackets
    than the bound cannot, which spares the walk for nearly every body."""
    text = raw.decode("latin-1") if isinstance(raw, bytes) else raw  # brackets are ASCII: a byte a character
    if text.count("[") + text.count("{") <= SHOWN_DEPTH:
        return False
    return depth(value) > SHOWN_DEPTH
