"""How a message is read, and the normalisation and tokens shared by the knowledge base and what users type.

`read(raw)` reads a message once: cleaned and cut, normalised, its typed-label key and its language,
in one Utterance that everything downstream takes. Content goes through the same functions, so a rule
here (full width, Traditional characters, accents, a typo-tolerant stem) helps matching without
touching content.
"""
from __future__ import annotations

import importlib.util
import json
import re
import unicodedata
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from knowledge.language import HAN, LANGS, detect_lowered, has_cjk, lower
from knowledge.memo import short_memo

_CJK_RUN = re.compile(f"[{HAN}]+")
_LATIN_WORD = re.compile(r"[a-z0-9]+")
_NOT_WORD = re.compile(rf"[^\w{HAN}]+")
_SPACES = re.compile(r"\s+")
_ACCENTED = re.compile(r"[\u00c0-\u024f\u1e00-\u1eff]")  # Latin letters that may carry accents

# What is matched of a message; the rest is read past (and the user told). The longest real question
# seen is under 400 characters, and scoring costs about linearly in the words it has not seen before
# (each is spell-corrected): 2,000 characters of random words took 50-85 ms, 500 take under a third.
MAX_CHARS = 500
HEAD_CHARS = 200  # of a cut message, what is kept of its beginning; the rest of MAX_CHARS is its end
# Control and format characters (bidi overrides, zero-width marks), lone surrogates and private-use
# characters: invisible at best, markup- or encoding-breaking at worst.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\ufeff\ufff9-\ufffb\ud800-\udfff\ue000-\uf8ff]"
)


@dataclass(frozen=True)
class Utterance:
    """One message as read: what every step from routing to scoring takes, so none reads it again."""

    raw: str = field(repr=False)  # as it arrived (not in a repr: it may hold a personal number)
    text: str  # cleaned (see clean), at most MAX_CHARS of it
    cut: bool  # whether text is only the two ends of a longer message
    norm: str  # normalize(text): the form every comparison uses
    key: str  # label_key(text): how it is compared with a button's label or a step word
    lang: str | None  # the language it is written in (knowledge.language), None for a command or no sign

    def retold(self, text: str) -> Utterance:
        """The same message with its text rewritten (a personal number masked): its language and cut
        are what the user sent, its forms are the new text's."""
        norm = normalize(text)
        return replace(self, text=text, norm=norm, key=_compact(norm, text))


def read(raw: str | None) -> Utterance:
    """The one reading of a message, shared by every step that looks at it."""
    return _read(raw or "")


@short_memo()
def _read(raw: str) -> Utterance:
    text, cut = clean(raw)
    lowered = lower(text)
    norm = _spaced(_fold_lowered(lowered))
    lang = detect_lowered(lowered) if text and not text.startswith("/") else None
    return Utterance(raw, text, cut, norm, _compact(norm, text), lang)


def norm_of(said: Utterance | str) -> str:
    """The normalised form of a message already read, or of a text (content, a part of a question)."""
    return said.norm if isinstance(said, Utterance) else normalize(said)


def key_of(said: Utterance | str) -> str:
    """The typed-label key of a message already read, or of a text (a label, a step word)."""
    return said.key if isinstance(said, Utterance) else label_key(said)


def clean(text: str | None) -> tuple[str, bool]:
    """Text without control or bidi-override characters, at most MAX_CHARS of it; and whether it was cut.

    A long message keeps its beginning and its end: a citizen's story usually comes first and the
    question last ("... so which buttons do I press?")."""
    if not text:
        return "", False
    if len(text) <= MAX_CHARS:
        return _INVISIBLE.sub(" ", text).strip(), False
    # never scan a huge text character by character: only the two ends are looked at
    head = _INVISIBLE.sub(" ", text[: MAX_CHARS * 2]).strip()[:HEAD_CHARS]
    tail = _INVISIBLE.sub(" ", text[-MAX_CHARS * 2:]).strip()[-(MAX_CHARS - HEAD_CHARS - 1):]
    return f"{head} {tail}".strip(), True


def _unaccent_table() -> dict[int, str]:
    """Each accented Latin letter to its base letters (é -> e, ñ -> n), built once."""
    table = {}
    for code in [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)]:
        base = "".join(c for c in unicodedata.normalize("NFD", chr(code)) if not unicodedata.combining(c))
        if base != chr(code):
            table[code] = base
    return table


_UNACCENT = _unaccent_table()

