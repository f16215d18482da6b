"""Find the topic a question is about, in two pure steps: score() ranks, decide() chooses.

Signals, each in [0, 1], computed per topic over its question variants, title and keywords:
- coverage: how much of the question (weighted by rarity, idf) the topic's words account for;
- fuzzy:    rapidfuzz token_sort_ratio against the best variant in the question's language,
            computed on the token strings (stems, Chinese bigrams) so spelling and word order matter less;
- keyword:  the topic's keywords and synonyms found in the question.
Words the knowledge base has never seen are corrected to the nearest known word when they are
close (a typo), and otherwise count against every topic: that is what makes off-topic
questions fall back instead of landing on the nearest topic.
- dense:    when the model loads (knowledge.dense), the question's cosine to the topic's variants and
            answer text, joined to the three above by fuse(): a weighted sum, weights in Fusion.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from knowledge import dense as dense_model
from knowledge.kb import KnowledgeBase, Topic
from knowledge.language import CJK, LANGS
from knowledge.memo import SHORT
from knowledge.text import STOPWORDS, Utterance, latin_words, norm_of, normalize, phrase_needle, stem, tokens


@dataclass(frozen=True)
class Thresholds:
    """Every number the decision depends on, in one place (tuned on ../shared/eval/dev.jsonl)."""

    answer: float = 0.36  # below this nothing is answered
    suggest: float = 0.30  # between suggest and answer: "did you mean"; below: fallback
    margin: float = 0.01  # top two closer than this: "did you mean" instead of guessing
    terse_margin: float = 0.05  # the same for a terse question ("annual review"), which says less
    terse_words: int = 2  # at most this many words (Chinese: bigrams) make a question terse
    suggest_ratio: float = 0.80  # a topic offered beside the top one must score at least this share of it
    context_vague: float = 0.65  # inside a procedure, a question whose best topic scores under this is vague...
    context_ratio: float = 0.60  # ...and the procedure's own topic wins if it scores this share of the best
    max_suggestions: int = 3


THRESHOLDS = Thresholds()
ANSWERABLE = ("answer", "flow")  # kinds that can be offered in "did you mean" (a flow: its trigger phrases)
WEIGHTS = {"coverage": 0.50, "fuzzy": 0.25, "keyword": 0.25}
COVERAGE_CAP = 15.0  # idf mass of a typical focused question (see score)
TOKEN_FIRM = 3  # variants a word must appear in to belong fully to a topic
TOKEN_FLOOR = 0.6  # how much a word found in one variant only counts
MAX_POOL = 16  # however many tie at the cut
FUZZY_POOL = 8  # topics whose variants rapidfuzz compares, taken from the token stage's ranking
TYPO_CUTOFF = 80  # rapidfuzz ratio for an unknown word to count as a misspelt known one


@dataclass(frozen=True)
class Fusion:
    """How the dense signal joins the lexical score (tuned by cross-validation, see bench/compare.py).
    A cosine is first mapped to [0, 1] between floor (unrelated) and ceiling (a paraphrase), so that
    both signals speak the same scale and the thresholds above keep their meaning."""

    weight: float = 0.3  # share of the dense signal in the score; 0: lexical only, 1: dense only
    floor: float = 0.4
    ceiling: float = 0.9
    answer_weight: float = 1.0  # a topic's answer text counts this much beside its question variants
    sure: float = 0.45  # a lexical best at least this high...
    sure_margin: float = 0.02  # ...and this far ahead of the next is decided by the words alone
    # A word or two ("卡", "the", "的了吗") is too little for an encoder, which finds any short text like
    # the short greeting variants: such questions are left to the words.
    min_words: int = 2


FUSION = Fusion()
LEXICAL = Fusion(weight=0.0)
DENSE_ONLY = Fusion(weight=1.0, sure=2.0, min_words=0)  # the meaning alone, for every question


def fuse(lexical: float, variant: float, answer: float = -1.0, fusion: Fusion = FUSION) -> float:
    """One topic's score from its lexical score (in [0, 1]) and the question's best cosine to its
    variants and to its answer text. Pure; a weighted sum, not a rank fusion: how far ahead a topic
    is matters to the decision (a margin, a threshold), and ranks forget it."""
    similarity = max(variant, answer * fusion.answer_weight)
    dense = min(1.0, max(0.0, (similarity - fusion.floor) / (fusion.ceiling - fusion.floor)))
    return round((1 - fusion.weight) * lexical + fusion.weight * dense, 4)
# Rankings remembered, by normalised question and language. Citizens ask the same few things in the
# same few words ("年审", "hello", "when is the annual review"), and a ranking is pure, so a repeat costs
# a dictionary lookup instead of ~100 µs of scoring. Bounded: a few MB at most.
RANK_CACHE = 8192


class Candidate(NamedTuple):  # a tuple: a ranking builds a dozen of them per question
    topic: str
    score: float
    kind: str = "answer"
    exact: bool = False  # the question is worded exactly as one of this topic's variants


class Decision(NamedTuple):  # a tuple, like Candidate: one is made for every message
    outcome: str  # answer | suggest | fallback
    topic: str | None
    confidence: float
    candidates: tuple[Candidate, ...]
    out_of_scope: bool = False  # the best match is a topic we know we must not answer (out_of_scope, uncovered)


class Matcher:
    def __init__(self, kb: KnowledgeBase, extra: list[Topic] = (), fold: dict[str, str] | None = None,
                 *, remember: int = RANK_CACHE, dense: "dense_model.Dense | None | bool" = True,
                 fusion: Fusion = FUSION):
        """extra: more topic-like entries (procedures' trigger phrases); fold: entry id -> topic id whose
        score it lends instead of competing with it (a procedure and the topic it belongs to are one answer);
        remember: how many rankings to keep (0: score every question afresh, as a benchmark must);
        dense: True loads the dense scorer (knowledge.dense; lexical only if it cannot load), False or None
        keeps the matcher lexical, a Dense built for the same entries is used as it is."""
        self.kb = kb
        entries = [*kb.topics.values(), *extra]
        if dense is True:
            dense = dense_model.load(entries)
        self.dense = dense or None
        self.fusion = fusion if self.dense is not None else LEXICAL
        self.kinds = {t.id: t.kind for t in entries}
        self.anchored = frozenset(t.id for t in entries if t.anchored)
        self.fold = {k: v for k, v in (fold or {}).items() if v in self.kinds}
        topic_tokens: dict[str, set[str]] = defaultdict(set)
        strength: dict[tuple[str, str], float] = defaultdict(float)  # (topic, token) -> how firmly it belongs
        raw_variants: list[tuple[str, str, list[str]]] = []
        self.vocabulary: dict[str, str] = {}  # known Latin word -> its stem, for typo correction
        for topic in entries:
            for lang in LANGS:
                texts = list(topic.questions[lang]) + [topic.title[lang]]
                for text in texts:
                    norm = normalize(text)
                    toks = tokens(norm)
                    raw_variants.append((topic.id, lang, toks))
                    topic_tokens[topic.id].update(toks)
                    for tok in set(toks):
                        strength[(topic.id, tok)] += 1 / TOKEN_FIRM
                    self._learn_words(norm)
                for kw in topic.keywords[lang]:
                    norm = normalize(kw)
                    toks = tokens(norm)
                    topic_tokens[topic.id].update(toks)
                    for tok in toks:
                        strength[(topic.id, tok)] += 1.0  # a curator named it: it belongs
                    self._learn_words(norm)
        n = len(entries)
        df: dict[str, int] = defaultdict(int)
        for toks in topic_tokens.values():
            for tok in toks:
                df[tok] += 1
        self.idf = {tok: math.log(1 + n / count) * (0.5 if tok.startswith("u:") else 1.0) for tok, count in df.items()}
        self.unknown_idf = math.log(1 + n / 3)  # unknown words count against every topic, but as filler
        # A word in one stray variant belongs to a topic less than one in many of its variants or its
        # keywords: 到底 in one review question must not weigh like 社会保险 in every definition question.
        self.topic_postings: dict[str, tuple[tuple[str, float], ...]] = defaultdict(tuple)
        for tid, toks in topic_tokens.items():
            for tok in toks:
                firm = TOKEN_FLOOR + (1 - TOKEN_FLOOR) * min(1.0, strength[(tid, tok)])
                self.topic_postings[tok] += ((tid, firm),)
        # The same, with each word's idf already applied: what scoring adds up, per question word.
        self.weighted_postings = {tok: tuple((tid, self.idf[tok] * firm) for tid, firm in posts)
                                  for tok, posts in self.topic_postings.items()}
        # A question worded exactly as a curated variant is that topic, whatever keywords elsewhere say.
        self.exact: dict[str, str] = {}
        for topic in entries:
            for lang in LANGS:
                for text in topic.questions[lang]:
                    self.exact.setdefault(normalize(text), topic.id)
        self.fuzzy_choices: dict[tuple[str, str], list[str]] = defaultdict(list)  # (topic, lang) -> token strings
        for tid, lang, toks in raw_variants:
            joined = " ".join(sorted({t for t in toks if not t.startswith("u:")}))
            self.fuzzy_choices[(tid, lang)].append(joined)
        self.keywords = self._keyword_index(entries)
        # Out-of-scope topics and what brings a question back in scope: a person from Colombia asking
        # about the social insurance in their Shanghai contract is asking about China.
        self.unless = {t.id: (_phrases(t.unless), _phrases(t.still_if)) for t in entries if t.unless}
        self._known_words = list(self.vocabulary)
        # Four-letter known words by their letters: "crad" is "card" with two letters swapped, one edit
        # that the similarity cutoff (0.75 for four letters) would not let through on its own.
        self._swaps: dict[str, list[str]] = defaultdict(list)
        for word in self._known_words:
            if len(word) == 4:
                self._swaps["".join(sorted(word))].append(word)
        # Per matcher, so its memory goes with it.
        self._ranked = lru_cache(maxsize=remember)(self._rank)
        self._words = lru_cache(maxsize=remember)(self._count_words)

    def _sure(self, lexical: dict[str, float]) -> bool:
        """The words alone settle it: the best topic scores at least fusion.sure and leads the next
        (procedures folded into their topics) by fusion.sure_margin. Then the encoder is not asked: it
        would cost ~2 ms, and its sense of likeness, coarser than the words', only blurs a clear lead."""
        best: dict[str, float] = {}
        for tid, score in lexical.items():
            target = self.fold.get(tid, tid)
            best[target] = max(score, best.get(target, 0.0))
        top = sorted(best.values(), reverse=True)[:2] + [0.0, 0.0]
        return top[0] >= self.fusion.sure and top[0] - top[1] >= self.fusion.sure_margin

    def _learn_words(self, norm: str) -> None:
        for word in latin_words(norm):
            if word not in STOPWORDS:
                self.vocabulary.setdefault(word, stem(word))

    @staticmethod
    def _keyword_index(entries: list[Topic]) -> dict[str, list[tuple[str, bool, tuple[tuple[str, float], ...]]]]:
        """anchor -> (what to look for, is Chinese, ((topic, weight), ...)); a keyword many topics share
        weighs little. The anchor (a Chinese keyword's first character, a Latin one's first word) lets a
        question look up only the keywords that could occur in it; a Latin keyword is looked for with a
        space either side (whole words), a Chinese one as it is."""
        owners: dict[str, set[str]] = defaultdict(set)
        for topic in entries:
            for lang in LANGS:
                for kw in topic.keywords[lang]:
                    norm = normalize(kw)
                    if norm:
                        owners[norm].add(topic.id)
        index: dict[str, list[tuple[str, bool, tuple[tuple[str, float], ...]]]] = defaultdict(list)
        for norm, tids in owners.items():
            needle, cjk = phrase_needle(norm)
            anchor = norm[0] if cjk else norm.split()[0]
            owned = tuple((tid, 1.0 / len(tids)) for tid in sorted(tids))
            index[anchor].append((needle, cjk, owned))
        return dict(index)

    @lru_cache(maxsize=4096)
    def _correct(self, word: str) -> str | None:
        """The known word a misspelt one stands for, or None."""
        if len(word) < 4 or word.isdigit():
            return None
        found = process.extractOne(word, self._known_words, scorer=OSA.normalized_similarity,
                                   score_cutoff=TYPO_CUTOFF / 100)
        if found:
            return self.vocabulary[found[0]]
        if len(word) == 4:  # only a swap of two neighbours, and only when it points to one word
            swapped = [w for w in self._swaps.get("".join(sorted(word)), ()) if OSA.distance(word, w) == 1]
            if len(swapped) == 1:
                return self.vocabulary[swapped[0]]
        return None

    def query_tokens(self, norm: str) -> list[str]:
        """The question's tokens, a misspelt word replaced by the known word it stands for."""
        out = tokens(norm)
        if all(t in self.idf or t.startswith("u:") for t in out):
            return out
        fixes = {}
        for word in latin_words(norm):
            stemmed = stem(word)
            if stemmed not in self.idf and stemmed not in fixes:
                fixed = self._correct(word)
                if fixed:
                    fixes[stemmed] = fixed
        return [fixes.get(t, t) for t in out]

    def words(self, said: Utterance | str) -> int:
        """How many content words (Chinese: bigrams) a question (read, or a text) has, for decide()."""
        norm = norm_of(said)
        return self._words(norm) if len(norm) <= SHORT else self._count_words(norm)

    @staticmethod
    def _count_words(norm: str) -> int:
        return sum(1 for t in tokens(norm) if not t.startswith("u:"))  # typo fixes keep the count

    def score(self, said: Utterance | str, lang: str | None = None) -> list[Candidate]:
        """Every topic with any evidence, best first, for a question read (knowledge.text.read) or a
        text. Pure: the same text always ranks the same."""
        norm = norm_of(said)
        # A long message is rarely sent twice: scored afresh, it never crowds out the short ones.
        return list(self._ranked(norm, lang) if len(norm) <= SHORT else self._rank(norm, lang))

    def _rank(self, norm: str, lang: str | None) -> tuple[Candidate, ...]:
        # Sorted, not a set: float sums in a set's order (which changes with the hash seed) can tip a tie
        # at the pool's cut, and then two processes would rank the same question differently.
        qtoks = sorted(set(self.query_tokens(norm)))
        if all(t.isdigit() for t in qtoks):  # nothing, or bare numbers ("9", "{{ 7*7 }}"): no question to match
            return ()
        idf, unknown = self.idf, self.unknown_idf
        qweight = sum(idf.get(t, unknown) for t in qtoks)
        token_stage: dict[str, float] = defaultdict(float)
        postings = self.weighted_postings
        for tok in qtoks:
            for tid, weight in postings.get(tok, ()):
                token_stage[tid] += weight
        # A long question tells a story around its subject; past COVERAGE_CAP its extra words stop
        # counting against every topic, so context does not drown what it asks.
        scale = 1.0 / min(qweight, COVERAGE_CAP)  # applied to the pooled topics only, below
        keyword: dict[str, float] = defaultdict(float)
        padded = f" {norm} "
        anchors = set(norm.split()) | set(CJK.findall(norm))
        for anchor in anchors:
            for needle, cjk, owned in self.keywords.get(anchor, ()):
                if needle in (norm if cjk else padded):
                    for tid, weight in owned:
                        keyword[tid] += weight
        ranked_stage = sorted(token_stage.values(), reverse=True)
        # Topics tied at the cut all get in; no known word at all leaves only keyword topics.
        cut = ranked_stage[min(FUZZY_POOL, len(ranked_stage)) - 1] if ranked_stage else float("inf")
        pool = sorted((t for t, v in token_stage.items() if v >= cut), key=lambda t: (-token_stage[t], t))
        pool = set(pool[:MAX_POOL]) | set(keyword)  # a curated keyword always earns a look
        pool -= self.anchored - keyword.keys() - {self.exact.get(norm)}
        coverage = {tid: min(1.0, token_stage.get(tid, 0.0) * scale) for tid in pool}
        joined = " ".join(sorted(t for t in qtoks if not t.startswith("u:")))
        fuzzy: dict[str, float] = {}
        for tid in pool:
            choices = self.fuzzy_choices.get((tid, lang), ()) if lang else [
                c for l in LANGS for c in self.fuzzy_choices.get((tid, l), ())]
            # Both sides are sorted token strings, so ratio() here is token_sort_ratio without re-sorting.
            best = process.extractOne(joined, choices, scorer=fuzz.ratio) if choices else None
            fuzzy[tid] = best[1] if best else 0.0
        if self.unless:
            pool = {tid for tid in pool
                    if tid not in self.unless or not _back_in_scope(*self.unless[tid], norm, padded)}
        exact_topic = self.exact.get(norm)
        w_cov, w_fz, w_kw = WEIGHTS["coverage"], WEIGHTS["fuzzy"] / 100, WEIGHTS["keyword"]
        lexical = {tid: round(w_cov * coverage[tid] + w_fz * fuzzy.get(tid, 0.0)
                              + w_kw * min(1.0, keyword.get(tid, 0.0)), 4) for tid in pool}
        if (self.dense is not None and exact_topic is None and not self._sure(lexical)
                and sum(1 for t in qtoks if not t.startswith("u:")) >= self.fusion.min_words):
            similar = self.dense.similarities(norm)
            fusion = self.fusion
            # A topic the words missed but the meaning found joins the pool (out-of-scope rules still apply).
            for tid, (variant, answer) in similar.items():
                if tid not in lexical and tid not in self.anchored and \
                        max(variant, answer * fusion.answer_weight) > fusion.floor and (
                        tid not in self.unless or not _back_in_scope(*self.unless[tid], norm, padded)):
                    lexical[tid] = 0.0
            lexical = {tid: fuse(lex, *similar.get(tid, (-1.0, -1.0)), fusion=fusion) for tid, lex in lexical.items()}
        best: dict[str, tuple[float, bool]] = {}  # topic (procedures folded in) -> (score, exact)
        for tid in lexical:
            exact = exact_topic == tid
            total = 1.0 if exact else lexical[tid]
            target = self.fold.get(tid, tid)
            if target not in best or total > best[target][0]:
                best[target] = (total, exact)
        ranked = sorted(best.items(), key=lambda item: (not item[1][1], -item[1][0], item[0]))
        return tuple(Candidate(tid, total, self.kinds[tid], exact) for tid, (total, exact) in ranked)


def in_context(decision: Decision, candidates: list[Candidate], context: set[str],
               thresholds: Thresholds = THRESHOLDS) -> Decision:
    """The decision for a question asked inside a procedure: a vague question ("what documents do I
    bring?", "which bank?") that fits the procedure's own topics nearly as well as the best topic is
    about the procedure. A clear question about something else, or an exact variant, is left alone."""
    if not candidates or candidates[0].exact or candidates[0].score < thresholds.answer:
        return decision  # too weak to be a question at all ("{{config}}", an emoji): context cannot make it one
    top = candidates[0]
    if top.topic in context:
        if decision.outcome == "answer":
            return decision
        return Decision("answer", top.topic, top.score, (top,))  # a near tie: the context settles it
    if top.score >= thresholds.context_vague:
        return decision
    own = next((c for c in candidates if c.topic in context), None)
    if own is None or own.score < thresholds.suggest or own.score < top.score * thresholds.context_ratio:
        return decision
    return Decision("answer", own.topic, own.score, (own,))


def _phrases(per_lang: dict[str, tuple[str, ...]]) -> tuple[tuple[str, bool], ...]:
    """Phrases as they are looked for: a Chinese one as it is, a Latin one as whole words (padded)."""
    found = (normalize(p) for phrases in per_lang.values() for p in phrases)
    return tuple(phrase_needle(p) for p in found if p)


def _back_in_scope(unless, still_if, norm: str, padded: str) -> bool:
    def says(phrases):
        return any(needle in (norm if cjk else padded) for needle, cjk in phrases)

    return says(unless) and not says(still_if)


def decide(candidates: list[Candidate], thresholds: Thresholds = THRESHOLDS, words: int | None = None) -> Decision:
    """Answer, "did you mean", or fall back. Pure, and the only place thresholds are read.
    `words`: how many words the question had (Matcher.words), when known."""
    shown = tuple(candidates[:3])
    if not candidates or candidates[0].score < thresholds.suggest:
        return Decision("fallback", None, candidates[0].score if candidates else 0.0, shown)
    top = candidates[0]
    if top.kind in ("out_of_scope", "uncovered"):  # we know this question, and that we have no answer to it
        # Shown beside it: the nearest topics we do answer, not the other gaps it brushed against.
        nearest = tuple(c for c in candidates[1:] if c.kind not in ("out_of_scope", "uncovered"))[:2]
        return Decision("fallback", None, top.score, (top, *nearest), out_of_scope=True)
    if top.exact:  # a curator wrote this very question for this topic
        return Decision("answer", top.topic, top.score, shown)
    def offer() -> tuple[Candidate, ...]:  # only worked out when it is offered
        return tuple(
            c for c in candidates if c.kind in ANSWERABLE and c.score >= top.score * thresholds.suggest_ratio
        )[: thresholds.max_suggestions]

    if top.score >= thresholds.answer:
        runner_up = candidates[1] if len(candidates) > 1 else None
        too_close = (
            top.kind in ANSWERABLE and runner_up is not None and runner_up.kind in ANSWERABLE
            and top.score - runner_up.score < (
                thresholds.terse_margin if words is not None and words <= thresholds.terse_words else thresholds.margin)
        )
        if not too_close:
            return Decision("answer", top.topic, top.score, shown)
        return Decision("suggest", None, top.score, offer())
    if top.kind in ANSWERABLE:
        return Decision("suggest", None, top.score, offer())
    return Decision("fallback", None, top.score, shown)
