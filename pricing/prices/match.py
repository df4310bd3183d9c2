"""Model-id match rules in llmlog's own small form, translated from genai-prices' match clauses.

genai-prices names the ids a model answers to with clauses (`equals`, `starts_with`, `ends_with`,
`contains`, `regex`, `or`, `and`). Plain `equals` ids become exact keys of the price table (a dict
lookup); what is left is kept here as a rule, tried only when no exact key matched. A rule is a
nested tuple, so the table holds no genai-prices object and a rule compares and hashes by value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Union

# ("equals" | "starts_with" | "ends_with" | "contains", text) | ("regex", compiled) |
# ("or" | "and", (rule, ...))
Rule = tuple[str, Union[str, "re.Pattern[str]", tuple["Rule", ...]]]

_LEAVES = {"equals", "starts_with", "ends_with", "contains", "regex"}


def translate(clause: Any) -> Rule:
    """A genai-prices clause object as a Rule (lower-case text; regexes compiled once)."""
    if hasattr(clause, "or_"):
        return ("or", tuple(translate(c) for c in clause.or_))
    if hasattr(clause, "and_"):
        return ("and", tuple(translate(c) for c in clause.and_))
    for kind in _LEAVES:
        if hasattr(clause, kind):
            value = getattr(clause, kind)
            if kind == "regex":
                return ("regex", re.compile(value))
            return (kind, str(value).lower())
    raise ValueError(f"unknown match clause {clause!r}")


def equals_ids(rule: Rule) -> Iterator[str]:
    """The ids a rule accepts by plain equality at its top level (`equals`, or `or` of them)."""
    kind, arg = rule
    if kind == "equals":
        yield arg  # type: ignore[misc]
    elif kind == "or":
        for sub in arg:  # type: ignore[union-attr]
            yield from equals_ids(sub)


def without_equals(rule: Rule) -> Rule | None:
    """The rule with its top-level `equals` parts removed (they are exact keys); None if empty."""
    kind, arg = rule
    if kind == "equals":
        return None
    if kind == "or":
        rest = tuple(r for r in (without_equals(sub) for sub in arg) if r is not None)  # type: ignore[union-attr]
        if not rest:
            return None
        return rest[0] if len(rest) == 1 else ("or", rest)
    return rule


def matches(rule: Rule, text: str) -> bool:
    """Does `rule` accept `text` (already lower-case)?"""
    kind, arg = rule
    if kind == "equals":
        return text == arg
    if kind == "starts_with":
        return text.startswith(arg)  # type: ignore[arg-type]
    if kind == "contains":
        return arg in text  # type: ignore[operator]
    if kind == "ends_with":
        return text.endswith(arg)  # type: ignore[arg-type]
    if kind == "regex":
        return arg.search(text) is not None  # type: ignore[union-attr]
    if kind == "or":
        return any(matches(sub, text) for sub in arg)  # type: ignore[union-attr]
    if kind == "and":
        return all(matches(sub, text) for sub in arg)  # type: ignore[union-attr]
    raise ValueError(f"unknown rule kind {kind!r}")


def literals(rule: Rule) -> Iterator[str]:
    """Every plain text in a rule (regexes excluded)."""
    kind, arg = rule
    if kind in ("or", "and"):
        for sub in arg:  # type: ignore[union-attr]
            yield from literals(sub)
    elif kind != "regex":
        yield arg  # type: ignore[misc]


def fine_tune_rule(rule: Rule) -> Rule | None:
    """Only the parts of `rule` written for fine-tune ids (`ft:…`): a fine-tune is never billed
    through a rule written for its base model (`contains: o4-mini` must not price `ft:o4-mini…`)."""
    kind, arg = rule
    if kind == "or":
        rest = tuple(r for r in (fine_tune_rule(sub) for sub in arg) if r is not None)  # type: ignore[union-attr]
        if not rest:
            return None
        return rest[0] if len(rest) == 1 else ("or", rest)
    if kind == "regex":
        return rule if arg.pattern.lstrip("^").startswith("ft:") else None  # type: ignore[union-attr]
    if kind == "and":
        return rule if any(s.startswith("ft:") for s in literals(rule)) else None
    return rule if str(arg).startswith("ft:") else None