# Characters that carry no meaning of their own in a question; they split CJK runs
# so that bigrams never straddle them ("要准备" gives 准备, not 要准). Characters that also build
# the domain's words (个人, 社会, 申请, 当地, 及时, 就业, 统一, 功能, 被保险人, 所在地) are not among them.
_ZH_STOP = set("的了吗呢吧啊呀嘛么我你您他她它们是有要想问和与或都也还这那些哪里什么怎么如何为何可以够该应需去把让给对")
# Kept short on purpose: question words (when, how, where, cuándo, cómo) stay, they tell topics apart.
_STOP = {
    "en": set(
        "a an the i im i'm me my mine we our us you your he she it its they them their is are was were be been being am "
        "do does did doing done to of in on at by for with from and or but so if then than that this these those there "
        "please pls just really actually anyway also still yet any some about into up out "
        "would could should will shall may might must have has had get got u ur ok okay "
        "like kind sort lot lots thing things stuff "
        "one two three thats theres dont doesnt didnt cant wont ive id youre "
        "his her hers him himself herself myself yourself ourselves themselves "
        "t s d ll re ve m".split()  # what is left of "can't", "he's", "we'll" once the apostrophe splits them
    ),
    "es": set(
        "el la los las un una unos unas de del al a en y o u e que se su sus mi mis tu tus yo me te le les lo nos es son "
        "esta este esto estos estas ese esa eso por para con sin sobre hay ya muy mas pero si no tengo tiene tienen "
        "he ha han favor porfa puedo puede pueden quiero quisiera necesito debo hacer hago "
        "solo sola yo tu usted ella ellos nosotros dos tres otro otra todo toda todos cada algo nada bien "
        "pues entonces tambien aqui alli ahi asi vez veces".split()
    ),
}
STOPWORDS = _STOP["en"] | _STOP["es"]

# Suffixes stripped so that registration/register/registro and pagar/pago meet; applied the
# same way to content and questions, so crudeness costs little and gains recall.
_SUFFIXES = sorted(
    "ations ation ciones cion ing ings edly ed es s mente ando iendo ados adas idos idas ado ada ido ida ar er ir "
    "aron ieron aba aban amos emos imos arse erse irse arme erme irme arla arlo melo mela selo sela telo "
    "os as ment ments ly ies y al ales a o e".split(),
    key=len,
    reverse=True,
)


@lru_cache(maxsize=1)
def _simplified_table() -> dict[int, str]:
    """Traditional character -> Simplified, from zhconv's conversion table.

    zhconv's own module imports pkg_resources (0.1 s of every start); the table is all we need,
    and character by character is enough to match questions (phrase-level choices do not change
    which topic a question is about)."""
    spec = importlib.util.find_spec("zhconv")
    folder = Path(next(iter(spec.submodule_search_locations)))
    data = json.loads((folder / "zhcdict.json").read_text(encoding="utf-8"))
    table = {}
    for key in ("zh2Hans", "zh2CN"):
        table.update({ord(k): v for k, v in data.get(key, {}).items() if len(k) == 1 and len(v) == 1})
    return table


def to_simplified(text: str) -> str:
    return text.translate(_simplified_table())


def phrase_needle(phrase: str) -> tuple[str, bool]:
    """How a normalised phrase is looked for in normalised text: a Chinese one as it is, a Latin one as
    whole words (padded with spaces, to be looked for in the text padded the same way); and which."""
    return (phrase, True) if has_cjk(phrase) else (f" {phrase} ", False)


def has_phrase(norm: str, needle: tuple[str, bool]) -> bool:
    """Whether normalised text holds a phrase_needle()."""
    text, cjk = needle
    return text in norm if cjk else text in f" {norm} "


def fold(text: str) -> str:
    """Case, width, accents and Traditional Chinese folded away; punctuation kept."""
    return _fold_lowered(lower(text))


def _fold_lowered(text: str) -> str:
    if has_cjk(text):
        text = to_simplified(text)
    if _ACCENTED.search(text):
        text = text.translate(_UNACCENT)
    return text


@short_memo()
def normalize(text: str) -> str:
    """fold() plus punctuation to single spaces: the form every comparison uses."""
    return _spaced(fold(text))


def _spaced(folded: str) -> str:
    return _SPACES.sub(" ", _NOT_WORD.sub(" ", folded.replace("_", " "))).strip()


