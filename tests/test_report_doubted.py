"""`socialbot report` lists likely wrong answers beside the misses: an answer followed at once by a
rephrasing of the same question, by 👎, or by "that's not what I asked", grouped by topic."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bot.report import report
from tests.conftest import ROOT

ANSWERED = {"en": "when is the annual review?", "es": "¿cuándo es la revisión anual?", "zh": "社保年审是几月份？"}
NOT_ASKED = {"en": "that's not what I asked", "es": "no es lo que pregunté", "zh": "不是我问的"}


@pytest.mark.parametrize("lang", list(ANSWERED))
def test_not_what_i_asked_after_an_answer_is_a_likely_wrong_answer(dialogue, lang):
    topic = dialogue.say("u", ANSWERED[lang]).topic
    assert topic
    dialogue.say("u", NOT_ASKED[lang])
    assert [(r["topic"], r["why"], r["question"]) for r in dialogue.store.doubted()] == [
        (topic, "not_what_i_asked", ANSWERED[lang])]


def test_a_rephrasing_and_a_thumbs_down_count_and_other_follow_ups_do_not(dialogue):
    topic = dialogue.say("a", "when is the annual review?").topic
    dialogue.say("a", "when do I have to do the annual review?")  # the same question again
    dialogue.say("b", "when is the annual review?")
    dialogue.say("b", button=f"fb:down:{topic}")
    dialogue.say("c", "when is the annual review?")
    dialogue.say("c", "👎")
    for user, after in (("d", "thanks"), ("e", "what documents do I need for it?"), ("f", "👍")):
        dialogue.say(user, "when is the annual review?")
        dialogue.say(user, after)
    dialogue.say("g", "how do I bake bread?")  # a miss, then a rephrasing: a miss, not a wrong answer
    dialogue.say("g", "how can I bake bread?")
    rows = dialogue.store.doubted()
    assert sorted((r["user"], r["why"]) for r in rows) == [("a", "rephrased"), ("b", "thumbs_down"),
                                                           ("c", "thumbs_down")]
    text = report(dialogue.store)
    section = text.split("Likely wrong answers")[1].split("\n\n")[0]
    assert f"   3  {topic}  knowledge/topics/{topic}.yaml  (asked again ×1, 👎 ×2)" in section
    assert "3 × [en] when is the annual review?" in section
    assert text.index("Most frequent unanswered") < text.index("Likely wrong answers") < text.index("Topics with")


def test_doubts_are_masked_and_forgotten(dialogue):
    dialogue.say("p", "when is the annual review? my phone is 139.0121.8199")
    dialogue.say("p", "that's not what I asked, call 139 0121 8199")
    [row] = dialogue.store.doubted()
    assert "0121" not in row["question"] + row["followup"]
    dialogue.say("p", "/forget")
    dialogue.say("p", button="forget:yes")
    assert dialogue.store.doubted() == []


def test_the_report_command_shows_them(tmp_path):
    db = tmp_path / "r.db"
    lines = [{"user": "x", "text": "¿cuándo es la revisión anual?"}, {"user": "x", "text": "no es lo que pregunté"}]
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    subprocess.run([sys.executable, "-m", "bot.cli", "batch", "--db", str(db)], cwd=ROOT, env=env, check=True,
                   input="\n".join(json.dumps(l, ensure_ascii=False) for l in lines).encode(), capture_output=True)
    out = subprocess.run([sys.executable, "-m", "bot.cli", "report", "--db", str(db)], cwd=ROOT, env=env,
                         capture_output=True, check=True).stdout.decode()
    assert "not what I asked ×1" in out and "[es] ¿cuándo es la revisión anual?" in out
