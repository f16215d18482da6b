"""`socialbot kb check` speaks one format for every file: `path:line: field: message`, every problem at once.

Each case breaks a copy of one real file and lists, top to bottom, what kb check must say about
it: the line is where the given text stands in the broken file (1: the file as a whole).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.checks import check_all
from bot.schema import INTENTS_FILE, STRINGS_FILE, WORDS_FILE
from conversations.words import NAVIGATION_FILE
from knowledge.schema import FAMILIES_FILE, SOURCES_FILE, TOPICS_DIR

ROOT = Path(__file__).resolve().parent.parent
FLOWS_DIR = ROOT / "conversations" / "flows"
FILES = {"sources": SOURCES_FILE, "families": FAMILIES_FILE, "strings": STRINGS_FILE, "intents": INTENTS_FILE,
         "navigation": NAVIGATION_FILE, "words": WORDS_FILE}


@pytest.fixture
def content(tmp_path):
    """A copy of every content file, for a test to break."""
    copy = {"topics": tmp_path / "topics", "flows": tmp_path / "flows"}
    shutil.copytree(TOPICS_DIR, copy["topics"])
    shutil.copytree(FLOWS_DIR, copy["flows"])
    for name, original in FILES.items():  # a folder each: conversations/ and bot/ both have a words.yaml
        copy[name] = tmp_path / name / original.name
        copy[name].parent.mkdir()
        shutil.copy(original, copy[name])
    return copy


def check(content) -> list[str]:
    return check_all(content["topics"], content["flows"], content["sources"], content["families"],
                     content["strings"], content["intents"], content["navigation"], content["words"])


def line_of(path: Path, fragment: str | None) -> int:
    if fragment is None:
        return 1
    return next(i for i, row in enumerate(path.read_text(encoding="utf-8").split("\n"), 1) if fragment in row)


CASES = [
    ("a bad topic", "topics/review-months.yaml",
     [("  es: Cuándo es la revisión anual", "  fr: Quand a lieu la révision")],
     [("title:", "title.es: missing language"),
      ("  fr: Quand", "title.fr: unknown language 'fr' (use en, es, zh)")]),
    ("an unknown source", "topics/review-months.yaml", [("sources: [doc-000]", "sources: [doc-999]")],
     [("sources: [doc-999]", "sources[0]: unknown source 'doc-999' (see knowledge/sources.yaml)")]),
    ("a bad flow", "flows/annual_review.yaml", [("next: alipay_city", "next: nowhere")],
     [("next: nowhere", "steps.alipay_more.next: unknown step 'nowhere'")]),
    ("a bad sources file", "sources", [("    article: 12", "    article: twelve")],
     [("article: twelve", "laws.art12.article: must be a whole number")]),
    ("a bad UI string", "strings",
     [("资料最近核对日期为{date}", "资料最近核对日期为{day}"), ('  es: "Guíeme paso a paso"', '  es: "  "'),
      ('  zh: "您好！"', '  de: "Hallo! "')],
     [('  es: "  "', "walk_me.es: empty"),
      ("{day}", "automated.zh: fills {day} where en fills {date}"),
      ("hello:", "hello.zh: missing language"),
      ('  de: "Hallo! "', "hello.de: unknown language 'de' (use en, es, zh)")]),
    ("a bad intent", "intents",
     [("feedback_up:", "feedback_upp:"), ("    es: [hablar con una persona,", '    es: ["¡¿?!", hablar con una persona,')],
     [(None, "feedback_up: missing"),
      ('"¡¿?!"', "person.inside.es[0]: empty once normalised (only punctuation or symbols)"),
      ("feedback_upp:", "feedback_upp: unknown field 'feedback_upp'")]),
    ("a bad navigation word list", "navigation",
     [("zh: 完成}", 'zh: ""}'), ("es: [cancelar, salir,", "es: [siguiente, cancelar, salir,")],
     [("es: [siguiente, cancelar", "cancel.typed.es[0]: 'siguiente' also means 'next'"),
      ('zh: ""}', "done.label.zh: empty")]),
    ("a bad word list", "words", [("app_names: [支付宝,", "app_names: [支付宝, '',"), ("  es: [como,", "  fr: [comment,")],
     [("app_names:", "app_names[1]: empty"),
      ("  fr: [comment,", "question_words.fr: unknown language 'fr' (use en, es, zh)")]),
]


@pytest.mark.parametrize("where, edits, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_file_reports_every_problem_with_its_line(content, where, edits, expected):
    folder, _, name = where.partition("/")
    path = content[folder] / name if name else content[folder]
    text = path.read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    assert check(content) == [f"{path}:{line_of(path, fragment)}: {said}" for fragment, said in expected]


def test_the_real_content_has_no_problem(content):
    assert check(content) == []


def test_a_bad_word_family(content):
    path = content["families"]
    path.write_text("pay:\n  en: [pay, paid]\nmoney:\n  en: [cash, paid]\n  fr: [argent]\nBad:\n  en: [x]\n",
                    encoding="utf-8")
    assert check(content) == [
        f"{path}:4: money.en[1]: 'paid' is already in family 'pay'",
        f"{path}:5: money.fr: unknown language 'fr' (use en, es, zh)",
        f"{path}:6: Bad: a family name is lowercase letters a-z",
    ]


def test_broken_yaml_is_one_line_with_its_line_number(content):
    path = content["topics"] / "review-months.yaml"
    path.write_text("id: review-months\ntitle: [unclosed\n  en: x\n", encoding="utf-8")
    (problem,) = check(content)
    assert problem.startswith(f"{path}:3: not valid YAML (column ")
