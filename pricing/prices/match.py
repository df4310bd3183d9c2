"""Model-id match rules in llmlog's own small form, translated from genai-prices' match clauses.

genai-prices names the ids a model answers to with clauses (`equals`, `starts_with`, `ends_with`,
`contains`, `regex`, `or`, `and`). Plain `equals` ids become exact keys of the price table (a dict
lookup); what is left is kept here as a rule, tried only when no exact key matched. A rule is a
nested tuple, so the table holds no genai-prices object and a rule compares and hashes by value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Literal

# A rule, tagged by its kind: a text test, a compiled regex, or a group of rules.
TextRule = tuple[Literal["equals", "starts_with", "ends_with", "contains"], str]
RegexRule = tuple[Literal["regex"], "re.Pattern[str]"]
GroupRule = tuple[Literal["or", "and"], tuple["Rule", ...]]
Rule = TextRule | RegexRule | GroupRule

_TEXT_KINDS: tuple[Literal["equals", "starts_with", "ends_with", "contains"], ...] = (
    "equals", "starts_with", "ends_with", "contains")


def translate(clause: Any) -> Rule:
    """A genai-prices clause object as a Rule (lower-case text; regexes compiled once)."""
    if hasattr(clause, "or_"):
        return ("or", tuple(translate(c) for c in clause.or_))
    if hasattr(clause, "and_"):
        return ("and", tuple(translate(c) for c in clause.and_))
    if hasattr(clause, "regex"):
        return ("regex", re.compile(clause.regex))
    for kind in _TEXT_KINDS:
        if hasattr(clause, kind):
            return (kind, str(getattr(clause, kind)).lower())
    raise ValueError(f"unknown match clause {clause!r}")


def equals_ids(rule: Rule) -> Iterator[str]:
    """The ids a rule accepts by plain equality at its top level (`equals`, or `or` of them)."""
    match rule:
        case ("equals", text):
            yield text
        case ("or", subs):
            for sub in subs:
                yield from equals_ids(sub)


def without_equals(rule: Rule) -> Rule | None:
    """The rule with its top-level `equals` parts removed (they are exact keys); None if empty."""
    match rule:
        case ("equals", _):
            return None
        case ("or", subs):
            rest = tuple(r for r in (without_equals(sub) for sub in subs) if r is not None)
            if not rest:
                return None
            return rest[0] if len(rest) == 1 else ("or", rest)
    return rule


def matches(rule: Rule, text: str) -> bool:
    """Does `rule` accept `text` (already lower-case)?"""
    match rule:
        case ("equals", arg):
            return text == arg
        case ("starts_with", arg):
            return text.startswith(arg)
        case ("contains", arg):
            return arg in text
        case ("ends_with", arg):
            return text.endswith(arg)
        case ("regex", pattern):
            return pattern.search(text) is not None
        case ("or", subs):
            return any(matches(sub, text) for sub in subs)
        case ("and", subs):
            return all(matches(sub, text) for sub in subs)
    raise ValueError(f"unknown rule kind {rule[0]!r}")


def literals(rule: Rule) -> Iterator[str]:
    """Every plain text in a rule (regexes excluded)."""
    match rule:
        case ("or" | "and", subs):
            for sub in subs:
                yield from literals(sub)
        case ("regex", _):
            pass
        case (_, text):
            yield text


def fine_tune_rule(rule: Rule) -> Rule | None:
    """Only the parts of `rule` written for fine-tune ids (`ft:…`): a fine-tune is never billed
    through a rule written for its base model (`contains: o4-mini` must not price `ft:o4-mini…`)."""
    match rule:
        case ("or", subs):
            rest = tuple(r for r in (fine_tune_rule(sub) for sub in subs) if r is not None)
            if not rest:
                return None
            return rest[0] if len(rest) == 1 else ("or", rest)
        case ("regex", pattern):
            return rule if pattern.pattern.lstrip("^").startswith("ft:") else None
        case ("and", _):
            return rule if any(s.startswith("ft:") for s in literals(rule)) else None
        case (_, text):
            return rule if text.startswith("ft:") else None
