#!/usr/bin/env python3
"""Our matcher against two textbook baselines, on the same knowledge base and the same questions.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/compare.py                       # ../shared/eval/dev.jsonl
    .venv/bin/python bench/compare.py --questions FILE --show-failures

Methods (every one sees only knowledge.kb.load(): question variants, titles, keywords):
  matcher         knowledge.matcher: Matcher(kb).score(text, lang) then decide(); lang is
                  knowledge.language.detect(text), as the dialogue does for a user with no stored language.
  matcher+flows   the same, built as bot.dialogue.Dialogue builds it: the procedures' trigger phrases
                  indexed beside the topics and folded into the topic each procedure belongs to.
  tfidf-char      sklearn TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4)), cosine similarity,
                  the nearest document's topic; below a threshold: fallback.
  bm25            rank_bm25.BM25Okapi, jieba words for Chinese, lower-case words for en/es,
                  the best document's topic; below a threshold: fallback.
Both baselines read text through knowledge.text.fold (case, width, accents, Traditional -> Simplified),
so the comparison is about ranking, not about normalisation. A document is one question variant, one
title, or one topic's keywords in one language. Their fallback threshold is tuned on the very items
scored (the best any single threshold could do: an optimistic figure) and printed beside the table.
A nearest topic of kind out_of_scope counts as a fallback for every method, as decide() does.

Pass rule (the one ../shared/eval/score.py applies to a reply): an on-topic item passes when the method
answers (no fallback, no "did you mean") with a topic whose answer text in the item's language holds,
for every group of "expect", one alternative (case-insensitive, white space ignored). An off-topic item
("expect_fallback": true) passes when the method does not answer: "did you mean" counts as not
answering, as the batch reply's "fallback": true does. score.py also reads the reply's source line and
button labels; this benchmark reads the answer text alone, so it can be a little stricter.
The items' own "topic" field is not used: its ids are not the knowledge base's.

Then the ablation: every set (dev, bench/heldout/*, bench/real/tune and test) through the whole dialogue
with its matcher scoring three ways: lexical only (Matcher(dense=False)), dense only (the encoder's cosine
alone, knowledge.matcher.DENSE_ONLY) and fused (knowledge.matcher.FUSION, what the bot runs).

Columns: overall and per-language pass rate; off-topic caught (off-topic items not answered); false
fallbacks (on-topic items not answered); top-1 = on-topic items whose best-ranked topic passes, whatever
the decision (ranking alone, without thresholds); mean µs per query of ranking + decision, after a warm-up
(model built, zhconv and jieba loaded), averaged over --repeat passes. The matcher is timed with its
caches off (the bot remembers rankings of texts it has seen, which would make every repeat a lookup).
"""
from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from knowledge.kb import KnowledgeBase, Topic, load  # noqa: E402
from knowledge.language import LANGS  # noqa: E402
from knowledge.language import detect  # noqa: E402
from knowledge.matcher import Matcher, decide  # noqa: E402
from knowledge.text import fold, has_cjk, normalize  # noqa: E402

DEFAULT_QUESTIONS = REPO.parent / "shared" / "eval" / "dev.jsonl"
_SPACE = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]+>")
_WORD = re.compile(r"\w+")


# -- the pass rule -------------------------------------------------------------------------------
def squash(text: str) -> str:
    return _SPACE.sub("", _TAG.sub("", text)).casefold()


def answer_passes(kb: KnowledgeBase, topic: str | None, item: dict) -> bool:
    """An on-topic item: the topic answered holds every expected group in the item's language."""
    if topic is None or topic not in kb.topics:
        return False
    text = squash(kb.topics[topic].answer[item["lang"]])
    return all(any(squash(alt) in text for alt in group) for group in item.get("expect") or [])


@dataclass
class Outcome:
    answered: str | None  # topic answered, None when the method fell back / offered "did you mean"
    top: str | None  # best-ranked topic whatever the decision
    score: float  # the best score (the baselines' threshold is tuned on it)


# -- the methods ---------------------------------------------------------------------------------
def _flow_entries(kb: KnowledgeBase):
    """The procedures' trigger phrases as topic-like entries, as bot.dialogue.Dialogue adds them."""
    from conversations.loader import load_flows

    flows = load_flows()
    empty = {lang: () for lang in LANGS}
    extra = [Topic(id=f"flow:{f.id}", kind="flow", title=dict(f.title), answer={lang: "" for lang in LANGS},
                   questions={lang: tuple(f.triggers.get(lang, ())) for lang in LANGS}, keywords=empty)
             for f in flows.values()]
    return extra, {f"flow:{f.id}": f.topic for f in flows.values() if f.topic}


