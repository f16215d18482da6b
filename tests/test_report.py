"""The curators' loop: every fallback, "did you mean" (and the choice made) and 👍/👎 is stored, and
`socialbot report` reads it back: counts per language, grouped unanswered questions, topics by 👎
and 👍, and question variants to add to a topic."""
from __future__ import annotations

import copy
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

import pytest

from bot.dialogue import Dialogue
from bot.report import display, group_questions, report
from bot.store import Store, _iso, now

ROOT = Path(__file__).resolve().parent.parent
QUESTION = {"en": "When is the annual review?", "es": "¿Cuándo es la revisión anual?", "zh": "社保年审是几月份？"}
# The same unanswered question, worded a little differently each time.
BREAD = {
    "en": ["How do I bake bread?", "how do i bake bread", "How do I bake bread??", "How can I bake bread?"],
    "es": ["¿Cómo se cocina una paella?", "como se cocina una paella", "¿Cómo se cocina una buena paella?"],
    "zh": ["怎么烤面包？", "怎麼烤麵包", "怎么烤面包呢？"],  # the second in Traditional characters
}
# One-word questions the matcher cannot settle: it offers topics ("did you mean").
VAGUE = {"en": ["payment", "review", "law"], "es": ["pago", "revisión", "ley"], "zh": ["缴费", "年审", "材料"]}


@pytest.fixture(scope="module")
def built():
    return Dialogue(Store(memory=True))


def fill(core: Dialogue) -> dict:
    """Real questions and real button presses; what the store should now hold, from the replies seen."""
    seen = {"kinds": defaultdict(Counter), "up": Counter(), "down": Counter(), "picked": [], "bread": Counter()}
    n = 0

    def say(lang, text=None, button=None):
        nonlocal n
        n += 1
        reply = core.say(f"{lang}{n}", text or "", button=button)
        if reply.kind in ("fallback", "suggest") and text:
            seen["kinds"][reply.lang][reply.kind] += 1
        return reply

    for lang in QUESTION:
        for i, text in enumerate(BREAD[lang]):
            reply = say(lang, text)
            assert reply.kind in ("fallback", "suggest") and reply.lang == lang
            seen["bread"][lang] += 1
        for i, text in enumerate(VAGUE[lang]):
            reply = say(lang, text)
            picks = [b.id for b in reply.buttons if b.id.startswith("pick:")]
            if reply.kind == "suggest" and picks:
                chosen = picks[i % len(picks)]
                core.say(f"{lang}{n}", button=chosen)  # the same user presses a "did you mean" button
                seen["picked"].append((lang, text, chosen[5:]))
        for vote, times in (("up", 2), ("down", 3)):
            for _ in range(times):
                reply = say(lang, QUESTION[lang])
                assert reply.kind == "answer"
                button = next(b.id for b in reply.buttons if b.id.startswith(f"fb:{vote}:"))
                core.say(f"{lang}{n}", button=button)
                seen[vote][(lang, reply.topic)] += 1
    assert seen["picked"], "the matcher offered no 'did you mean' at all: pick other vague questions"
    return seen


