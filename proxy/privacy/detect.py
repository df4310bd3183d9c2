"""Personal data and secrets in a text: where they are, how many of each kind, the text without them; pure.

Each kind is a compiled pattern that finds candidates, then a check that keeps the real ones (Luhn and
issuer ranges for cards, country length and mod-97 for IBANs, the invalid SSN ranges, octet ranges,
phone number shapes). The patterns have no nested unbounded repetition and every repeat is bounded, so
a scan is linear in the text (tests/privacy/test_detect.py times a 1 MB adversarial text).

Choices a reader may not guess:
- `ip` leaves out loopback and unspecified addresses (127.0.0.0/8, 0.0.0.0, ::1, ::): they name no one,
  and every code prompt holds them. A dotted quad after a word like "version" or "build" is a version.
- `phone` wants a shape: a `+` or `00` country code (8-15 digits), an area code in parentheses, a
  national number with a trunk `0` and separators (9-12 digits), or the North American and Spanish
  separated forms. A bare run of digits is an id, not a phone; dates, SSN-shaped and card-shaped
  runs are not phones.
- `secret` includes Stripe test keys (`sk_test_`): they are still an account's credential.
- Where two findings overlap, the stronger kind wins (KINDS order: a card's digits are no phone, and
  an IBAN's mod-97 outweighs a card's Luhn digit).
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal, get_args

from llmlog.proxy.privacy.checksums import IBAN_LENGTHS, card_brand_ok, iban_ok, luhn_ok

# In the order overlaps are settled: the first kind keeps a span another kind also claims
PiiKind = Literal["secret", "iban", "card", "ssn", "email", "ip", "phone"]
KINDS: tuple[PiiKind, ...] = get_args(PiiKind)
# At most this many characters of one text are examined by find_pii/pii_counts (redact looks at all)
MAX_SCAN_CHARS = 4 * 1024 * 1024

# Look-behinds name ASCII word characters only, so 電話03-… still starts a phone and メールはtaro@… an address


@dataclass(frozen=True, slots=True)
class Match:
    """One finding: its kind and where it is (`text[start:end]` is the value)."""

    kind: str
    start: int
    end: int


# Patterns start with the character that must come first and look behind only after it: the regex
# engine then skips ahead to candidates instead of testing a look-behind at every position (several
# times faster). An address is found from its `@` and the local part read backwards.
_EMAIL_DOMAIN = re.compile(r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}([A-Za-z]{2,24})(?![A-Za-z0-9-])")
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9._%+-]{1,64}\Z")
_LOCAL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-")
# asset names like icon@2x.png have an address's shape
_NOT_TLDS = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "css", "js", "ts", "map", "min"})

_CARD = re.compile(r"\d(?<![A-Za-z0-9_]\d)(?:[ -]?\d){11,18}+(?![A-Za-z0-9_]|[ -]?\d)")

_IBAN = re.compile(r"[A-Z](?<![A-Za-z0-9][A-Z])[A-Z]\d{2}(?: ?[A-Z0-9]){10,30}")

_SSN = re.compile(r"(\d(?<![A-Za-z0-9_-]\d)\d{2})([- ])(\d{2})\2(\d{4})(?![A-Za-z0-9_-]|\.\d)")

_IPV4 = re.compile(r"\d(?<![A-Za-z0-9_.]\d)\d{0,2}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![A-Za-z0-9_]|\.\d)")
# a run of hex digits and colons with a colon among its first five characters, maybe an IPv4 tail;
# ipaddress decides
_IPV6 = re.compile(r"[0-9A-Fa-f:](?<![A-Za-z0-9_:.][0-9A-Fa-f:])[0-9A-Fa-f]{0,3}:[0-9A-Fa-f:]{1,44}"
                   r"(?:\.\d{1,3}){0,3}(?![0-9A-Za-z_:.])")
_VERSION_WORDS = re.compile(r"(?:version|versión|ver|build|release|v)\s*[:=]?\s*$", re.IGNORECASE)

_PHONE = re.compile(
    r"(?=[+(\d])(?<![A-Za-z0-9_+@/.:#-])"
    r"(?:(?P<intl>(?:\+|00)[1-9]\d{0,2})[ .-]?(?:\(0\)[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?|(?P<area>\(\d{2,5}\))[ .-]?)?"
    r"\d(?:[ ./-]?\d){5,15}"
    r"(?![A-Za-z0-9_@]|[./-]?\d)")
_SEPARATORS = re.compile(r"[ ./-]")

_SECRET = re.compile(
    r"(?<![A-Za-z0-9_-])(?:"
    r"(?P<openai>sk-(?:proj-|svcacct-|admin-|ant-(?:api|admin)\d\d-)?[A-Za-z0-9_-]{20,256})"
    r"|(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}"
    r"|gh[pousr]_[A-Za-z0-9]{36,255}"
    r"|github_pat_[A-Za-z0-9_]{22,255}"
    r"|(?P<slack>xox[abpr]-[A-Za-z0-9-]{10,250})"
    r"|AIza[0-9A-Za-z_-]{35}"
    r"|(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,247}"
    r"|eyJ[A-Za-z0-9_-]{4,4096}\.eyJ[A-Za-z0-9_-]{4,8192}\.[A-Za-z0-9_-]{8,4096}"
    r")(?![A-Za-z0-9_-])"
    # a PEM private key: the body stops at the next run of five dashes; a block cut short still counts
    r"|-----BEGIN (?P<pem>(?:[A-Z0-9]{1,16} ){0,4})PRIVATE KEY-----"
    r"(?:[A-Za-z0-9+/=\s:,._\\]|-(?!----)){0,65536}(?:-----END (?P=pem)PRIVATE KEY-----)?")


def find_pii(text: str, kinds: Iterable[str] = KINDS, *, limit: int | None = MAX_SCAN_CHARS) -> list[Match]:
    """The findings of the given kinds in `text` (its first `limit` characters; None: all of it),
    in text order, none overlapping another."""
    wanted = _kinds(kinds)
    scanned = text if limit is None else text[:limit]
    digits = _ascii_digits(scanned)
    found = [m for kind in KINDS if kind in wanted and digits >= _LEAST_DIGITS.get(kind, 0)
             for m in _FINDERS[kind](scanned)]
    return _settle(found)


# Digits a text must hold for a kind to be looked for: each scan is a regex pass at ~20-80 ns a
# character, counting ASCII digits ~1 ns. (An IP address may be IPv6, without decimal digits.)
_LEAST_DIGITS = {"card": 13, "ssn": 9, "phone": 6, "iban": 2}
_DIGITS = b"0123456789"


def _ascii_digits(text: str) -> int | float:
    """The ASCII digits in `text`; infinite for text with other characters, whose digits `\\d` may
    be of any script."""
    if not text.isascii():
        return float("inf")
    raw = text.encode("ascii")
    return len(raw) - len(raw.translate(None, _DIGITS))


def pii_counts(text: str, kinds: Iterable[str] = KINDS) -> dict[str, int]:
    """How many findings of each kind `text` holds; only kinds found (`{"email": 2, "card": 1}`)."""
    counts: dict[str, int] = {}
    for m in find_pii(text, kinds):
        counts[m.kind] = counts.get(m.kind, 0) + 1
    return counts


def redact(text: str, kinds: Iterable[str]) -> str:
    """`text` with every finding of the given kinds replaced by its typed placeholder (`[email]`).

    Overlaps are settled among all kinds first, so a value is replaced whole or, when a stronger kind
    not asked for claims it, left whole; the whole text is examined, however long."""
    wanted = _kinds(kinds)
    if not wanted:
        return text
    parts: list[str] = []
    at = 0
    for m in find_pii(text, limit=None):
        if m.kind in wanted:
            parts += [text[at:m.start], f"[{m.kind}]"]
            at = m.end
    return "".join(parts) + text[at:] if parts else text


def _kinds(kinds: Iterable[str]) -> frozenset[str]:
    wanted = frozenset(kinds)
    if unknown := wanted - set(KINDS):
        raise ValueError(f"unknown PII kinds {sorted(unknown)}; known: {', '.join(KINDS)}")
    return wanted


def _settle(found: list[Match]) -> list[Match]:
    """Keep findings in KINDS order, then longest first; drop any that overlaps one kept."""
    rank: dict[str, int] = {kind: i for i, kind in enumerate(KINDS)}
    kept: list[Match] = []
    starts: list[int] = []  # of the kept findings, sorted; they never overlap, so their ends sort alike
    ends: list[int] = []
    for m in sorted(found, key=lambda m: (rank[m.kind], m.start - m.end, m.start)):
        i = bisect.bisect_right(starts, m.start)  # kept findings before i start at or before m
        if (i and ends[i - 1] > m.start) or (i < len(starts) and starts[i] < m.end):
            continue
        starts.insert(i, m.start)
        ends.insert(i, m.end)
        kept.append(m)
    return sorted(kept, key=lambda m: m.start)


# ---- one finder per kind ---------------------------------------------------------------------------

def _emails(text: str) -> Iterator[Match]:
    if "@" not in text:
        return
    for m in _EMAIL_DOMAIN.finditer(text):
        at = m.start()
        local = _EMAIL_LOCAL.search(text, max(0, at - 64), at)
        if local is None or not local.group()[0].isalnum() or m.group(1).lower() in _NOT_TLDS:
            continue
        if local.start() > 0 and text[local.start() - 1] in _LOCAL_CHARS:
            continue  # a longer run than an address's local part
        yield Match("email", local.start(), m.end())


def _cards(text: str) -> Iterator[Match]:
    for m in _CARD.finditer(text):
        value = m.group()
        digits = value.replace(" ", "").replace("-", "")
        if 13 <= len(digits) <= 19 and _card_grouping_ok(value) and luhn_ok(digits) and card_brand_ok(digits):
            yield Match("card", m.start(), m.end())


def _card_grouping_ok(value: str) -> bool:
    """One kind of separator, and groups as cards are printed (4-4-4-4, 4-4-4-1, 4-6-5, 4-6-4), or none."""
    if " " in value and "-" in value:
        return False
    groups = [len(g) for g in re.split(r"[ -]", value)]
    return (len(groups) == 1 or groups in ([4, 6, 5], [4, 6, 4])
            or (all(g == 4 for g in groups[:-1]) and 1 <= groups[-1] <= 4))


def _ibans(text: str) -> Iterator[Match]:
    for m in _IBAN.finditer(text):
        value = m.group()
        length = IBAN_LENGTHS.get(value[:2])
        if length is None:
            continue
        # the candidate may run into the next word: take the country's length of characters
        count, end = 0, m.start()
        for i, ch in enumerate(value):
            if ch != " ":
                count += 1
                if count == length:
                    end = m.start() + i + 1
                    break
        if count < length or (end < len(text) and (text[end].isascii() and text[end].isalnum())):
            continue
        if iban_ok(text[m.start():end].replace(" ", "")):
            yield Match("iban", m.start(), end)


def _ssns(text: str) -> Iterator[Match]:
    for m in _SSN.finditer(text):
        area, _, group, serial = m.groups()
        if area != "000" and area != "666" and area[0] != "9" and group != "00" and serial != "0000":
            yield Match("ssn", m.start(), m.end())


def _ips(text: str) -> Iterator[Match]:
    for m in _IPV4.finditer(text):
        octets = m.group().split(".")
        if any(len(o) > 1 and o[0] == "0" or int(o) > 255 for o in octets):
            continue
        if octets[0] == "127" or m.group() == "0.0.0.0":
            continue
        if _VERSION_WORDS.search(text, max(0, m.start() - 12), m.start()):
            continue
        yield Match("ip", m.start(), m.end())
    if "::" not in text and text.count(":") < 7:
        return
    for m in _IPV6.finditer(text):
        value = m.group()
        groups = [g for g in re.split(r"[:]", value) if g]
        if len(groups) < 2 or not any(len(g) >= 3 for g in groups):
            continue  # `arr[1::2]`, `10:30:00`
        try:
            address = ipaddress.IPv6Address(value)
        except ValueError:
            continue
        if not (address.is_loopback or address.is_unspecified):
            yield Match("ip", m.start(), m.end())


def _phones(text: str) -> Iterator[Match]:
    for m in _PHONE.finditer(text):
        intl, area, number = m.group("intl"), m.group("area"), m.group()
        end = _phone_end(intl, area, number)
        if end:
            yield Match("phone", m.start(), m.start() + end)


def _phone_end(intl: str | None, area: str | None, number: str) -> int:
    """How much of `number` is a phone number: all of it, or when the digits run on into another
    number (`+44 20 7946 0958 4111 1111 …`), the longest run of its first groups that is one; 0 for none."""
    if _phone_ok(intl, area, number):
        return len(number)
    if intl or area:
        cuts = [m.start() for m in _SEPARATORS.finditer(number, len(intl or area or ""))]
        for cut in reversed(cuts):
            if number[cut - 1].isdigit() and _phone_ok(intl, area, number[:cut]):
                return cut
    return 0


def _phone_ok(intl: str | None, area: str | None, number: str) -> bool:
    digits = "".join(ch for ch in number if ch.isdigit())
    if intl:
        own = len(digits) - (2 if intl.startswith("00") else 0)
        return 8 <= own <= 15
    if area:
        return 9 <= len(digits) <= 12
    groups = [len(g) for g in _SEPARATORS.split(number.strip(" .-/")) if g]
    if len(groups) < 2:
        return False  # a bare run of digits: an id, an amount, a timestamp
    seps = set(_SEPARATORS.findall(number))
    if len(groups) == 3 and (groups[2] == 4 and groups[0] <= 2 and groups[1] <= 2 or groups == [4, 2, 2]):
        return False  # 03.04.2024, 2024-04-03
    if groups == [3, 2, 4] and seps == {"-"}:
        return False  # an SSN's shape
    if number.startswith("0") and not number.startswith("00"):
        return 9 <= len(digits) <= 12 and groups[0] <= 5
    if groups == [3, 3, 4] and number[0] != "0" and len(seps) == 1:
        return True  # North American 555-123-4567, 555.123.4567
    return groups in ([3, 2, 2, 2], [3, 3, 3]) and number[0] in "6789" and seps == {" "}  # Spanish


# every secret pattern holds one of these: a text without any is not scanned (substring tests are cheap)
_SECRET_HINTS = ("sk-", "AKIA", "ASIA", "ABIA", "ACCA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_",
                 "xox", "AIza", "_live_", "_test_", "eyJ", "PRIVATE KEY")


def _secrets(text: str) -> Iterator[Match]:
    if not any(hint in text for hint in _SECRET_HINTS):
        return
    for m in _SECRET.finditer(text):
        if (key := m.group("openai")) and not _looks_random(key.split("-", 1)[1]):
            continue  # sk-learn-style-names-with-hyphens
        if (token := m.group("slack")) and not any(ch.isdigit() for ch in token):
            continue
        yield Match("secret", m.start(), m.end())


def _looks_random(body: str) -> bool:
    """Provider keys mix upper case, lower case and digits; slugs and names do not."""
    return any(c.isdigit() for c in body) and any(c.isupper() for c in body) and any(c.islower() for c in body)


_FINDERS: dict[str, Callable[[str], Iterator[Match]]] = {
    "secret": _secrets, "card": _cards, "iban": _ibans, "ssn": _ssns, "email": _emails, "ip": _ips,
    "phone": _phones,
}