@lru_cache(maxsize=8192)  # labels and step words recur on every message of a procedure
def label_key(text: str) -> str:
    """How typed text and a label (a button's, a step word) are compared: normalised, spaces gone too,
    so that "好的，下一步", "好的 下一步" and "okay next" / "ok next" compare by their letters alone (a
    whole message is compared, so this cannot glue two words of a longer question into a false match).
    Text with no letters at all ("👍") is its own key: it must not press every other such button."""
    return _compact(normalize(text), text)


def _compact(norm: str, text: str) -> str:
    return norm.replace(" ", "") or text.strip()


FAMILIES_FILE = Path(__file__).resolve().parent / "families.yaml"
_FAMILY_NAME = re.compile(r"[a-z]+")


def read_families(path: Path = FAMILIES_FILE) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """families.yaml as (word -> family, stem -> family, problems). The problems are what
    `socialbot kb check` reports; the two maps keep the first family a word was given to."""
    import yaml

    words: dict[str, str] = {}
    stems: dict[str, str] = {}
    problems: list[str] = []
    owner: dict[str, str] = {}  # a member as written (folded) -> its family, to report clashes
    try:
        with path.open(encoding="utf-8") as f:
            raw = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    except (yaml.YAMLError, UnicodeDecodeError, OSError) as err:
        return {}, {}, [f"{path.name}: not valid YAML: {err}".replace("\n", " ")]
    if not isinstance(raw, dict):
        return {}, {}, [f"{path.name}: must map each family name to its words per language"]
    for name, langs in raw.items():
        where = f"{path.name}: {name}"
        if not isinstance(name, str) or not _FAMILY_NAME.fullmatch(name):
            problems.append(f"{where}: a family name is lowercase letters a-z")
            continue
        if not isinstance(langs, dict) or not any(isinstance(m, list) and m for m in langs.values()):
            problems.append(f"{where}: must list its words per language (en, es, zh)")
            continue
        for lang, members in langs.items():
            if lang not in LANGS or not isinstance(members, list):
                problems.append(f"{where}.{lang}: unknown language or not a list")
                continue
            for member in members:
                word = _LATIN_WORD.fullmatch(fold(str(member)).rstrip("*"))
                if not word:
                    problems.append(f"{where}.{lang}: {member!r} is not one word of letters")
                    continue
                word = word.group()
                if owner.get(word, name) != name:
                    problems.append(f"{where}.{lang}: {word!r} is already in family {owner[word]!r}")
                    continue
                owner[word] = name
                words.setdefault(word, name)
                if str(member).endswith("*"):
                    stems.setdefault(_strip(word), name)
    return words, stems, problems


@lru_cache(maxsize=1)
def _families() -> tuple[dict[str, str], dict[str, str]]:
    words, stems, _ = read_families()
    return words, stems


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The token a Latin word counts as: its family (families.yaml) if it has one, else its stem."""
    words, stems = _families()
    family = words.get(word)
    if family:
        return family
    stripped = _strip(word)
    return stems.get(stripped, stripped)


def _strip(word: str) -> str:
    if word.isdigit() or len(word) <= 3:
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    # contratacion -> contrata -> contrat, like contratar -> contrat: one more vowel off a long stem.
    if len(word) > 5 and word[-1] in "aeio":
        word = word[:-1]
    return word


def latin_words(normalized: str) -> list[str]:
    return _LATIN_WORD.findall(normalized)


def tokens(normalized: str) -> list[str]:
    """Stemmed Latin words (no stop words) and Chinese bigrams, with single characters as 'u:' tokens.
    A message made only of stop words ("在吗", "yo") keeps them: something must identify it."""
    out = _content_tokens(normalized)
    if not out:
        out = [stem(w) for w in _LATIN_WORD.findall(normalized)]
        for run in _CJK_RUN.findall(normalized):
            out += ["u:" + c for c in run] + [a + b for a, b in zip(run, run[1:])]
    return out


def _content_tokens(normalized: str) -> list[str]:
    out: list[str] = [stem(w) for w in _LATIN_WORD.findall(normalized) if w not in STOPWORDS]
    for run in _CJK_RUN.findall(normalized):
        piece = []
        for ch in run + "的":  # the sentinel flushes the last piece
            if ch in _ZH_STOP:
                if piece:
                    out.extend("u:" + c for c in piece)
                    out.extend(a + b for a, b in zip(piece, piece[1:]))
                    piece = []
            else:
                piece.append(ch)
    return out
