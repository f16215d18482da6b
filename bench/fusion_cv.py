#!/usr/bin/env python3
"""Choose the fusion's weights (knowledge.matcher.Fusion) by cross-validation on the tuning data.

    .venv/bin/python bench/fusion_cv.py            # 5 folds over dev + bench/heldout + bench/real/tune
    .venv/bin/python bench/fusion_cv.py --folds 10

Tuning data: ../shared/eval/dev.jsonl, bench/heldout/*.jsonl and bench/real/tune.jsonl (never
bench/real/test.jsonl: that is the figure we report). Each question is scored by the matcher as the
dialogue builds it (procedures folded in) and decided by knowledge.matcher.decide with today's
thresholds: right is the labelled topic answered (dev: an answer holding the expected words), or, for
a question that must not be answered, no answer. This is the matcher alone, without the dialogue's
rules around it (greetings, gaps, compound questions), so its figures differ a little from
bench/heldout.py and bench/real.py; it is fast enough to try every setting of the grid.

For each fold, the setting right most often on the other folds is chosen and scored on the fold
left out; the mean of those out-of-fold figures is what the chosen weights can be expected to do on
unseen questions. Last: the setting chosen on all the tuning data, and its figure per set.
"""
from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from compare import DEFAULT_QUESTIONS, _flow_entries, answer_passes  # noqa: E402
from knowledge.kb import load  # noqa: E402
from knowledge.language import detect  # noqa: E402
from knowledge.matcher import FUSION, LEXICAL, Fusion, Matcher, decide  # noqa: E402

GRID = {"weight": (0.2, 0.3, 0.5), "floor": (0.3, 0.4), "ceiling": (0.8, 0.9),
        "sure": (0.45, 0.6, 2.0), "sure_margin": (0.02, 0.05)}  # sure 2.0: the encoder is always asked


def tuning_sets() -> dict[str, list[dict]]:
    paths = {"dev": DEFAULT_QUESTIONS, **{f"heldout {p.stem}": p for p in sorted((REPO / "bench" / "heldout").glob("*.jsonl"))},
             "real tune": REPO / "bench" / "real" / "tune.jsonl"}
    return {name: [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
            for name, p in paths.items() if p.exists()}


def gold(kb, name: str, item: dict) -> set[str] | None:
    """The topics that answer the item right; None: it must not be answered."""
    if name == "dev":
        return None if item.get("expect_fallback") else {t for t in kb.topics if answer_passes(kb, t, item)}
    topic = item.get("topic")
    return None if topic in (None, "decline") else {topic, *item.get("also", [])}


def right(matcher: Matcher, text: str, lang: str, words: int, accepted: set[str] | None) -> bool:
    decision = decide(matcher.score(text, lang), words=words)
    if accepted is None:
        return decision.outcome != "answer"
    return decision.outcome == "answer" and decision.topic in accepted


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=10)
    args = ap.parse_args(argv)
    kb = load()
    extra, folded = _flow_entries(kb)
    matcher = Matcher(kb, extra=list(extra), fold=folded, remember=0)
    if matcher.dense is None:
        print("the dense model is not available (SOCIALBOT_DENSE=off, or its package is missing)")
        return 1
    rows = [(name, item["text"], detect(item["text"]) or "en", matcher.words(item["text"]), gold(kb, name, item))
            for name, items in tuning_sets().items() for item in items]
    settings = [LEXICAL, FUSION] + [Fusion(**dict(zip(GRID, values))) for values in itertools.product(*GRID.values())]
    outcomes = []  # per setting: right or not, per row
    for setting in settings:
        matcher.fusion = setting
        outcomes.append([right(matcher, *row[1:]) for row in rows])
    order = list(range(len(rows)))
    random.Random(args.seed).shuffle(order)
    folds = [order[k::args.folds] for k in range(args.folds)]
    out_of_fold = []
    for k, held in enumerate(folds):
        held_set = set(held)
        train = [i for i in order if i not in held_set]
        best = max(range(2, len(settings)), key=lambda s: (sum(outcomes[s][i] for i in train), -s))
        out_of_fold.append((sum(outcomes[best][i] for i in held), len(held), sum(outcomes[0][i] for i in held), best))
        print(f"fold {k + 1}: chose {settings[best]}; left-out fold {out_of_fold[-1][0]}/{len(held)} "
              f"(lexical {out_of_fold[-1][2]}/{len(held)})")
    fused = sum(f[0] for f in out_of_fold)
    lexical = sum(f[2] for f in out_of_fold)
    print(f"\nout of fold: fused {fused}/{len(rows)} ({fused / len(rows):.1%}), lexical {lexical}/{len(rows)} "
          f"({lexical / len(rows):.1%})")
    best = max(range(2, len(settings)), key=lambda s: (sum(outcomes[s]), -s))
    print(f"chosen on all the tuning data: {settings[best]}\nin use (knowledge.matcher.FUSION): {FUSION}\n")
    print("| set | lexical | in use | chosen |\n|---|---|---|---|")
    for name in dict.fromkeys(r[0] for r in rows):
        idx = [i for i, r in enumerate(rows) if r[0] == name]
        cells = [f"{sum(outcomes[s][i] for i in idx)}/{len(idx)}" for s in (0, 1, best)]
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
