"""The checker catches each kind of broken flow, names file, field and line, and passes the real ones."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from conversations.loader import FlowError, load_flows
from knowledge.language import LANGS
from conversations.validate import default_sources, validate_flows

SOURCES = {"doc-000", "doc-001"}


def text(word: str) -> dict[str, str]:
    return {"en": f"{word} in English", "es": f"{word} en español", "zh": f"{word}中文"}


def good_flow(flow_id: str = "sample") -> dict:
    """A small valid flow: a choice, a checklist, a next, and an end."""
    return {
        "id": flow_id,
        "title": text("Title"),
        "description": text("Description"),
        "triggers": {lang: [f"{flow_id} {lang} phrase {i}" for i in range(6)] for lang in LANGS},
        "sources": ["doc-000"],
        "reviewed_on": "2026-12-06",
        "start": "first",
        "steps": {
            "first": {
                "text": text("First"),
                "choices": [
                    {"id": "left", "label": text("Left"), "to": "middle"},
                    {"id": "right", "label": text("Right"), "to": "last"},
                ],
                "source": "doc-000",
            },
            "middle": {
                "text": text("Middle"),
                "checklist": [{"id": "paper", "label": text("Paper")}],
                "next": "last",
                "source": ["doc-000"],
            },
            "last": {"text": text("Last"), "source": "doc-000"},
        },
    }


def write(folder: Path, data: dict, name: str | None = None) -> Path:
    path = folder / f"{name or data['id']}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def problems_of(tmp_path: Path, data: dict, **known) -> list[str]:
    write(tmp_path, data, name="sample")
    return validate_flows(tmp_path, known_sources=known.get("sources", SOURCES), known_topics=known.get("topics"))


def broken(change) -> dict:
    data = copy.deepcopy(good_flow())
    change(data)
    return data


def test_the_real_flows_pass():
    assert validate_flows() == []
    assert validate_flows(known_sources=default_sources()) == []
    assert default_sources() >= {"doc-000", "doc-004", "art12", "art58", "art60", "art61"}


def test_the_real_flows_name_known_topics_when_the_topics_exist():
    topics_dir = Path(__file__).resolve().parent.parent / "knowledge" / "topics"
    topics = {p.stem for p in topics_dir.glob("*.yaml")}
    flows = load_flows()
    wanted = {f.topic for f in flows.values() if f.topic}
    if not wanted <= topics:
        pytest.skip(f"topics not written yet: {sorted(wanted - topics)}")
    assert validate_flows(known_topics=topics) == []


def test_the_good_sample_passes(tmp_path):
    assert problems_of(tmp_path, good_flow()) == []
    assert set(load_flows(tmp_path)) == {"sample"}


CASES = [
    ("dangling next", lambda d: d["steps"]["middle"].update(next="foo"),
     "sample.yaml:67: steps.middle.next: unknown step 'foo'"),
    ("dangling choice", lambda d: d["steps"]["first"]["choices"][0].update(to="nowhere"),
     "steps.first.choices[0].to: unknown step 'nowhere'"),
    ("unknown start", lambda d: d.update(start="zero"), "start: unknown step 'zero'"),
    ("missing language in text", lambda d: d["steps"]["last"]["text"].pop("es"),
     "steps.last.text.es: missing language"),
    ("empty text", lambda d: d["steps"]["last"]["text"].update(zh="  "), "steps.last.text.zh: empty"),
    ("missing language in title", lambda d: d["title"].pop("zh"), "title.zh: missing language"),
    ("missing description", lambda d: d.pop("description"), "description: missing"),
    ("missing language in a choice label", lambda d: d["steps"]["first"]["choices"][1]["label"].pop("en"),
     "steps.first.choices[1].label.en: missing language"),
    ("missing language in a checklist label", lambda d: d["steps"]["middle"]["checklist"][0]["label"].pop("es"),
     "steps.middle.checklist[0].label.es: missing language"),
    ("missing language in triggers", lambda d: d["triggers"].pop("es"), "triggers.es: missing language"),
    ("empty trigger list", lambda d: d["triggers"].update(zh=[]), "triggers.zh: empty list"),
    ("too few triggers", lambda d: d["triggers"].update(en=["one", "two"]),
     "triggers.en: 2 phrases, at least 6 needed"),
    ("repeated trigger", lambda d: d["triggers"]["en"].__setitem__(1, d["triggers"]["en"][0]),
     "triggers.en[1]: repeated phrase"),
    ("unknown flow source", lambda d: d["sources"].append("doc-999"), "sources[1]: unknown source 'doc-999'"),
    ("unknown step source", lambda d: d["steps"]["last"].update(source="art99"),
     "steps.last.source: unknown source 'art99'"),
    ("step source not in the flow's", lambda d: d["steps"]["middle"].update(source=["doc-000", "doc-001"]),
     "steps.middle.source[1]: 'doc-001' is not in the flow's sources"),
    ("no step source", lambda d: d["steps"]["last"].pop("source"), "steps.last.source: missing"),
    ("duplicate choice ids", lambda d: d["steps"]["first"]["choices"][1].update(id="left"),
     "steps.first.choices[1].id: duplicate choice id 'left'"),
    ("duplicate checklist ids across steps",
     lambda d: d["steps"]["last"].update(checklist=[{"id": "paper", "label": text("Again")}]),
     "steps.last.checklist[0].id: duplicate checklist id 'paper'"),
    ("unreachable step", lambda d: d["steps"].update(orphan={"text": text("Orphan"), "source": "doc-000"}),
     "steps.orphan: unreachable from the start step 'first'"),
    ("no end reachable", lambda d: d["steps"]["last"].update(next="middle"),
     "steps.middle: no end can be reached"),
    ("id differs from the file", lambda d: d.update(id="other"), "id: 'other' differs from the file name 'sample'"),
    ("unknown field", lambda d: d["steps"]["middle"].update(nxt="last"), "steps.middle.nxt: unknown field 'nxt'"),
    ("a step leading to itself", lambda d: d["steps"]["middle"].update(next="middle"),
     "steps.middle.next: leads back to the same step"),
    ("Chinese text that is not Chinese", lambda d: d["steps"]["last"]["text"].update(zh="Last"),
     "steps.last.text.zh: has no Chinese characters"),
    ("a title too long for a button", lambda d: d["title"].update(en="x" * 41), "title.en: too long for a button"),
    ("an unknown language", lambda d: d["steps"]["last"]["text"].update(fr="Dernier"),
     "steps.last.text.fr: unknown language 'fr'"),
    ("a bad step id", lambda d: d["steps"].update({"Bad Step": {"text": text("B"), "source": "doc-000"}}),
     "steps.Bad Step: step id 'Bad Step' is not lowercase_words"),
    ("a button id too long", lambda d: d["steps"]["first"]["choices"][0].update(id="c" * 50),
     "button id would be"),
    ("no steps", lambda d: d.update(steps={}), "steps: needs at least one step"),
]


@pytest.mark.parametrize("change, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_kind_of_broken_flow_is_reported(tmp_path, change, expected):
    found = problems_of(tmp_path, broken(change))
    assert any(expected in p for p in found), found


def test_unknown_topic_only_when_topics_are_known(tmp_path):
    data = broken(lambda d: d.update(topic="no-such-topic"))
    assert problems_of(tmp_path, data) == []
    found = problems_of(tmp_path, data, topics={"annual-review-months"})
    assert any("topic: unknown topic 'no-such-topic'" in p for p in found), found
    assert problems_of(tmp_path, data, topics={"no-such-topic"}) == []


def test_a_problem_names_the_file_field_and_line(tmp_path):
    path = tmp_path / "sample.yaml"
    good = yaml.safe_dump(good_flow(), allow_unicode=True, sort_keys=False)
    path.write_text(good.replace("next: last", "next: foo"), encoding="utf-8")
    (found,) = validate_flows(tmp_path, known_sources=SOURCES)
    line = next(i for i, row in enumerate(path.read_text().splitlines(), 1) if "next: foo" in row)
    assert found == f"{path}:{line}: steps.middle.next: unknown step 'foo'"


def test_duplicate_step_ids_are_reported(tmp_path):
    good = yaml.safe_dump(good_flow(), allow_unicode=True, sort_keys=False)
    last = good[good.index("  last:"):]
    (tmp_path / "sample.yaml").write_text(good + last, encoding="utf-8")
    found = validate_flows(tmp_path, known_sources=SOURCES)
    assert any("steps.last: duplicate step id 'last'" in p for p in found), found


def test_broken_yaml_is_reported_not_raised(tmp_path):
    write(tmp_path, good_flow("fine"))
    (tmp_path / "broken.yaml").write_text("id: broken\nsteps: [unclosed\n  - : :\n", encoding="utf-8")
    (tmp_path / "empty.yaml").write_text("", encoding="utf-8")
    (tmp_path / "list.yaml").write_text("- a\n- b\n", encoding="utf-8")
    found = validate_flows(tmp_path, known_sources=SOURCES)
    assert any("broken.yaml:3: not valid YAML (column 5)" in p for p in found), found
    assert any("empty.yaml:1: the file is empty" in p for p in found), found
    assert any("list.yaml:1: a flow file must be a mapping" in p for p in found), found
    assert not any("fine.yaml" in p for p in found)


def test_the_same_trigger_in_two_flows(tmp_path):
    one, two = good_flow("one"), good_flow("two")
    two["triggers"]["es"][3] = one["triggers"]["es"][0].upper()
    write(tmp_path, one)
    write(tmp_path, two)
    found = validate_flows(tmp_path, known_sources=SOURCES)
    assert found == [f"{tmp_path / 'two.yaml'}:{_line_of(tmp_path / 'two.yaml', two['triggers']['es'][3])}: "
                     f"triggers.es[3]: '{two['triggers']['es'][3]}' is also a trigger of flow 'one'"]


def _line_of(path: Path, fragment: str) -> int:
    return next(i for i, row in enumerate(path.read_text().splitlines(), 1) if fragment in row)


def test_an_empty_folder(tmp_path):
    assert validate_flows(tmp_path) == [f"{tmp_path}: no flow files (*.yaml)"]


def test_loading_refuses_a_broken_flow_and_names_every_problem(tmp_path):
    write(tmp_path, good_flow("fine"))
    write(tmp_path, broken(lambda d: (d["steps"]["middle"].update(next="foo"), d["title"].pop("es"))))
    with pytest.raises(FlowError) as err:
        load_flows(tmp_path)
    assert any("steps.middle.next: unknown step 'foo'" in p for p in err.value.problems)
    assert any("title.es: missing language" in p for p in err.value.problems)


def test_real_flow_paths_are_shown_from_the_repository():
    from conversations.validate import FLOWS_DIR, display

    assert display(FLOWS_DIR / "annual_review.yaml") == "conversations/flows/annual_review.yaml"
