"""The one true/false vocabulary: settings (file, env, flags), the logs API's bool parameters, control headers.

DESIGN §3 names `x-debug: false` (also `0`, `no`, `off`): FALSE_WORDS is that list, TRUE_WORDS its mirror.
Case and surrounding spaces never matter; any other word is refused everywhere (in a do-not-track
header, a 400: a privacy control must not fail open on a typo).
"""

from __future__ import annotations

# each true word beside its opposite, in the order docs/settings.md lists them
PAIRS = (("true", "false"), ("1", "0"), ("yes", "no"), ("on", "off"))
TRUE_WORDS = frozenset(true for true, _ in PAIRS)
FALSE_WORDS = frozenset(false for _, false in PAIRS)
WORDS_TEXT = ", ".join(f"{true}/{false}" for true, false in PAIRS)  # for messages: "true/false, 1/0, ..."


def parse_bool(text: str) -> bool:
    """True or False for a word of either set; ValueError for any other text."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(text)

