"""`socialbot report`: what curators read to improve the knowledge base, as plain text for a terminal.

Four parts, from what the store keeps (questions are stored masked, and only when the bot did not
answer them):
1. counts per language: questions stored, fallbacks, "did you mean" suggestions, 👍, 👎;
2. the most frequent unanswered questions, similar wordings grouped (normalised with
   knowledge.text.normalize, then grouped with rapidfuzz's token_sort_ratio against each group's
   first, most frequent, wording);
2b. likely wrong answers: an answer followed at once by a rephrasing of the same question, a 👎 or
   "that's not what I asked" (bot.doubts), by topic, with the questions it answered;
3. the topics with the most 👎, and with the most 👍;
4. "did you mean" questions and the topic the user then picked: a question variant to add to that
   topic's YAML; and those where the user pressed "None of these": a question no topic answers yet;
5. the known gaps: questions that fell into an `uncovered` topic (social insurance the documents do
   not answer), by gap, with their most frequent wordings: where a new source would help most.
"""
from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from bot.privacy import mask
from bot.store import NONE_OF_THESE
from knowledge.language import LANGS
from knowledge.text import normalize

SIMILAR = 85  # token_sort_ratio at or above which two wordings are one question
TOP_QUESTIONS = 15
TOP_TOPICS = 10
TOP_VARIANTS = 20
SHOWN = 90  # characters of a question shown; the rest is cut with "…"
TOPIC_FILE = "knowledge/topics/{}.yaml"
KIND_WORDS = {"fallback": "fallback", "suggest": "did you mean"}


@dataclass
class Group:
    """Similar wordings of one unanswered question, in one language."""

    lang: str
    key: str  # the normalised first (most frequent) wording, what others are compared with
    text: str  # how it was first written
    count: int = 0
    kinds: Counter = field(default_factory=Counter)  # fallback / suggest
    variants: list[str] = field(default_factory=list)  # other wordings, most frequent first


def report(store, since_days: int | None = None, lang: str | None = None) -> str:
    """The curators' report, as plain text."""
    questions = store.unanswered(since_days=since_days, lang=lang)
    votes = store.feedback(since_days=since_days, lang=lang)
    scope = "all time" if since_days is None else f"the last {since_days} day{'s' if since_days != 1 else ''}"
    title = f"socialbot report: {scope}, {f'language {lang}' if lang else 'all languages'}"
    doubted = store.doubted(since_days=since_days, lang=lang) if hasattr(store, "doubted") else []
    parts = [title + "\n" + "=" * width(title), counts_table(questions, votes), unanswered_section(questions),
             doubted_section(doubted),
             feedback_section(votes), variants_section(questions), gaps_section(questions)]
    return "\n\n".join(parts) + "\n"


# -- 1. counts -------------------------------------------------------------------------------------
def counts_table(questions: list[dict], votes: list[dict]) -> str:
    per: dict[str, Counter] = defaultdict(Counter)
    for row in questions:
        c = per[row.get("lang") or "?"]
        c["questions"] += 1
        c[row.get("kind") or "?"] += 1
    for row in votes:
        per[row.get("lang") or "?"]["up" if (row.get("vote") or 0) > 0 else "down"] += 1
    header = ["language", "questions", "fallbacks", "did you mean", "👍", "👎"]
    keys = ["questions", "fallback", "suggest", "up", "down"]
    langs = [l for l in LANGS if l in per] + sorted(l for l in per if l not in LANGS)
    rows = [[l, *(str(per[l][k]) for k in keys)] for l in langs]
    rows.append(["total", *(str(sum(per[l][k] for l in langs)) for k in keys)])
    return "Per language\n" + table(header, rows)


