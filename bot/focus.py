"""Does the answer account for what the question asks about? Pure decisions, no I/O.

The matcher finds the topic nearest a question; nearness is not an answer. "When does the subsidy
arrive each year?" lies next to the review months, but its focus (the subsidy) is nowhere in that
topic. A question that names a known gap (an `uncovered` topic's keyword) or an errand we do not
run (an `out_of_scope` one), where the chosen topic never speaks of that thing, is about the gap:
the bot says so instead of answering the neighbour.
"""
from __future__ import annotations


import re

from bot import schema
from knowledge.kb import KnowledgeBase, Topic
from knowledge.language import LANGS
from knowledge.matcher import Candidate, Decision
from knowledge.text import has_phrase, normalize, phrase_needle

GAP_KINDS = ("uncovered", "out_of_scope")
# An errand word ("electricity bill", "match") inside a social insurance question is weaker evidence
# than a gap's own words: the errand must also score near the chosen topic (the social security card
# really does pay the water and electricity bills).
ERRAND_RATIO = 0.6
QUESTION_WORDS = 2  # what is left of a greeting must be at least this many words to be a question
TROUBLE_TOPIC = "certification-problems"  # where a report of a failed face or ID check is answered
# Procedures only a company carries out: a question that names no company, employer or staff is a
# person's own ("我今年七十岁了，第一次弄这个年审"), and one of these would send them the wrong way.
EMPLOYER_TOPICS = frozenset({"new-employer-account", "review-materials-process"})
GUESS_FLOOR = 0.30  # a personal topic scoring under this is no guess worth asking about


class Focus:
    """What each topic speaks of, to check a chosen topic against what a question names."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self._said = {tid: _everything_said(t) for tid, t in kb.topics.items()}
        self._needles = {
            tid: tuple(dict.fromkeys(_needle(normalize(k)) for lang in LANGS for k in t.keywords[lang]
                                     if normalize(k)))
            for tid, t in kb.topics.items() if t.kind in GAP_KINDS
        }

    def gap(self, norm: str, topic: str, candidates: list[Candidate] | tuple[Candidate, ...]) -> str | None:
        """The gap topic a question is really about when `topic` was chosen for it, or None.

        Only gaps the matcher ranked count (it has already set aside an out-of-scope topic the
        question brings back in scope: "I'm from Mexico, working in Shanghai")."""
        said = self._said.get(topic)
        if said is None or self.kb.topics[topic].kind != "answer":
            return None
        chosen = next((c.score for c in candidates if c.topic == topic), 0.0)
        for c in candidates:
            if c.kind not in GAP_KINDS or c.topic not in self._needles:
                continue
            if c.kind == "out_of_scope" and c.score < chosen * ERRAND_RATIO:
                continue
            if self._names(norm, c.topic, said):
                return c.topic
        return None

    def _names(self, norm: str, gap: str, said: str) -> str | None:
        """A phrase of the gap's found in the question that the chosen topic never uses."""
        for needle in self._needles[gap]:
            if has_phrase(norm, needle) and not has_phrase(said, needle):
                return needle[0].strip()
        return None


def _needle(phrase: str) -> tuple[str, bool]:
    """A number ("12306", the railway app) is looked for as it is: Chinese runs straight into it."""
    return (phrase, True) if phrase.isdigit() else phrase_needle(phrase)


def _everything_said(topic: Topic) -> str:
    parts = []
    for lang in LANGS:
        parts += [topic.title[lang], topic.answer[lang], *topic.questions[lang], *topic.keywords[lang]]
    return " ".join(normalize(p) for p in parts)


def about_gap(decision: Decision, gap: str, candidates) -> Decision:
    """The decision turned round: the question is about `gap`, and the topic first chosen is offered
    beside it (what the documents do say)."""
    gap_c = next(c for c in candidates if c.topic == gap)
    chosen = next(c for c in candidates if c.topic == decision.topic)
    return Decision("fallback", None, gap_c.score, (gap_c, chosen), out_of_scope=True)


