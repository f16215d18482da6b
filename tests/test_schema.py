"""knowledge.schema.check_topics and `socialbot kb check`: every problem named with its file and field."""
from __future__ import annotations

import re
import shutil
import subprocess
from functools import partial
from pathlib import Path

import pytest
import yaml

import bot.checks
from bot.checks import check_all
from bot.cli import main
from knowledge.kb import SOURCES_FILE, TOPICS_DIR, KnowledgeError, load
from knowledge.schema import MAX_TITLE, MIN_QUESTIONS, check_topics

ROOT = Path(__file__).resolve().parent.parent
FLOWS_DIR = ROOT / "conversations" / "flows"
TOPIC = "review-months"  # the topic each test breaks
OTHER = "review-checks"


@pytest.fixture
def kb_copy(tmp_path):
    """A copy of the real topics and sources that a test may break."""
    topics = tmp_path / "topics"
    shutil.copytree(TOPICS_DIR, topics)
    sources = tmp_path / "sources.yaml"
    shutil.copy(SOURCES_FILE, sources)
    return topics, sources


def edit(topics: Path, tid: str, change) -> Path:
    """Load a topic file, let `change` modify the dict, write it back."""
    path = topics / f"{tid}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def problems_for(kb_copy) -> list[str]:
    topics, sources = kb_copy
    return check_topics(topics, sources)


def only(problems: list[str], *needles: str) -> str:
    """The one problem that contains every needle (and fail clearly otherwise)."""
    found = [p for p in problems if all(n in p for n in needles)]
    assert len(found) == 1, f"expected one problem with {needles}, got: {problems}"
    return found[0]


# --- the real knowledge base ---------------------------------------------------------------

def test_real_knowledge_base_passes():
    assert check_topics() == []
    assert check_all() == []


def test_real_knowledge_base_loads_with_the_check_on():
    kb = load(check=True)
    assert TOPIC in kb.topics
    assert all(t.sources for t in kb.answerable())


def test_an_untouched_copy_passes(kb_copy):
    assert problems_for(kb_copy) == []