# -- 2. unanswered questions -----------------------------------------------------------------------
def group_questions(questions: list[dict], threshold: int = SIMILAR) -> list[Group]:
    """Unanswered questions grouped by similar wording, largest group first."""
    by_lang: dict[str, list[dict]] = defaultdict(list)
    for row in questions:
        by_lang[row.get("lang") or "?"].append(row)
    groups: list[Group] = []
    for lang, rows in by_lang.items():
        exact: dict[str, list] = {}  # normalised wording -> [count, first text, kinds]
        for row in rows:
            text = display(row.get("text") or "")
            key = normalize(text) or text
            if key not in exact:
                exact[key] = [0, text, Counter()]
            exact[key][0] += 1
            exact[key][2][row.get("kind") or "?"] += 1
        keys: list[str] = []
        mine: list[Group] = []
        for key, (n, text, kinds) in sorted(exact.items(), key=lambda kv: -kv[1][0]):  # stable: first seen wins ties
            hit = process.extractOne(key, keys, scorer=fuzz.token_sort_ratio, score_cutoff=threshold) if keys else None
            if hit is None:
                keys.append(key)
                mine.append(Group(lang, key, text))
                group = mine[-1]
            else:
                group = mine[hit[2]]
                group.variants.append(text)
            group.count += n
            group.kinds.update(kinds)
        groups += mine
    return sorted(groups, key=lambda g: -g.count)


def unanswered_section(questions: list[dict]) -> str:
    title = "Most frequent unanswered questions (similar wordings grouped)"
    groups = group_questions(questions)
    if not groups:
        return f"{title}\n  (none)"
    lines = [title]
    for g in groups[:TOP_QUESTIONS]:
        how = ", ".join(f"{KIND_WORDS.get(k, k)} ×{n}" for k, n in sorted(g.kinds.items()))
        lines.append(f"  {g.count:>4}  [{g.lang}] {shorten(g.text)}  ({how})")
        if g.variants:
            more = f" and {len(g.variants) - 2} more" if len(g.variants) > 2 else ""
            lines.append("        also: " + " | ".join(shorten(v, 40) for v in g.variants[:2]) + more)
    if len(groups) > TOP_QUESTIONS:
        lines.append(f"  … and {len(groups) - TOP_QUESTIONS} more")
    return "\n".join(lines)


