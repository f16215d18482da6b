"""What a valid topic looks like; every problem is reported with its file and field.

A curator who knows no Python edits YAML; this is what tells them, in one pass, every
place that is wrong (not just the first).
"""
from __future__ import annotations

from pathlib import Path

import yaml

from knowledge.kb import KINDS, LANGS, SOURCES_FILE, TOPICS_DIR, read_yaml
from knowledge.review import FIELD as REVIEWED_ON, review_problem
from knowledge.text import normalize

MIN_QUESTIONS = 8
MAX_TITLE = 40
FIELDS = {"id", "kind", "title", "answer", "questions", "keywords", "sources", "related", "flow", "flow_choice",
          "unless", "still_if", REVIEWED_ON}


def read_topic_files(topics_dir: Path = TOPICS_DIR) -> dict[Path, object]:
    """Each topic file's parsed YAML, or the exception that stopped it from parsing."""
    raws: dict[Path, object] = {}
    for path in sorted(topics_dir.glob("*.yaml")):
        try:
            raws[path] = read_yaml(path)
        except (yaml.YAMLError, UnicodeDecodeError, OSError) as err:
            raws[path] = err
    return raws


def known_sources(sources_file: Path = SOURCES_FILE) -> set[str]:
    raw = read_yaml(sources_file) or {}
    return set(raw.get("documents") or {}) | set(raw.get("laws") or {})


def _per_language(where: str, value, *, is_list: bool) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: must map each language (en, es, zh) to {'a list' if is_list else 'a text'}"]
    problems = []
    for lang in LANGS:
        item = value.get(lang)
        if item is None:
            problems.append(f"{where}.{lang}: missing language")
        elif is_list:
            if not isinstance(item, list):
                problems.append(f"{where}.{lang}: must be a list")
                continue
            for n, entry in enumerate(item):
                if not isinstance(entry, (str, int, float)) or not str(entry).strip():
                    problems.append(f"{where}.{lang}[{n}]: empty entry")
        elif not isinstance(item, str) or not item.strip():
            problems.append(f"{where}.{lang}: empty text")
    for lang in value:
        if lang not in LANGS:
            problems.append(f"{where}.{lang}: unknown language (use en, es, zh)")
    return problems


def check_topic(path: Path, raw, sources: set[str]) -> list[str]:
    """Problems of one topic on its own (cross-topic checks are in check_raw_topics)."""
    name = path.name
    if isinstance(raw, Exception):
        return [f"{name}: not valid YAML: {raw}".replace("\n", " ")]
    if not isinstance(raw, dict):
        return [f"{name}: must be a mapping of fields (id, title, answer, questions, ...)"]
    problems = [f"{name}: {key}: unknown field" for key in raw if key not in FIELDS]
    if raw.get("id") != path.stem:
        problems.append(f"{name}: id: must be '{path.stem}' (the file name), not {raw.get('id')!r}")
    kind = raw.get("kind", "answer")
    if kind not in KINDS:
        problems.append(f"{name}: kind: {kind!r} is not one of {', '.join(KINDS)}")
    for key, is_list in (("title", False), ("answer", False), ("questions", True), ("keywords", True)):
        problems += [f"{name}: {p}" for p in _per_language(key, raw.get(key), is_list=is_list)]
    for field_name in ("unless", "still_if"):
        if field_name in raw:
            if kind != "out_of_scope":
                problems.append(f"{name}: {field_name}: only an out_of_scope topic can be brought back in scope")
            problems += [f"{name}: {p}" for p in _per_language(field_name, raw.get(field_name), is_list=True)]
    if "still_if" in raw and "unless" not in raw:
        problems.append(f"{name}: still_if: says when 'unless' does not apply, so it needs an unless")
    for lang, title in (raw.get("title") or {}).items() if isinstance(raw.get("title"), dict) else ():
        if isinstance(title, str) and len(title) > MAX_TITLE:
            problems.append(f"{name}: title.{lang}: longer than {MAX_TITLE} characters (it is a button label)")
    questions = raw.get("questions") if isinstance(raw.get("questions"), dict) else {}
    for lang in LANGS:
        got = questions.get(lang)
        if isinstance(got, list) and len(got) < MIN_QUESTIONS:
            problems.append(f"{name}: questions.{lang}: {len(got)} variants, at least {MIN_QUESTIONS} needed")
    cited = raw.get("sources") or []
    if not isinstance(cited, list):
        problems.append(f"{name}: sources: must be a list")
        cited = []
    for sid in cited:
        if sid not in sources:
            problems.append(f"{name}: sources: unknown source {sid!r} (see knowledge/sources.yaml)")
    if kind == "answer" and not cited:
        problems.append(f"{name}: sources: an answer must cite at least one source")
    review = review_problem(raw.get(REVIEWED_ON))
    if review:
        problems.append(f"{name}: {REVIEWED_ON}: {review}")
    return problems


def check_raw_topics(raws: dict[Path, object], sources: set[str], flow_ids: set[str] | None = None) -> list[str]:
    """Every problem of a set of parsed topic files, including those between topics."""
    problems: list[str] = []
    for path, raw in raws.items():
        problems += check_topic(path, raw, sources)
    good = {p: r for p, r in raws.items() if isinstance(r, dict)}
    ids = {r.get("id") for r in good.values()}
    seen: dict[str, str] = {}
    for path, raw in good.items():
        name = path.name
        related = raw.get("related") or []
        for rid in related if isinstance(related, list) else ():
            if rid == raw.get("id"):
                problems.append(f"{name}: related: a topic cannot relate to itself")
            elif rid not in ids:
                problems.append(f"{name}: related: unknown topic {rid!r}")
        flow = raw.get("flow")
        if flow is not None and flow_ids is not None and flow not in flow_ids:
            problems.append(f"{name}: flow: unknown procedure {flow!r}")
        if raw.get("flow_choice") is not None and flow is None:
            problems.append(f"{name}: flow_choice: needs a flow (the procedure whose first step it chooses)")
        questions = raw.get("questions") if isinstance(raw.get("questions"), dict) else {}
        for lang in LANGS:
            for n, q in enumerate(questions.get(lang) or [] if isinstance(questions.get(lang), list) else []):
                key = normalize(str(q))
                if not key:
                    continue
                where = f"{name}: questions.{lang}[{n}]"
                if key in seen and not seen[key].startswith(f"{name}:"):
                    problems.append(f"{where}: same question as {seen[key]}")
                seen.setdefault(key, where)
    return problems


def check_topics(topics_dir: Path = TOPICS_DIR, sources_file: Path = SOURCES_FILE,
                 flow_ids: set[str] | None = None) -> list[str]:
    raws = read_topic_files(topics_dir)
    if not raws:
        return [f"{topics_dir}: no topic files (*.yaml)"]
    return check_raw_topics(raws, known_sources(sources_file), flow_ids)
