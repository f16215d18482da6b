"""`socialbot kb check` speaks one format for every file: `path:line: field: message`, every problem at once."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.checks import check_all
from bot.schema import INTENTS_FILE, STRINGS_FILE
from conversations.words import NAVIGATION_FILE
from knowledge.schema import FAMILIES_FILE, SOURCES_FILE, TOPICS_DIR

ROOT = Path(__file__).resolve().parent.parent
FLOWS_DIR = ROOT / "conversations" / "flows"


@pytest.fixture
def content(tmp_path):
    """A copy of every content file, for a test to break one line of."""
    copy = {"topics": tmp_path / "topics", "flows": tmp_path / "flows"}
    shutil.copytree(TOPICS_DIR, copy["topics"])
    shutil.copytree(FLOWS_DIR, copy["flows"])
    for name, original in (("sources", SOURCES_FILE), ("families", FAMILIES_FILE), ("strings", STRINGS_FILE),
                           ("intents", INTENTS_FILE), ("navigation", NAVIGATION_FILE)):
        copy[name] = tmp_path / original.name
        shutil.copy(original, copy[name])
    return copy


def check(content) -> list[str]:
    return check_all(content["topics"], content["flows"], content["sources"], content["families"],
                     content["strings"], content["intents"], content["navigation"])


def replace(path: Path, old: str, new: str) -> int:
    """Change the first line holding `old`; return that line's number."""
    lines = path.read_text(encoding="utf-8").split("\n")
    n = next(i for i, row in enumerate(lines) if old in row)
    lines[n] = lines[n].replace(old, new)
    path.write_text("\n".join(lines), encoding="utf-8")
    return n + 1


def line_of(path: Path, fragment: str) -> int:
    return next(i for i, row in enumerate(path.read_text(encoding="utf-8").split("\n"), 1) if fragment in row)


def test_the_real_content_has_no_problem(content):
    assert check(content) == []


def test_a_bad_topic(content):
    path = content["topics"] / "review-months.yaml"
    replace(path, "  es: Cuándo es la revisión anual", "  fr: Quand a lieu la révision")
    title = line_of(path, "title:")
    assert check(content) == [
        f"{path}:{title}: title.es: missing language",
        f"{path}:{line_of(path, '  fr: Quand')}: title.fr: unknown language 'fr' (use en, es, zh)",
    ]


def test_an_unknown_source(content):
    path = content["topics"] / "review-months.yaml"
    line = replace(path, "sources: [doc-000]", "sources: [doc-999]")
    assert check(content) == [f"{path}:{line}: sources[0]: unknown source 'doc-999' (see knowledge/sources.yaml)"]


def test_a_bad_flow(content):
    path = content["flows"] / "annual_review.yaml"
    line = replace(path, "next: alipay_city", "next: nowhere")
    assert check(content) == [f"{path}:{line}: steps.alipay_more.next: unknown step 'nowhere'"]


def test_a_bad_navigation_word_list(content):
    path = content["navigation"]
    label = replace(path, "zh: 完成}", "zh: \"\"}")
    twice = replace(path, "es: [cancelar, salir,", "es: [siguiente, cancelar, salir,")
    assert check(content) == [
        f"{path}:{twice}: cancel.typed.es[0]: 'siguiente' also means 'next'",
        f"{path}:{label}: done.label.zh: empty",
    ]


def test_a_bad_word_family(content):
    path = content["families"]
    path.write_text("pay:\n  en: [pay, paid]\nmoney:\n  en: [cash, paid]\n  fr: [argent]\nBad:\n  en: [x]\n",
                    encoding="utf-8")
    assert check(content) == [
        f"{path}:4: money.en[1]: 'paid' is already in family 'pay'",
        f"{path}:5: money.fr: unknown language 'fr' (use en, es, zh)",
        f"{path}:6: Bad: a family name is lowercase letters a-z",
    ]


def test_a_broken_sources_file(content):
    path = content["sources"]
    line = replace(path, "    article: 12", "    article: twelve")
    assert check(content)[0] == f"{path}:{line}: laws.art12.article: must be a whole number"


def test_broken_yaml_is_one_line_with_its_line_number(content):
    path = content["topics"] / "review-months.yaml"
    path.write_text("id: review-months\ntitle: [unclosed\n  en: x\n", encoding="utf-8")
    (problem,) = check(content)
    assert problem.startswith(f"{path}:3: not valid YAML (column ")


def test_a_bad_ui_string(content):
    path = content["strings"]
    automated = line_of(path, "automated:")
    zh = replace(path, "资料最近核对日期为{date}", "资料最近核对日期为{day}")
    walk_me = replace(path, '  es: "Guíeme paso a paso"', '  es: "  "')
    hello = line_of(path, "hello:")
    replace(path, '  zh: "您好！"', '  de: "Hallo! "')
    assert check(content) == [
        f"{path}:{walk_me}: walk_me.es: empty",
        f"{path}:{zh}: automated.zh: fills {{day}} where en fills {{date}}",
        f"{path}:{hello}: hello.zh: missing language",
        f"{path}:{hello + 3}: hello.de: unknown language 'de' (use en, es, zh)",
    ]
    assert automated < zh


def test_a_bad_intent(content):
    path = content["intents"]
    line = replace(path, "feedback_up:", "feedback_upp:")
    person = replace(path, "    es: [hablar con una persona,", "    es: [\"¡¿?!\", hablar con una persona,")
    assert check(content) == [
        f"{path}:1: feedback_up: missing",
        f"{path}:{person}: person.inside.es[0]: empty once normalised (only punctuation or symbols)",
        f"{path}:{line}: feedback_upp: unknown field 'feedback_upp'",
    ]