# -- 2b. likely wrong answers ---------------------------------------------------------------------
def doubted_section(rows: list[dict]) -> str:
    """Answers the user's next message doubted, by topic: the questions they answered, grouped."""
    from bot.doubts import REASONS

    title = 'Likely wrong answers (answered, then at once asked again, 👎, or "that\'s not what I asked")'
    if not rows:
        return f"{title}\n  (none)"
    by_topic: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_topic[row.get("topic") or "?"].append(row)
    lines = [title]
    ranked = sorted(by_topic.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    for topic, mine in ranked[:TOP_TOPICS]:
        why = Counter(row.get("why") or "?" for row in mine)
        how = ", ".join(f"{REASONS.get(k, k)} ×{n}" for k, n in sorted(why.items()))
        lines.append(f"  {len(mine):>4}  {topic}  {TOPIC_FILE.format(topic)}  ({how})")
        asked = [{"lang": r.get("lang"), "text": r.get("question") or "", "kind": r.get("why")} for r in mine]
        for g in group_questions([a for a in asked if a["text"]])[:3]:
            lines.append(f"        {g.count:>3} × [{g.lang}] {shorten(g.text, 70)}")
        after = [display(r.get("followup") or "") for r in mine if r.get("why") == "rephrased"][:2]
        if after:
            lines.append("        then: " + " | ".join(shorten(a, 40) for a in after))
    if len(ranked) > TOP_TOPICS:
        lines.append(f"  … and {len(ranked) - TOP_TOPICS} more")
    return "\n".join(lines)


# -- 3. feedback -------------------------------------------------------------------------------------
def feedback_section(votes: list[dict]) -> str:
    up: Counter = Counter()
    down: Counter = Counter()
    for row in votes:
        (up if (row.get("vote") or 0) > 0 else down)[row.get("topic") or "?"] += 1
    out = []
    for title, first, other, mark in (("Topics with the most 👎", down, up, "👎"), ("Topics with the most 👍", up, down, "👍")):
        ranked = sorted(first, key=lambda t: (-first[t], other[t], t))[:TOP_TOPICS]
        if not ranked:
            out.append(f"{title}\n  (none)")
            continue
        lines = [title]
        for topic in ranked:
            ups, downs = up[topic], down[topic]
            lines.append(f"  {first[topic]:>4} {mark}  ({ups} 👍, {downs} 👎)  {topic}  {TOPIC_FILE.format(topic)}")
        out.append("\n".join(lines))
    return "\n\n".join(out)


# -- 4. question variants ------------------------------------------------------------------------------
def variants_section(questions: list[dict]) -> str:
    title = '"Did you mean" choices: question variants to add to a topic'
    picked: dict[tuple[str, str, str], list] = {}  # (lang, normalised text, topic) -> [count, text]
    for row in questions:
        if row.get("kind") != "suggest" or not row.get("chosen") or row["chosen"] == NONE_OF_THESE:
            continue
        text = display(row.get("text") or "")
        key = (row.get("lang") or "?", normalize(text) or text, row["chosen"])
        picked.setdefault(key, [0, text])[0] += 1
    nothing = [row for row in questions if row.get("kind") == "suggest" and row.get("chosen") == NONE_OF_THESE]
    if not picked and not nothing:
        return f"{title}\n  (none)"
    lines = [title] if picked else [title, "  (none)"]
    ranked = sorted(picked.items(), key=lambda kv: -kv[1][0])
    for (lang, _, topic), (n, text) in ranked[:TOP_VARIANTS]:
        lines.append(f"  {n:>4}  [{lang}] \"{shorten(text)}\" → {topic}  "
                     f"(add under questions: {lang} in {TOPIC_FILE.format(topic)})")
    if len(ranked) > TOP_VARIANTS:
        lines.append(f"  … and {len(ranked) - TOP_VARIANTS} more")
    if nothing:  # none of the topics offered was it: a topic to write, or a wording the matcher misread
        lines.append('  "None of these": no topic offered was what they asked')
        for g in group_questions(nothing)[:TOP_VARIANTS]:
            lines.append(f"  {g.count:>4}  [{g.lang}] \"{shorten(g.text)}\"")
    return "\n".join(lines)


# -- 5. known gaps -----------------------------------------------------------------------------------
def gaps_section(questions: list[dict], uncovered: set[str] | None = None) -> str:
    """Questions the bot knew it could not answer from its documents, by gap (uncovered topic)."""
    if uncovered is None:
        from knowledge.kb import load

        uncovered = {t.id for t in load(check=False).topics.values() if t.kind == "uncovered"}
    title = "Asked, but not in the documents (uncovered topics): where a new source would help"
    by_gap: dict[str, list[dict]] = defaultdict(list)
    for row in questions:
        if row.get("known") in uncovered:
            by_gap[row["known"]].append(row)
    if not by_gap:
        return f"{title}\n  (none)"
    lines = [title]
    for gap, rows in sorted(by_gap.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        lines.append(f"  {len(rows):>4}  {gap}  {TOPIC_FILE.format(gap)}")
        for g in group_questions(rows)[:3]:
            lines.append(f"        {g.count:>3} × [{g.lang}] {shorten(g.text, 70)}")
    return "\n".join(lines)


# -- plain text helpers ---------------------------------------------------------------------------------
def display(text: str) -> str:
    """Stored text made safe to print: masked again, one line, no control or bidi characters
    (a question must never be able to move the cursor or recolour a curator's terminal)."""
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs", "Zl", "Zp") else c for c in text)
    return " ".join(mask(text).split())


def shorten(text: str, limit: int = SHOWN) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def width(text: str) -> int:
    """Columns a text takes in a terminal (CJK and emoji take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1 for c in text)


def table(header: list[str], rows: list[list[str]]) -> str:
    cols = [max(width(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0] + " " * (cols[0] - width(cells[0]))
        rest = ("  " + " " * (cols[i] - width(c)) + c for i, c in enumerate(cells) if i)
        return ("  " + first + "".join(rest)).rstrip()

    return "\n".join([line(header), *(line(r) for r in rows)])