def test_kb_check_command_exits_0_on_the_real_knowledge_base(socialbot_cmd):
    run = subprocess.run([*socialbot_cmd, "kb", "check"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "OK" in run.stdout


def test_kb_check_command_exits_1_on_a_broken_copy(kb_copy, monkeypatch, capsys):
    topics, sources = kb_copy
    edit(topics, TOPIC, lambda d: d["sources"].append("doc-999"))
    monkeypatch.setattr(bot.checks, "check_all", partial(check_all, topics, FLOWS_DIR, sources))
    assert main(["kb", "check"]) == 1
    out = capsys.readouterr().out
    assert re.search(rf"{TOPIC}\.yaml:\d+: sources\[1\]: unknown source 'doc-999'", out), out
    assert "1 problem(s)" in out


def test_check_all_takes_folders_and_reports_topics_and_flows_together(kb_copy, tmp_path):
    topics, sources = kb_copy
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS_DIR, flows)
    assert check_all(topics, flows, sources) == []
    edit(topics, TOPIC, lambda d: d.pop("answer"))
    (flows / "annual_review.yaml").write_text(
        (flows / "annual_review.yaml").read_text(encoding="utf-8").replace("next: alipay_city", "next: nowhere"),
        encoding="utf-8")
    problems = check_all(topics, flows, sources)
    assert any(f"{TOPIC}.yaml" in p and "answer" in p for p in problems)
    assert any("annual_review.yaml" in p and "nowhere" in p for p in problems)


def test_check_all_reports_a_broken_word_family(kb_copy, tmp_path):
    topics, sources = kb_copy
    families = tmp_path / "families.yaml"
    families.write_text("pay:\n  en: [pay, paid]\nmoney:\n  en: [cash, paid]\n", encoding="utf-8")
    assert only(check_all(topics, FLOWS_DIR, sources, families), "families.yaml", "money.en", "'paid'")
    families.write_text("pay: [pay, paid\n", encoding="utf-8")
    assert only(check_all(topics, FLOWS_DIR, sources, families), "families.yaml:2: not valid YAML")


def test_a_flow_choice_needs_a_flow_and_a_real_option_of_its_first_step(kb_copy, tmp_path):
    topics, sources = kb_copy
    edit(topics, "annual-review-alipay", lambda d: d.update(flow_choice="carrier-pigeon"))
    assert only(check_all(topics, FLOWS_DIR, sources), "annual-review-alipay.yaml:", ": flow_choice:", "'carrier-pigeon'",
                "'route'")
    edit(topics, "annual-review-alipay", lambda d: d.update(flow_choice="alipay"))
    assert check_all(topics, FLOWS_DIR, sources) == []
    edit(topics, TOPIC, lambda d: d.update(flow_choice="alipay"))
    assert only(check_topics(topics, sources), f"{TOPIC}.yaml:", ": flow_choice: needs a flow")


def test_unless_and_still_if_belong_to_out_of_scope_topics_only(kb_copy):
    topics, sources = kb_copy
    edit(topics, TOPIC, lambda d: d.update(unless={"en": ["china"], "es": ["china"], "zh": ["中国"]}))
    assert only(problems_for(kb_copy), f"{TOPIC}.yaml:", ": unless: only an out_of_scope topic")
    edit(topics, "foreign-systems", lambda d: d.pop("unless"))
    assert only(problems_for(kb_copy), "foreign-systems.yaml:", ": still_if: says when 'unless' does not apply")


def test_only_a_gap_is_anchored_to_its_keywords(kb_copy):
    topics, _ = kb_copy
    edit(topics, TOPIC, lambda d: d.update(anchored=True))
    assert only(problems_for(kb_copy), f"{TOPIC}.yaml:", ": anchored: only a gap")


def test_load_refuses_a_broken_knowledge_base(kb_copy):
    topics, sources = kb_copy
    edit(topics, TOPIC, lambda d: d["title"].pop("zh"))
    with pytest.raises(KnowledgeError, match=rf"{TOPIC}\.yaml:\d+: title\.zh: missing language"):
        load(topics, sources)


# --- each kind of mistake -------------------------------------------------------------------

def test_broken_yaml(kb_copy):
    topics, _ = kb_copy
    (topics / f"{TOPIC}.yaml").write_text("id: review-months\ntitle: [unclosed\n  en: x\n", encoding="utf-8")
    problem = only(problems_for(kb_copy), f"{TOPIC}.yaml")
    assert "not valid YAML" in problem
    assert "\n" not in problem  # one line per problem


def test_yaml_that_is_not_a_mapping(kb_copy):
    topics, _ = kb_copy
    (topics / f"{TOPIC}.yaml").write_text("- just\n- a list\n", encoding="utf-8")
    assert "must be a mapping" in only(problems_for(kb_copy), f"{TOPIC}.yaml")


@pytest.mark.parametrize("field", ["title", "answer", "questions", "keywords"])
@pytest.mark.parametrize("lang", ["en", "es", "zh"])
def test_missing_language(kb_copy, field, lang):
    edit(kb_copy[0], TOPIC, lambda d: d[field].pop(lang))
    only(problems_for(kb_copy), f"{TOPIC}.yaml", f"{field}.{lang}", "missing language")


def test_missing_field_altogether(kb_copy):
    edit(kb_copy[0], TOPIC, lambda d: d.pop("questions"))
    only(problems_for(kb_copy), f"{TOPIC}.yaml", "questions:", "missing")


def test_unknown_language(kb_copy):
    edit(kb_copy[0], TOPIC, lambda d: d["title"].update(fr="Quand"))
    only(problems_for(kb_copy), f"{TOPIC}.yaml", "title.fr", "unknown language")


def test_empty_answer(kb_copy):
    edit(kb_copy[0], TOPIC, lambda d: d["answer"].update(es="   "))
    only(problems_for(kb_copy), f"{TOPIC}.yaml", "answer.es", "empty")


@pytest.mark.parametrize("empty", ["", "   ", None])
def test_empty_variant(kb_copy, empty):
    edit(kb_copy[0], TOPIC, lambda d: d["questions"]["en"].__setitem__(2, empty))
    only(problems_for(kb_copy), f"{TOPIC}.yaml", "questions.en[2]", "empty")


def test_fewer_than_8_variants(kb_copy):
    edit(kb_copy[0], TOPIC, lambda d: d["questions"].update(zh=d["questions"]["zh"][:MIN_QUESTIONS - 1]))
    problem = only(problems_for(kb_copy), f"{TOPIC}.yaml", "questions.zh")
    assert f"{MIN_QUESTIONS - 1} variants" in problem and f"at least {MIN_QUESTIONS}" in problem


def test_exactly_8_variants_is_enough(kb_copy):
    edit(kb_copy[0], TOPIC, lambda d: d["questions"].update(zh=d["questions"]["zh"][:MIN_QUESTIONS]))
    assert problems_for(kb_copy) == []


def test_unknown_source(kb_copy):
    edit(kb_copy[0], TOPIC, lambda d: d.update(sources=["doc-000", "doc-999"]))
    problem = only(problems_for(kb_copy), f"{TOPIC}.yaml", "sources")
    assert "'doc-999'" in problem
    assert "doc-000" not in problem.replace("doc-999", "")


def test_answer_without_sources(kb_copy):
    edit(kb_copy[0], TOPIC, lambda d: d.update(sources=[]))
    only(problems_for(kb_copy), f"{TOPIC}.yaml", "sources", "at least one source")


def test_unknown_related_topic(kb_copy):
    edit(kb_copy[0], TOPIC, lambda d: d["related"].append("no-such-topic"))
    only(problems_for(kb_copy), f"{TOPIC}.yaml", "related", "'no-such-topic'")


def test_topic_related_to_itself(kb_copy):
    edit(kb_copy[0], TOPIC, lambda d: d["related"].append(TOPIC))
    only(problems_for(kb_copy), f"{TOPIC}.yaml", "related", "itself")


def test_same_question_variant_in_two_topics(kb_copy):
    topics, _ = kb_copy
    theirs = yaml.safe_load((topics / f"{OTHER}.yaml").read_text(encoding="utf-8"))["questions"]["es"][0]
    edit(topics, TOPIC, lambda d: d["questions"]["es"].append(theirs))
    problem = only(problems_for(kb_copy), "same question as")
    assert f"{TOPIC}.yaml" in problem and f"{OTHER}.yaml" in problem
    assert "questions.es[" in problem


def test_same_question_differing_only_in_case_punctuation_and_script(kb_copy):
    """Duplicates are found on normalised text: case, width, punctuation and Traditional characters."""
    topics, _ = kb_copy
    edit(topics, OTHER, lambda d: d["questions"]["zh"].append("社保年審查什麼？"))
    edit(topics, TOPIC, lambda d: d["questions"]["zh"].append("社保年审查什么"))
    only(problems_for(kb_copy), "same question as", "questions.zh[")


def test_the_same_question_twice_in_one_topic_is_not_a_cross_topic_duplicate(kb_copy):
    edit(kb_copy[0], TOPIC, lambda d: d["questions"]["en"].append(d["questions"]["en"][0]))
    assert not [p for p in problems_for(kb_copy) if "same question as" in p]


def test_id_not_matching_the_file_name(kb_copy):
    edit(kb_copy[0], TOPIC, lambda d: d.update(id="review-month"))
    problem = only(problems_for(kb_copy), f"{TOPIC}.yaml", "id:")
    assert "'review-month'" in problem and TOPIC in problem


def test_over_long_title(kb_copy):
    edit(kb_copy[0], TOPIC, lambda d: d["title"].update(es="x" * (MAX_TITLE + 1)))
    only(problems_for(kb_copy), f"{TOPIC}.yaml", "title.es", f"longer than {MAX_TITLE}")


def test_title_of_exactly_the_limit_is_fine(kb_copy):
    edit(kb_copy[0], TOPIC, lambda d: d["title"].update(es="x" * MAX_TITLE))
    assert problems_for(kb_copy) == []


def test_unknown_field_and_kind(kb_copy):
    edit(kb_copy[0], TOPIC, lambda d: d.update(answr="typo", kind="faq"))
    problems = problems_for(kb_copy)
    only(problems, f"{TOPIC}.yaml", "answr", "unknown field")
    only(problems, f"{TOPIC}.yaml", "kind", "'faq'")


def test_unknown_procedure_when_flows_are_known(kb_copy):
    topics, sources = kb_copy
    edit(topics, TOPIC, lambda d: d.update(flow="no_such_flow"))
    problems = check_topics(topics, sources, flow_ids={"annual_review"})
    only(problems, f"{TOPIC}.yaml", "flow", "'no_such_flow'")


def test_no_topic_files(tmp_path):
    empty = tmp_path / "topics"
    empty.mkdir()
    assert check_topics(empty, SOURCES_FILE) == [f"{empty}: no topic files (*.yaml)"]


def test_every_problem_is_reported_in_one_pass(kb_copy):
    topics, _ = kb_copy
    edit(topics, TOPIC, lambda d: (d["title"].pop("es"), d["related"].append("nope"), d.update(kind="faq")))
    edit(topics, OTHER, lambda d: d["questions"].update(en=d["questions"]["en"][:3]))
    problems = problems_for(kb_copy)
    assert len(problems) >= 4
    for p in problems:
        assert Path(p.split(":")[0]).name in (f"{TOPIC}.yaml", f"{OTHER}.yaml"), p


def test_every_message_names_the_file_and_the_field(kb_copy):
    topics, _ = kb_copy
    edit(topics, TOPIC, lambda d: (
        d["title"].pop("zh"), d["title"].update(en="y" * 50), d["questions"]["es"].__setitem__(0, ""),
        d["questions"].update(zh=d["questions"]["zh"][:2]), d["sources"].append("doc-x"),
        d["related"].extend([TOPIC, "nope"]),
    ))
    problems = problems_for(kb_copy)
    fields = ["title.zh", "title.en", "questions.es[0]", "questions.zh", "sources", "related"]
    for field in fields:
        assert any(re.match(rf".*/{TOPIC}\.yaml:\d+: {re.escape(field)}", p) for p in problems), (field, problems)
    for p in problems:
        name, line, field, message = (part.strip() for part in p.split(":", 3))
        assert Path(name).name == f"{TOPIC}.yaml" and line.isdigit() and field and message, p
