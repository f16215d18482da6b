"""The held-out question sets in bench/heldout/ stay usable: valid lines, real topics, all languages."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from knowledge.kb import load
from knowledge.language import LANGS

HELDOUT = sorted((Path(__file__).resolve().parent.parent / "bench" / "heldout").glob("*.jsonl"))


@pytest.mark.parametrize("path", HELDOUT, ids=[p.name for p in HELDOUT])
def test_a_heldout_set_names_real_topics_in_every_language(path):
    topics = load().topics
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert items
    assert all(set(i) == {"lang", "text", "topic"} and i["text"].strip() for i in items)
    assert all(i["topic"] is None or i["topic"] in topics for i in items)
    assert set(Counter(i["lang"] for i in items)) == set(LANGS)
    assert any(i["topic"] is None for i in items)  # it checks the bot keeps quiet, too


def test_heldout_questions_are_not_copied_into_the_knowledge_base():
    """They measure what the bot was not shown; copies in the KB would make them a memory test.
    A few short everyday questions ("hi there", "五险是哪五险") coincide with a variant by nature."""
    from knowledge.text import normalize

    variants = {normalize(q) for t in load().topics.values() for qs in t.questions.values() for q in qs}
    items = [json.loads(line) for p in HELDOUT for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
    copied = [i["text"] for i in items if normalize(i["text"]) in variants]
    assert len(copied) <= len(items) * 3 // 100, copied
    assert all(len(normalize(text).split()) <= 6 for text in copied), copied


def test_the_judge_counts_a_started_procedure_as_right_and_an_answered_null_as_wrong():
    import importlib.util

    spec = importlib.util.spec_from_file_location("heldout", HELDOUT[0].parent.parent / "heldout.py")
    heldout = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(heldout)
    flows = {"online-certification": "annual_review"}
    assert heldout.judge({"topic": "online-certification"}, {"kind": "step", "flow": "annual_review"}, flows) == "right"
    assert heldout.judge({"topic": None}, {"kind": "answer", "topic": "card-uses", "fallback": False}, flows) == "wrong"
    assert heldout.judge({"topic": None}, {"kind": "fallback", "fallback": True}, flows) == "right"
    assert heldout.judge({"topic": "card-uses"}, {"kind": "suggest", "fallback": True}, flows) == "suggest"
    assert heldout.judge({"topic": "card-uses"}, {"kind": "fallback", "fallback": True}, flows) == "refused"


def test_the_heldout_dialogues_are_in_score_py_s_format():
    path = HELDOUT[0].parent / "dialogues" / "procedures.jsonl"
    dialogues = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert {d["lang"] for d in dialogues} == set(LANGS)
    for d in dialogues:
        assert d["id"] and d["turns"]
        for turn in d["turns"]:
            assert turn["text"].strip() and turn["expect"] and all(isinstance(g, list) and g for g in turn["expect"])