class OurMatcher:
    threshold = None  # its thresholds live in knowledge.matcher.Thresholds

    def __init__(self, kb: KnowledgeBase, with_flows: bool = False):
        self.name = "matcher+flows" if with_flows else "matcher"
        extra, folded = _flow_entries(kb) if with_flows else ((), None)
        self.matcher = Matcher(kb, extra=list(extra), fold=folded, remember=0)  # timed without its caches

    def run(self, text: str) -> Outcome:
        normalize.cache_clear()  # the bot remembers short texts it has seen; the baselines do not
        detect.cache_clear()
        candidates = self.matcher.score(text, detect(text) or "en")
        decision = decide(candidates)
        top = candidates[0].topic if candidates else None
        answered = decision.topic if decision.outcome == "answer" else None
        return Outcome(answered, top, candidates[0].score if candidates else 0.0)


def _documents(kb: KnowledgeBase) -> tuple[list[str], list[str]]:
    """(text, topic) per document: every question variant and title, and each topic's keywords per language."""
    texts, owners = [], []
    for topic in kb.topics.values():
        for lang in LANGS:
            for text in (*topic.questions[lang], topic.title[lang]):
                texts.append(text)
                owners.append(topic.id)
            if topic.keywords[lang]:
                texts.append(" , ".join(topic.keywords[lang]))
                owners.append(topic.id)
    return texts, owners


class _Nearest:
    """A baseline: the best-scoring document's topic, fallback below a threshold (tuned later)."""

    name = "?"

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self.threshold = 0.0
        self.texts, self.owners = _documents(kb)

    def best(self, text: str) -> tuple[str | None, float]:
        raise NotImplementedError

    def run(self, text: str) -> Outcome:
        top, score = self.best(text)
        refuse = top is None or score < self.threshold or self.kb.topics[top].kind == "out_of_scope"
        return Outcome(None if refuse else top, top, score)


class TfidfChar(_Nearest):
    name = "tfidf-char"

    def __init__(self, kb: KnowledgeBase):
        super().__init__(kb)
        from sklearn.feature_extraction.text import TfidfVectorizer

        # preprocessor=fold replaces sklearn's own lower-casing (fold case-folds, and more)
        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), preprocessor=fold)
        self.matrix = self.vectorizer.fit_transform(self.texts)  # rows are L2-normalised: dot = cosine

    def best(self, text: str) -> tuple[str | None, float]:
        sims = (self.matrix @ self.vectorizer.transform([text]).T).toarray().ravel()
        i = int(sims.argmax())
        return (self.owners[i], float(sims[i])) if sims[i] > 0 else (None, 0.0)


def bm25_tokens(text: str) -> list[str]:
    """jieba words when the text has Chinese characters, else lower-case words; folded first."""
    import jieba

    folded = fold(text)
    if has_cjk(folded):
        return [w for w in jieba.lcut(folded) if _WORD.search(w)]
    return _WORD.findall(folded)


class Bm25(_Nearest):
    name = "bm25"

    def __init__(self, kb: KnowledgeBase):
        super().__init__(kb)
        import jieba
        from rank_bm25 import BM25Okapi

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        self.bm25 = BM25Okapi([bm25_tokens(t) or ["∅"] for t in self.texts])

    def best(self, text: str) -> tuple[str | None, float]:
        toks = bm25_tokens(text)
        if not toks:
            return None, 0.0
        scores = self.bm25.get_scores(toks)
        i = int(scores.argmax())
        return (self.owners[i], float(scores[i])) if scores[i] > 0 else (None, 0.0)


# -- scoring ---------------------------------------------------------------------------------------
def passes(kb: KnowledgeBase, item: dict, answered: str | None) -> bool:
    if item.get("expect_fallback"):
        return answered is None
    return answered is not None and answer_passes(kb, answered, item)


def tune_threshold(kb: KnowledgeBase, method: _Nearest, items: list[dict], outcomes: list[Outcome]) -> float:
    """The fallback threshold with the best pass rate on these items (ties: the lowest such threshold)."""
    scores = sorted({o.score for o in outcomes})
    cuts = [0.0] + [(a + b) / 2 for a, b in zip(scores, scores[1:])] + [scores[-1] + 1.0 if scores else 1.0]
    best_cut, best_ok = 0.0, -1
    for cut in cuts:
        method.threshold = cut
        ok = 0
        for item, o in zip(items, outcomes):
            refuse = o.top is None or o.score < cut or kb.topics[o.top].kind == "out_of_scope"
            ok += passes(kb, item, None if refuse else o.top)
        if ok > best_ok:
            best_cut, best_ok = cut, ok
    method.threshold = best_cut
    return best_cut


def timed(method, items: list[dict], repeat: int) -> tuple[list[Outcome], float]:
    """Outcomes for every item, and the mean µs per query over `repeat` passes (after a warm-up pass)."""
    outcomes = [method.run(item["text"]) for item in items]  # warm-up: lazy imports, dictionaries
    t = time.perf_counter()
    for _ in range(repeat):
        for item in items:
            method.run(item["text"])
    elapsed = time.perf_counter() - t
    return outcomes, elapsed / (repeat * max(len(items), 1)) * 1e6


