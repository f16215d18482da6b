"""Find and mask personal numbers in free text before it is stored or logged.

Pure module, standard library only.  Four kinds are found:

``id``     Chinese resident ID: 18 characters (17 digits, then a digit or X/x),
           written solid or grouped 6-8-4 (``110105 19491231 002X``); and old
           15-digit IDs.  ``valid`` means the ISO 7064 MOD 11-2 check character
           matches AND positions 7-14 are a plausible birth date (a real date,
           1900 to today; for 15-digit IDs positions 7-12 read as 19YYMMDD, and
           there is no check character).  Every ID-shaped token is masked, valid
           or not: a mistyped ID is still personal.
``phone``  Chinese mobile: 11 digits starting 1[3-9], written solid, 3-4-4 or
           3-8 with spaces or dashes, optionally after +86 / 0086 / 86 / (+86).
           ``valid`` is always True (the shape is the check).
``card``   bank card: any other 16-19 digit number, solid or grouped in fours
           (``6222 0212 3456 7890 123``).  ``valid`` means the Luhn check holds;
           Luhn-invalid ones are masked all the same.  An 18-character token
           grouped in fours is an ID if it ends in X or is a fully valid ID,
           otherwise a card.
``email``  an e-mail address: letters, digits and ``._%+-``, an @ (or ＠), a
           domain with a dot and a final part of 2+ letters (``valid`` always
           True).  Digits inside an address (QQ mail: ``13812345678@qq.com``)
           belong to the address, not to a phone.
``passport`` a passport or travel-permit number (``E14145678``, ``EA4820193``: one to three
           letters then 6-8 digits, as one word), or a Spanish DNI / NIE (``48291736Z``,
           ``X4829173L``).  ``valid`` is always True.
``number`` any solid run of more than 19 digits (after a possible ID ending
           in X): no single kind fits it, but it is what a phone glued to an ID,
           or two card numbers typed without a space, look like, so it is never
           kept in clear.  ``valid`` is always False (nothing can be checked).

Masked format (what :func:`mask` writes in place of the whole match, prefix
and separators included)::

    [ID:***123X]      ID: the last 4 characters, X upper-cased
    [PHONE:***5678]   phone: the last 4 digits
    [CARD:***0123]    card: the last 4 digits
    [EMAIL]           e-mail: nothing is kept
    [NUMBER:***5678]  a run of 20+ digits: the last 4 digits
    [PASSPORT:***5678] a passport, permit, DNI or NIE: its last 4 characters

Kept characters are always written as ASCII, even when the user typed
full-width digits (``１３８…``).  Masked text contains no match, so
``mask(mask(t)) == mask(t)``.

Shapes people type: full-width characters; Chinese numerals digit by digit (一三九零…, 幺 for
one); phones and IDs in any grouping of whole digit groups, spaced, dashed, dotted or slashed
(``139.0121.8199``, ``1390 121 8199``, ``1 3 9 …``, 6-4-4-4), where a loose ID must read as one
(a real birth date, and its check character or a final X) so a list of years is never taken for
one; e-mail written with ``(at)`` / ``[at]`` / ``(arroba)`` and ``(dot)``, and internationalised
addresses (``张小明@例子.中国``, ``josé@münchen.de``).  The common Unicode spaces/dashes are
recognised; numbers are found next to Chinese characters with no space.
Ordinary numbers (years, article numbers, amounts, dates, "30 days", short
codes, decimals) are left alone: only digit runs with no digit directly on
either side count (a number with a decimal point next to it is not personal).
An ID ending in X may have digits straight after it (``…002X13812345678``): the
X ends it, and the digits after it are looked at as a number of their own.

Speed: no pattern can backtrack badly.  Numbers are looked for only around
runs of 11+ digits (found by a pattern the regex engine scans quickly), and
with bounded repetitions (the one open-ended repetition, 20+ digits, can only
back off over the run it took, once); e-mail addresses are looked for only
from an "@".
A 2,000-character message masks in well under a millisecond, and 200,000
characters of adversarial text in tens of milliseconds.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date
from operator import mul

from knowledge.memo import short_memo

__all__ = ["Found", "find", "mask", "contains_personal", "id_checksum_ok", "luhn_ok", "MaskPersonal"]

KINDS = ("id", "phone", "card", "email", "number", "passport")


@dataclass(frozen=True, slots=True)
class Found:
    """One personal number in a text: ``text[start:end]`` is the whole match."""

    kind: str  # "id" | "phone" | "card" | "email" | "number"
    start: int
    end: int
    valid: bool


# --- character classes (ASCII and full-width) --------------------------------
_SEPARATORS = " -\u00a0\u2009\u202f\u3000\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0d"
_D = "[0-9\uff10-\uff19]"  # a digit
_S = f"[{re.escape(_SEPARATORS)}]"  # one separator inside a number
_X = "[Xx\uff38\uff58]"
_DX = "[0-9\uff10-\uff19Xx\uff38\uff58]"  # last character of an ID
_DOT = "[.\uff0e]"
_LEFT = f"(?<!{_D})(?<!{_D}{_DOT})"  # no digit (or decimal point) just before
_RIGHT = f"(?!{_D})(?!{_DOT}{_D})"  # no digit (or decimal part) just after
_ALPHA = "A-Za-z\uff21-\uff3a\uff41-\uff5a"  # ASCII and full-width letters
_W = f"{_ALPHA}0-9\uff10-\uff19"  # ... and digits

_PHONE = (
    f"(?P<phone>"
    f"(?:\\(\\s?(?:[+\uff0b]|[0\uff10]{{2}})\\s?[8\uff18][6\uff16]\\s?\\){_S}?"  # (+86)
    f"|(?:[+\uff0b]\\s?|[0\uff10]{{2}})?[8\uff18][6\uff16]{_S}?)?"  # +86 / 0086 / 86
    f"[1\uff11][3-9\uff13-\uff19]{_D}{_S}?{_D}{{4}}{_S}?{_D}{{4}})"
)
_LONG = (
    f"(?P<solid>{_D}{{17}}{_X}|{_D}{{15,19}})"
    f"|(?P<g684>{_D}{{6}}{_S}{_D}{{8}}{_S}{_D}{{3}}{_DX})"
    f"|(?P<g4>{_D}{{4}}(?:{_S}{_D}{{4}}){{3}}(?:{_S}{_D}{_DX}|{_S}{_D}{{1,3}})?)"
    f"|(?P<number>{_D}{{20,}}{_X}?)"  # longer than any one kind: a phone glued to an ID, two cards, ...
)
# An ID's final X ends it even when digits follow (an ID glued to a phone); no decimal part after it.
_XID = f"(?P<xid>{_D}{{17}}{_X})(?!{_DOT}{_D})"
# Phone first: "0086 13812345678" written solid is 15 digits, but no ID starts "00".
_NUMBER_RE = re.compile(f"{_LEFT}(?:{_XID}|(?:{_PHONE}|{_LONG}){_RIGHT})")

# An "@" as people write it to dodge spam robots: "(at)", "[at]", "(arroba)"; the dots of its domain
# may be "(dot)" / "(punto)". Domain labels are ASCII, or (IDN: 例子.中国, münchen.de) any letters.
_AT_RE = re.compile(r"@|\s?[(\[（【<]\s?(?:at|AT|At|arroba|ARROBA|艾特)\s?[)\]）】>]\s?")
_AT_HINT = re.compile(r"@|[(\[（【<]\s?(?:at|AT|At|arroba|ARROBA|艾特)\s?[)\]）】>]")
_EDOT = r"(?:[.]|\s?[(\[（【]\s?(?:dot|DOT|punto|点)\s?[)\]）】]\s?)"
_DOMAIN_RE = re.compile(f"[A-Za-z0-9\\-]+(?:{_EDOT}[A-Za-z0-9\\-]+)*{_EDOT}[A-Za-z]{{2,}}(?![A-Za-z0-9])")
_IDN_DOMAIN_RE = re.compile(f"[^\\W_](?:[\\w\\-]*[^\\W_])?(?:{_EDOT}[^\\W_](?:[\\w\\-]*[^\\W_])?)*"
                            f"{_EDOT}[^\\W\\d_]{{2,}}")

_SAID = frozenset("是为為")  # "邮箱是张小明@例子.中国": the address starts after "is"
_LOCAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")

# Passports and travel permits (E14145678, EA1234567, G12345678, C12345678, H1234567890 is too long
# for us), and Spanish DNI / NIE (12345678Z, X1234567L): letters and digits as one word.
_PASSPORT_RE = re.compile(
    "(?<![A-Za-z0-9])(?:[A-Za-z]{1,2}[0-9]{7,8}|[A-Za-z]{3}[0-9]{6}|[0-9]{8}[A-Za-z]|[XYZxyz][0-9]{7}[A-Za-z])"
    "(?![A-Za-z0-9])"
)
_LETTER_DIGITS = re.compile("[A-Za-z][0-9]{6}|[0-9]{8}[A-Za-z]")

# Digit groups joined by separators (spaces, dashes, dots, slashes: at most three in a row), for
# the shapes the strict patterns above do not know; possessive, so a failed run costs one pass.
_LOOSE_SEPARATORS = _SEPARATORS + "./_\uff0f"
_GROUPS_RE = re.compile(f"[0-9]++(?:[{re.escape(_LOOSE_SEPARATORS)}]{{1,3}}+[0-9]++)++"
                        f"(?:[{re.escape(_LOOSE_SEPARATORS)}]{{0,3}}[Xx](?![A-Za-z]))?")
_GROUP_RE = re.compile("[0-9]+|[Xx]")
_LOOSE_HINT = re.compile(f"[0-9][{re.escape(_LOOSE_SEPARATORS)}]{{1,3}}[0-9]")

# The view: full-width ASCII as ASCII, and Chinese numerals (〇 零 一 … 九, 幺 for "one" in phone
# numbers, and the banker's 壹 贰 …) as digits, where seven or more of them stand in a row.
_VIEW = {0xFF01 + i: 0x21 + i for i in range(94)}  # "。" stays: it ends a sentence, not a domain label
_NUMERAL_CHARS = "〇零一二三四五六七八九幺壹贰叁肆伍陆柒捌玖"
_NUMERALS = str.maketrans({c: str(d) for cs, d in zip(
    ("〇零", "一幺壹", "二贰", "三叁", "四肆", "五伍", "六陆", "七柒", "八捌", "九玖"), range(10)) for c in cs})
_HAS_NUMERAL = re.compile(f"[{_NUMERAL_CHARS}][{_NUMERAL_CHARS}]")
_NUMERAL_RUN_RE = re.compile(f"[{_NUMERAL_CHARS}](?:{_S}?[{_NUMERAL_CHARS}]){{6,}}[Xx]?")

# Every number kind holds 11 digits in a row with at most one separator between
# two of them.  Such runs are found fast (the pattern starts with a character
# class, so the engine skips other text quickly); the full pattern then runs
# only in a small window around each: _BEFORE characters to the left for a
# "( +86 ) " prefix, _AFTER to the right for a closing X and the boundary check.
_RUN_RE = re.compile(f"{_D}(?:{_S}?{_D}){{10,}}")
_BEFORE, _AFTER = 12, 4

_NORM = str.maketrans(
    {
        **{0xFF10 + i: str(i) for i in range(10)},
        **{ord(c): None for c in _SEPARATORS},
        "\uff38": "X",
        "\uff58": "X",
        "x": "X",
    }
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_ZERO = 48 * sum(_ID_WEIGHTS)
_LUHN_DOUBLE = {48 + d: (2 * d if d < 5 else 2 * d - 9) for d in range(10)}  # by byte value


def _chars(s: str) -> str:
    """``s`` in ASCII with separators dropped and X upper-cased."""
    if s.isascii() and s.isdigit():
        return s
    return s.translate(_NORM)


def _digits(s: str) -> bool:
    return s.isascii() and s.isdigit()


def id_checksum_ok(s: str) -> bool:
    """True if ``s`` is 17 digits plus the right ISO 7064 MOD 11-2 check character.

    Full-width digits, lower-case x and separators (spaces, dashes) are accepted.
    The birth date is not checked here.
    """
    c = _chars(s)
    if len(c) != 18 or not _digits(c[:17]):
        return False
    total = sum(map(mul, _ID_WEIGHTS, c[:17].encode())) - _ID_ZERO  # ord("0") is 48
    return _ID_CHECK[total % 11] == c[17]


def luhn_ok(digits: str) -> bool:
    """True if ``digits`` (spaces, dashes and full-width digits allowed) pass Luhn."""
    c = _chars(digits)
    if len(c) < 2 or not _digits(c):
        return False
    b = c[::-1].encode()  # rightmost digit first; ord("0") is 48
    total = sum(b[0::2]) - 48 * len(b[0::2]) + sum(_LUHN_DOUBLE[d] for d in b[1::2])
    return total % 10 == 0


def _birth_date_ok(yyyymmdd: str, today: date) -> bool:
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return date(1900, 1, 1) <= born <= today


def _id_valid(c: str, today: date) -> bool:
    if len(c) == 15:
        return _birth_date_ok("19" + c[6:12], today)
    return _birth_date_ok(c[6:14], today) and id_checksum_ok(c)


def _classify(m: re.Match, today: date) -> tuple[Found, str]:
    """The match as a Found, and the characters a mask keeps (the last 4)."""
    start, end = m.span()
    c = _chars(m.group())
    if m.lastgroup == "phone":
        return Found("phone", start, end, True), c[-4:]
    if m.lastgroup == "number":
        return Found("number", start, end, False), c[-4:]
    if len(c) == 18 and m.lastgroup == "g4" and c[17] != "X" and not _id_valid(c, today):
        return Found("card", start, end, luhn_ok(c)), c[-4:]  # 4-4-4-4-2: a card unless a real ID
    if len(c) == 15 or len(c) == 18:
        return Found("id", start, end, _id_valid(c, today)), c[-4:]
    return Found("card", start, end, luhn_ok(c)), c[-4:]


def _emails(text: str) -> list[tuple[int, int]]:
    spans = []
    floor = 0  # the local part never reaches back into the previous address
    for at in _AT_RE.finditer(text):
        if at.start() < floor:
            continue
        m = _DOMAIN_RE.match(text, at.end()) or _IDN_DOMAIN_RE.match(text, at.end())
        if m is None:
            continue
        i = at.start()
        while i > floor and text[i - 1] in _LOCAL:
            i -= 1
        if i == at.start():  # an internationalised local part (张三@例子.中国): letters of any script
            while i > floor and (text[i - 1].isalnum() or text[i - 1] in "._%+-") and text[i - 1] not in _SAID:
                i -= 1
        if i < at.start():
            spans.append((i, m.end()))
            floor = m.end()
    return spans


def _view(text: str) -> str:
    """``text`` with the same length, read as a number-finder should: full-width digits, letters, @ and
    dot as ASCII, and Chinese numerals written digit by digit (一三九零…, seven or more in a row) as
    digits. Positions are unchanged, so a span found in the view is the same span of the text."""
    view = text.translate(_VIEW) if not text.isascii() else text
    if _HAS_NUMERAL.search(view):
        view = _NUMERAL_RUN_RE.sub(lambda m: m.group().translate(_NUMERALS), view)
    return view


def _blank(text: str, spans) -> str:
    """``text`` with each span replaced by NULs: later patterns look around, never inside, a find."""
    if not spans:
        return text
    parts, pos = [], 0
    for s, t in spans:
        parts += [text[pos:s], "\0" * (t - s)]
        pos = t
    return "".join(parts) + text[pos:]


def _loose(view: str, today_box: list) -> list[tuple[Found, str]]:
    """Phones and IDs written in groups the strict patterns do not know: 4-3-4, dotted or slashed
    (139.0121.8199), digit by digit (1 3 9 …), 6-4-4-4. Only whole groups are joined, at least two of
    them, and an ID must read as one (a real birth date, and its check character or a final X), so a
    list of years or amounts is never taken for one."""
    found = []
    for run in _GROUPS_RE.finditer(view):
        spans = [(g.start(), g.end()) for g in _GROUP_RE.finditer(view, run.start(), run.end())]
        if len(spans) > MAX_GROUPS:  # a table of figures, not a number someone typed in pieces
            continue
        groups = [view[a:b] for a, b in spans]
        cum, at = [0], {0: 0}  # digits before each group; where a count of digits ends
        for k, g in enumerate(groups):
            cum.append(cum[-1] + len(g))
            at[cum[-1]] = k + 1
        i, n = 0, len(groups)
        while i < n:
            for length in (18, 15, 13, 11):  # longest first; no kind has any other length
                j = at.get(cum[i] + length)
                if j is None or j < i + 2 or groups[i][0] != _FIRST.get(length, groups[i][0]):
                    continue
                c = _chars("".join(groups[i:j]))
                kind = _loose_kind(c, today_box, c[-1] == "X")
                if kind:
                    found.append((Found(kind, spans[i][0], spans[j - 1][1], True), c[-4:]))
                    i = j - 1
                    break
            i += 1
    return found


MAX_GROUPS = 48  # an ID typed digit by digit is 18 groups; a run of more is read as no number
_FIRST = {11: "1", 13: "8", 15: "0"}  # a mobile, +86 and one, 0086 and one


def _loose_kind(c: str, today_box: list, x_end: bool) -> str | None:
    if len(c) == 11 and c[0] == "1" and c[1] in "3456789" and _digits(c):
        return "phone"
    if (len(c) == 13 and c.startswith("86") or len(c) == 15 and c.startswith("0086")) and _digits(c) \
            and c[-11] == "1" and c[-10] in "3456789":
        return "phone"
    if len(c) == 18 and _digits(c[:17]):
        if not today_box:
            today_box.append(date.today())
        if _birth_date_ok(c[6:14], today_box[0]) and (x_end or id_checksum_ok(c)):
            return "id"
    return None


def _scan(text: str) -> list[tuple[Found, str]]:
    """Every personal number with the characters its mask keeps, in order."""
    found: list[tuple[Found, str]] = []
    if not text:
        return found
    view = _view(text)
    emails = _emails(view) if _AT_HINT.search(view) else []
    found = [(Found("email", s, t, True), "") for s, t in emails]
    scan = _blank(view, emails)  # numbers are looked for around, never inside, an address
    n, done, today = len(scan), 0, None  # done: where the last number ended
    numbers = []
    for run in _RUN_RE.finditer(scan):
        lo = max(run.start() - _BEFORE, done)
        for m in _NUMBER_RE.finditer(scan, lo, min(n, run.end() + _AFTER)):
            if m.start() >= done:
                today = today or date.today()  # only when there is something to classify
                numbers.append(_classify(m, today))
                done = m.end()
    found += numbers
    if _LETTER_DIGITS.search(scan):  # a letter next to 7+ digits: perhaps a passport
        scan = _blank(scan, [(f.start, f.end) for f, _ in numbers])
        papers = [(Found("passport", m.start(), m.end(), True), _chars(m.group())[-4:].upper())
                  for m in _PASSPORT_RE.finditer(scan)]
        found += papers
        numbers = papers
    if _LOOSE_HINT.search(scan):
        scan = _blank(scan, [(f.start, f.end) for f, _ in numbers])
        found += _loose(scan, [today] if today else [])
    found.sort(key=lambda f: f[0].start)
    return found


def find(text: str) -> list[Found]:
    """Every personal number in ``text``, in order, never overlapping."""
    return [f for f, _ in _scan(text)]


@short_memo()  # pure: the same short question is masked once (the day only tells an ID from a number)
def mask(text: str) -> str:
    """``text`` with every personal number replaced by its tag (see the module doc). A tag can free a
    neighbour (a number after a masked phone no longer looks like a decimal part), so masking repeats
    until nothing more is found: mask(mask(t)) == mask(t)."""
    for _ in range(8):
        masked = _mask_once(text)
        if masked == text:
            break
        text = masked
    return text


def _mask_once(text: str) -> str:
    found = _scan(text)
    if not found:
        return text
    out: list[str] = []
    pos = 0
    for f, keep in found:
        out.append(text[pos : f.start])
        out.append(f"[{f.kind.upper()}:***{keep}]" if keep else "[EMAIL]")
        pos = f.end
    out.append(text[pos:])
    return "".join(out)


@short_memo()
def contains_personal(text: str) -> bool:
    """True if the user typed an ID, phone, card number, e-mail address or a 20+ digit number."""
    return bool(_scan(text))


class MaskPersonal(logging.Filter):
    """A logging filter that masks personal numbers in a record's message, traceback and stack.

    Put it on a logger (``log.addFilter(MaskPersonal())``: that logger's own records) or on a
    handler (every record the handler writes, whichever library logged it). The record is
    changed in place, so every handler after it sees the masked text.
    """

    def clean(self, text: str) -> str:
        return mask(text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to logging's own error report
            return True
        masked = self.clean(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.clean(record.exc_text)
        if record.stack_info:
            record.stack_info = self.clean(record.stack_info)
        return True