def personal(decision: Decision, candidates, about_self: bool, employer_named: bool) -> Decision:
    """An employer's procedure chosen for a person speaking of themselves, with no employer named,
    is a guess at best: their own nearest topic is offered as a question ("Do you mean ...?")."""
    if decision.outcome != "answer" or decision.topic not in EMPLOYER_TOPICS or employer_named or not about_self:
        return decision
    if candidates and candidates[0].exact:
        return decision
    guess = next((c for c in candidates if c.kind == "answer" and c.topic not in EMPLOYER_TOPICS
                  and c.score >= GUESS_FLOOR), None)
    if guess is None:
        return Decision("fallback", None, decision.confidence, decision.candidates)
    return Decision("confirm", guess.topic, guess.score, (guess,))


# Where a message asks a second thing: after a question mark or semicolon, or at "and how ...",
# "y cómo ...", "还有" (a connective followed by a question word).
_QUESTION_WORDS = "|".join(re.escape(w) for _, words in schema.words().question_words.items() for w in words)
_SPLIT = re.compile(
    r"[?？;；!！]+|(?:,\s*|\s+)(?:and|also|plus|y|además)\s+(?=(?:" + _QUESTION_WORDS + r")\b)"
    r"|[，,]?(?:还有|另外|以及|顺便问一下|顺便问)", re.IGNORECASE)
PART_FLOOR = 0.6  # a second part's topic must score this on the part alone to be read as asked
OFFER_FLOOR = 0.5  # ...or this, to be offered as a button when the part alone would get "did you mean"
HALF_LEAD = 0.05  # beside a gap, a part is answered only when its topic leads the next this clearly
MAX_PARTS = 2  # a question of more parts than this is a story around one question, not a list


_ASKS = re.compile(r"(?<!\w)(?:" + _QUESTION_WORDS + r")(?!\w)|吗|什么|怎么|怎样|如何|哪|几|多少|能不能|可不可以|是否",
                   re.IGNORECASE)


def parts(text: str) -> list[str]:
    """A compound question's parts ("What is the annual review, and how do I do it online?"), or []
    when it asks one thing. Only a message of exactly two parts, each a question, is read as two
    questions: "I'm doing it for the first time, how ...?" is one question with its story."""
    found = [p.strip(" ,，。.") for p in _SPLIT.split(text)]
    found = [p for p in found if p]
    if len(found) != MAX_PARTS or not all(_ASKS.search(p) for p in found):
        return []
    return found


def clear_part(decision: Decision) -> bool:
    """A later part answered beside a gap must be a question of its own, not an ellipsis leaning on
    the part before ("what percentage does the worker pay, and which the company?"): its topic
    leads clearly."""
    others = [c.score for c in decision.candidates if c.topic != decision.topic]
    return decision.confidence - max(others, default=0.0) >= HALF_LEAD


def second_topic(first: str, scored_parts, kinds: dict[str, str]) -> tuple[str, str] | None:
    """What a compound question's other part asks about, and how to meet it: "answer" (a clear topic),
    "offer" (a likely topic, as a button) or "gap" (a known gap, said plainly).
    scored_parts: per part, (its decision, its candidates)."""
    for decision, candidates in scored_parts:
        if decision.outcome == "answer" and decision.topic == first:
            continue  # this part is the one already answered
        if decision.outcome == "fallback" and decision.out_of_scope and candidates and \
                decision.candidates[0].kind == "uncovered":
            return decision.candidates[0].topic, "gap"
        for c in candidates:
            floor = OFFER_FLOOR if decision.outcome == "suggest" else PART_FLOOR
            if c.kind == "answer" and kinds.get(c.topic) == "answer" and c.topic != first and c.score >= floor:
                clear = decision.outcome == "answer" and decision.topic == c.topic
                return c.topic, "answer" if clear else "offer"
            if c.kind == "uncovered":
                break
    return None