def evaluate(kb: KnowledgeBase, method, items: list[dict], repeat: int) -> dict:
    outcomes, micros = timed(method, items, repeat)
    if isinstance(method, _Nearest):
        tune_threshold(kb, method, items, outcomes)
        outcomes = [method.run(item["text"]) for item in items]
    by_lang: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    off = [0, 0]
    false_fallback = 0
    top1 = [0, 0]
    rows = []
    for item, o in zip(items, outcomes):
        ok = passes(kb, item, o.answered)
        by_lang[item["lang"]][0] += ok
        by_lang[item["lang"]][1] += 1
        if item.get("expect_fallback"):
            off[0] += o.answered is None
            off[1] += 1
        else:
            false_fallback += o.answered is None
            top1[0] += answer_passes(kb, o.top, item)
            top1[1] += 1
        rows.append((item, o, ok))
    total = (sum(v[0] for v in by_lang.values()), sum(v[1] for v in by_lang.values()))
    return {"name": method.name, "total": total, "by_lang": dict(by_lang), "off": off, "top1": top1,
            "false_fallback": false_fallback, "micros": micros, "threshold": method.threshold, "rows": rows}


def near_duplicates(tfidf: TfidfChar, items: list[dict], cut: float) -> tuple[list[str], list[str]]:
    """Items whose nearest knowledge-base document is the same text after normalisation, or close to it
    (char-TF-IDF cosine >= cut): a check that the questions are still unseen by the content."""
    from knowledge.text import normalize

    same, close = [], []
    for item in items:
        sims = (tfidf.matrix @ tfidf.vectorizer.transform([item["text"]]).T).toarray().ravel()
        i = int(sims.argmax())
        if normalize(tfidf.texts[i]) == normalize(item["text"]):
            same.append(item["id"])
        elif sims[i] >= cut:
            close.append(item["id"])
    return same, close


def pct(n: int, d: int) -> str:
    return f"{100 * n / d:.1f}%" if d else "–"