@pytest.fixture(scope="module")
def filled(built, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "socialbot.db"
    core = copy.copy(built)
    core.store = Store(path)
    seen = fill(core)
    yield core.store, seen, path
    core.store.close()


def counts_row(text: str, label: str) -> list[int]:
    for line in text.splitlines():
        cells = line.split()
        if cells and cells[0] == label:
            return [int(c) for c in cells[1:6]]
    raise AssertionError(f"no row {label!r} in\n{text}")


def section(text: str, title: str) -> str:
    start = text.index(title)
    end = text.find("\n\n", start)
    return text[start: end if end != -1 else None]


def test_everything_is_stored(filled):
    store, seen, _ = filled
    rows = store.unanswered()
    for lang in QUESTION:
        stored = Counter(r["kind"] for r in rows if r["lang"] == lang)
        assert stored == seen["kinds"][lang]
    chosen = {(r["lang"], r["text"], r["chosen"]) for r in rows if r["chosen"]}
    assert chosen == set(seen["picked"])
    votes = Counter((r["lang"], r["topic"], r["vote"]) for r in store.feedback())
    assert votes == Counter({(l, t, 1): n for (l, t), n in seen["up"].items()}) + \
        Counter({(l, t, -1): n for (l, t), n in seen["down"].items()})


def test_counts_per_language(filled):
    store, seen, _ = filled
    text = report(store)
    for lang in QUESTION:
        kinds = seen["kinds"][lang]
        up = sum(n for (l, _), n in seen["up"].items() if l == lang)
        down = sum(n for (l, _), n in seen["down"].items() if l == lang)
        assert counts_row(text, lang) == [sum(kinds.values()), kinds["fallback"], kinds["suggest"], up, down]
    total = counts_row(text, "total")
    assert total[0] == len(store.unanswered()) and total[3] + total[4] == len(store.feedback())


def test_similar_questions_are_grouped_with_counts(filled):
    store, seen, _ = filled
    part = section(report(store), "Most frequent unanswered questions")
    lines = part.splitlines()
    for lang, texts in BREAD.items():
        line = next(l for l in lines if f"[{lang}] {texts[0]}" in l)
        assert int(line.split()[0]) == seen["bread"][lang] == len(texts)
    top = lines[1]
    assert int(top.split()[0]) == max(seen["bread"].values())  # the biggest group comes first


def test_topics_by_thumbs(filled):
    store, seen, _ = filled
    text = report(store)
    down = section(text, "Topics with the most 👎")
    topic = next(iter(seen["down"]))[1]
    total_down = sum(n for (_, t), n in seen["down"].items() if t == topic)
    total_up = sum(n for (_, t), n in seen["up"].items() if t == topic)
    line = next(l for l in down.splitlines() if f" {topic} " in l)
    assert line.split()[:2] == [str(total_down), "👎"]
    assert f"({total_up} 👍, {total_down} 👎)" in line and f"knowledge/topics/{topic}.yaml" in line
    assert f" {topic} " in section(text, "Topics with the most 👍")


def test_did_you_mean_choices_become_variants(filled):
    store, seen, _ = filled
    part = section(report(store), '"Did you mean" choices')
    for lang, question, topic in seen["picked"]:
        assert f'[{lang}] "{question}" → {topic}' in part
        assert f"questions: {lang} in knowledge/topics/{topic}.yaml" in part


def test_by_language(filled):
    store, seen, _ = filled
    text = report(store, lang="es")
    assert "language es" in text
    assert [l for l in ("en", "es", "zh") if any(line.split()[:1] == [l] for line in text.splitlines())] == ["es"]
    assert "[en]" not in text and "[zh]" not in text


def test_report_command(filled):
    store, _, path = filled
    for args, kwargs in (([], {}), (["--lang", "zh"], {"lang": "zh"}), (["--since", "7"], {"since_days": 7})):
        done = subprocess.run([sys.executable, "-m", "bot.cli", "report", "--db", str(path), *args], cwd=ROOT,
                              capture_output=True, text=True, encoding="utf-8", timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stdout == report(store, **kwargs) + "\n"


# -- smaller pieces ---------------------------------------------------------------------------------
def rows(*items, kind="fallback"):
    return [{"lang": lang, "text": text, "kind": kind} for lang, text in items]


def test_grouping_by_similarity():
    groups = group_questions(rows(
        ("en", "can I pay for my mother"), ("en", "Can I pay for my mother?"), ("en", "pay for my mother can I"),
        ("en", "how do I change my bank"), ("es", "can I pay for my mother"), ("zh", "可以帮我妈妈交社保吗"),
        ("zh", "可以帮我妈妈交社保吗？"), ("zh", "怎么改银行卡"),
    ))
    summary = [(g.lang, g.text, g.count) for g in groups]
    assert summary == [("en", "can I pay for my mother", 3), ("zh", "可以帮我妈妈交社保吗", 2),
                       ("en", "how do I change my bank", 1), ("es", "can I pay for my mother", 1),
                       ("zh", "怎么改银行卡", 1)]
    assert groups[0].variants == ["pay for my mother can I"]  # same words, other order


def test_a_group_is_named_by_its_most_frequent_wording():
    groups = group_questions(rows(("en", "How do I pay for my dad?"), ("en", "how do i pay for my dad"),
                                  *[("en", "how do I pay for my dad please")] * 3))
    assert [(g.text, g.count) for g in groups] == [("how do I pay for my dad please", 5)]
    assert groups[0].variants == ["How do I pay for my dad?"]


def test_report_text_is_safe_to_print():
    assert display("\x1b[2J\x1b]0;pwned\x07 call 13812345678\u202e now\nplease") == \
        "[2J ]0;pwned call [PHONE:***5678] now please"


def test_report_window(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    store.record_unanswered("u", "en", "old question", "fallback", [])
    store.record_unanswered("u", "en", "new question", "fallback", [])
    store.record_feedback("u", "review-months", "en", -1)
    store.db.execute("update unanswered set ts = ? where text = 'old question'", [_iso(now() - timedelta(days=40))])
    store.db.execute("update feedback set ts = ?", [_iso(now() - timedelta(days=40))])
    store.db.conn.commit()
    recent = report(store, since_days=30)
    assert "the last 30 days" in recent and "new question" in recent and "old question" not in recent
    assert counts_row(recent, "total") == [1, 1, 0, 0, 0]
    assert "old question" in report(store)
    store.close()


def test_empty_store():
    text = report(Store(memory=True))
    assert counts_row(text, "total") == [0, 0, 0, 0, 0]
    assert text.count("(none)") == 6  # likely wrong answers too


def test_known_gaps_are_grouped_by_uncovered_topic(built):
    core = copy.copy(built)
    core.store = Store(memory=True)
    asked = {"uncovered-amounts": ["how much pension will I get every month", "what is the retirement age",
                                   "¿cuánto voy a cobrar de pensión?"],
             "uncovered-services": ["社保转移到外地怎么办"]}
    for n, (gap, texts) in enumerate(asked.items()):
        for k, text in enumerate(texts):
            reply = core.say(f"gap{n}{k}", text)
            assert reply.kind == "fallback"
    core.say("weather", "will it rain tomorrow in beijing")  # out of scope: not a gap in the documents
    rows = core.store.unanswered()
    assert {r["known"] for r in rows} == {"uncovered-amounts", "uncovered-services", "unrelated-errands"}
    gaps = section(report(core.store), "Asked, but not in the documents")
    assert "  3  uncovered-amounts  knowledge/topics/uncovered-amounts.yaml" in gaps
    assert "  1  uncovered-services" in gaps
    assert gaps.index("uncovered-amounts") < gaps.index("uncovered-services")  # the biggest gap first
    assert "retirement age" in gaps and "社保转移到外地怎么办" in gaps and "rain" not in gaps
    core.store.close()