def table(results: list[dict]) -> str:
    head = ("| method | overall | en | es | zh | off-topic caught | false fallbacks | top-1 (no threshold) "
            "| mean µs/query |\n|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in results:
        t = r["total"]
        langs = [pct(*r["by_lang"].get(lang, (0, 0))) for lang in LANGS]
        lines.append(
            f"| {r['name']} | {pct(*t)} ({t[0]}/{t[1]}) | {' | '.join(langs)} | {r['off'][0]}/{r['off'][1]} "
            f"| {r['false_fallback']}/{r['top1'][1]} | {pct(*r['top1'])} ({r['top1'][0]}/{r['top1'][1]}) "
            f"| {r['micros']:,.0f} |"
        )
    return "\n".join(lines)


# -- the ablation: lexical only, dense only, fused, through the whole dialogue ----------------------
ABLATION_SETS = [("dev", DEFAULT_QUESTIONS), *((f"heldout {p.stem}", p) for p in sorted(
    (REPO / "bench" / "heldout").glob("*.jsonl"))), *((f"real {p.stem}", p) for p in (
        REPO / "bench" / "real" / "tune.jsonl", REPO / "bench" / "real" / "test.jsonl"))]


def _modes():
    """(name, matcher keyword arguments): the same knowledge base and procedures, three ways of scoring."""
    from knowledge.matcher import DENSE_ONLY, FUSION

    return [("lexical only", {"dense": False}), ("dense only", {"fusion": DENSE_ONLY}), ("fused", {"fusion": FUSION})]


def _dialogue(**matcher_args):
    """A Dialogue as the bot builds it, its matcher rebuilt with these arguments."""
    from bot.dialogue import Dialogue, _flow_topic
    from bot.store import Store

    d = Dialogue(Store(memory=True))
    d.matcher = Matcher(d.kb, extra=[_flow_topic(f) for f in d.flows.values()],
                        fold={f"flow:{f.id}": f.topic for f in d.flows.values() if f.topic}, **matcher_args)
    return d


def _verdict(kb: KnowledgeBase, name: str, item: dict, reply: dict, flows: dict[str, str]) -> tuple[bool, bool]:
    """(right, is a must-not-answer item) by the rule of the script that owns the set."""
    sys.path.insert(0, str(REPO / "bench"))
    if name.startswith("real"):
        import real

        return real.judge(item, reply, flows) == "right", item["topic"] == real.DECLINE
    if name.startswith("heldout"):
        import heldout

        return heldout.judge(item, reply, flows) == "right", item.get("topic") is None
    if item.get("expect_fallback"):  # dev: the rule ../shared/eval/score.py applies
        return bool(reply.get("fallback")), True
    return not reply.get("fallback") and answer_passes(kb, reply.get("topic"), item), False


def ablation() -> str:
    import io

    from bot.channels import batch

    kb = load()
    flows = {t.id: t.flow for t in kb.topics.values() if t.flow}
    sets = [(name, path, [i for i in (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
                                      if line.strip()) if "text" in i])
            for name, path in ABLATION_SETS if path.exists()]
    modes = _modes()
    figures: dict[tuple[str, str], tuple[int, int, int, int]] = {}
    for mode, kwargs in modes:
        d = _dialogue(**kwargs)
        if mode != "lexical only" and d.matcher.dense is None:
            return "dense model unavailable (SOCIALBOT_DENSE=off, or its package is missing): no ablation"
        for name, _, items in sets:
            payload = "".join(json.dumps({"user": f"{name}/{k}", "text": i["text"]}, ensure_ascii=False) + "\n"
                              for k, i in enumerate(items))
            out = io.StringIO()
            batch.run(d, io.StringIO(payload), out)
            replies = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
            right = nulls = nulls_right = 0
            for item, reply in zip(items, replies, strict=True):
                ok, null = _verdict(kb, name, item, reply, flows)
                right += ok
                nulls += null
                nulls_right += ok and null
            figures[(mode, name)] = (right, len(items), nulls_right, nulls)
    head = "| set | " + " | ".join(f"{m} | (must not answer)" for m, _ in modes) + " |"
    lines = [head, "|---|" + "---|---|" * len(modes)]
    for name, _, items in sets:
        cells = []
        for mode, _ in modes:
            right, n, nr, nn = figures[(mode, name)]
            cells += [f"{pct(right, n)} ({right}/{n})", f"{nr}/{nn}"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS,
                    help="JSON Lines question items (default: %(default)s)")
    ap.add_argument("--repeat", type=int, default=20, help="timed passes over the questions (default: %(default)s)")
    ap.add_argument("--show-failures", action="store_true", help="print every item a method got wrong")
    ap.add_argument("--no-ablation", action="store_true",
                    help="skip the ablation (lexical only / dense only / fused through the dialogue, every set)")
    ap.add_argument("--dup-cut", type=float, default=0.85,
                    help="char-TF-IDF cosine from which a question counts as a near-duplicate of a knowledge-base "
                         "variant (default: %(default)s)")
    args = ap.parse_args(argv)

    with args.questions.open(encoding="utf-8") as f:
        items = [json.loads(line) for line in f if line.strip()]
    items = [i for i in items if "text" in i]  # question items only (not dialogues)
    kb = load()
    methods = []
    for make in (lambda: OurMatcher(kb), lambda: OurMatcher(kb, with_flows=True), lambda: TfidfChar(kb),
                 lambda: Bm25(kb)):
        t = time.perf_counter()
        method = make()
        methods.append((method, time.perf_counter() - t))
    results = [evaluate(kb, m, items, args.repeat) for m, _ in methods]

    n_docs = len(_documents(kb)[0])
    print(f"{len(items)} questions from {args.questions} ({sum(1 for i in items if i.get('expect_fallback'))} "
          f"off-topic); knowledge base: {len(kb.topics)} topics, {n_docs} documents for the baselines\n")
    print(table(results))
    print()
    for (m, built), r in zip(methods, results):
        thr = "thresholds of knowledge.matcher.Thresholds" if r["threshold"] is None else \
            f"fallback below {r['threshold']:.4g} (tuned on these items)"
        print(f"- {r['name']}: {thr}; built in {built * 1000:,.0f} ms")
    tfidf = next(m for m, _ in methods if isinstance(m, TfidfChar))
    same, close = near_duplicates(tfidf, items, args.dup_cut)
    print(f"\nQuestions already in the knowledge base: {len(same)} identical after normalisation"
          f"{' (' + ', '.join(same) + ')' if same else ''}, {len(close)} more near-duplicates "
          f"(cosine >= {args.dup_cut}){' (' + ', '.join(close) + ')' if close else ''}. "
          "The higher these counts, the less the table says about unseen questions.")
    if not args.no_ablation:
        print("\n## Ablation: the whole dialogue (`socialbot batch` in process), its matcher scoring three ways\n")
        print(ablation())
        print("\nEach set judged by its own script's rule (dev: ../shared/eval/score.py's; heldout: bench/heldout.py; "
              "real: bench/real.py, facts included); 'must not answer': off-topic, null and must-decline items "
              "kept unanswered.")
    if args.show_failures:
        for r in results:
            print(f"\n## misses: {r['name']}")
            for item, o, ok in r["rows"]:
                if not ok:
                    print(f"  {item['id']} [{item['lang']}] answered={o.answered} top={o.top} score={o.score:.3f}"
                          f"  {item['text'][:70]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
