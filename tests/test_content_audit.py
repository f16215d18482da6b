"""The eleven corrections of the content audit (issue 10, part 6), each kept from coming back.

Every claim was checked against ../shared/seeds/ and the law's official text; these tests scan what the
bot says (answers, titles, procedure steps and labels, UI strings, source titles) for the wording
the audit found wrong, and check that the corrected wording is there. Users' own words (question
variants, keywords, triggers, aliases) are not scanned: people may type the old wording.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot import render
from conversations.loader import load_flows
from knowledge.kb import load
from knowledge.language import LANGS

ROOT = Path(__file__).resolve().parent.parent
KB = load()
FLOWS = load_flows()
SOURCES = yaml.safe_load((ROOT / "knowledge" / "sources.yaml").read_text(encoding="utf-8"))


def flow_texts(lang: str) -> dict[str, str]:
    """Every text of every procedure in one language, by where it is."""
    out = {}
    for flow in FLOWS.values():
        out[f"{flow.id}.title"] = flow.title[lang]
        out[f"{flow.id}.description"] = flow.description[lang]
        for step in flow.steps.values():
            out[f"{flow.id}.{step.id}"] = step.text[lang]
            for choice in step.choices:
                out[f"{flow.id}.{step.id}.{choice.id}"] = choice.label[lang]
            for item in step.checklist:
                out[f"{flow.id}.{step.id}.{item.id}"] = item.label[lang]
    return out


def said(lang: str) -> dict[str, str]:
    """Everything the bot can say in one language: answers, titles, steps, UI strings, source titles."""
    out = {f"{t.id}.answer": t.answer[lang] for t in KB.topics.values()}
    out |= {f"{t.id}.title": t.title[lang] for t in KB.topics.values()}
    out |= flow_texts(lang)
    out |= {f"strings.{key}": value[lang] for key, value in render.strings().items()}
    for part in ("documents", "laws"):
        out |= {f"sources.{sid}": doc["title"][lang] for sid, doc in SOURCES[part].items()}
    return out


def containing(lang: str, pattern: str) -> list[str]:
    rx = re.compile(pattern, re.I)
    return [f"{where}: {text[:120]!r}" for where, text in said(lang).items() if rx.search(text)]


def step(flow: str, step_id: str, lang: str) -> str:
    return FLOWS[flow].steps[step_id].text[lang]


# 1. Review months: the documents date the enterprise review; none dates an individual's certification.
REVIEW_HONEST = {"en": ("enterprise", "my documents do not say"), "es": ("empresas", "mis documentos no dicen"),
                 "zh": ("企业社保年审", "现有资料没有写明")}


@pytest.mark.parametrize("lang", LANGS)
def test_review_months_dates_the_enterprise_review_only_and_says_so_for_individuals(lang):
    answer = KB.topics["review-months"].answer[lang]
    assert all(words in answer for words in REVIEW_HONEST[lang]), answer
    assert any(m in answer for m in ("September", "septiembre", "9月"))
    reminder = render.say("remind_message", lang)
    assert any(w in reminder for w in ("enterprise", "empresas", "企业"))
    assert any(w in reminder for w in ("do not date", "no fechan", "没有写明"))


@pytest.mark.parametrize("lang, question", [("en", "my dad is retired, in which month does he have to certify"),
                                            ("es", "soy jubilado, ¿en qué mes tengo que hacer la certificación?"),
                                            ("zh", "退休人员每年几月份要做资格认证")])
def test_a_retiree_asking_when_to_certify_is_told_the_documents_do_not_say(dialogue, lang, question):
    reply = dialogue.say("retiree", question)
    assert reply.topic == "review-months" and reply.lang == lang
    assert REVIEW_HONEST[lang][1] in reply.text


# 2. One Chinese wording of the Alipay menu everywhere.
def test_the_alipay_menu_has_one_chinese_wording():
    assert containing("zh", "市社保服务|省企业保险资格认证") == []
    for text in (KB.topics["annual-review-alipay"].answer["zh"], step("annual_review", "alipay_service", "zh")):
        assert "市直社保服务" in text and "省直企保资格认证" in text


# 3. English and Spanish steps name the Chinese screen labels, as the answers do.
QUOTED = re.compile(r"“([^”]+)”|«([^»]+)»|\"([^\"]+)\"")
SCREEN_STEPS = ["alipay_more", "alipay_city", "alipay_service", "alipay_authorize", "alipay_certify", "app_find",
                "online_form", "online_channel"]


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("step_id", SCREEN_STEPS)
def test_every_screen_label_in_a_phone_step_carries_its_chinese(lang, step_id):
    text = step("annual_review", step_id, lang)
    labels = list(QUOTED.finditer(text))
    assert labels, text
    for m in labels:
        after = text[m.end():m.end() + 2]
        assert after == " (" and re.match(r" \([\u4e00-\u9fff]+\)", text[m.end():]), f"{m.group(0)} in {text!r}"


# 4. The alternative Alipay route starts from the City service page, not after the log-in.
def test_the_alternative_alipay_route_starts_on_the_city_service_page():
    for lang in LANGS:
        assert "办事大厅" in step("annual_review", "alipay_city", lang)
        for later in ("alipay_service", "alipay_authorize", "alipay_login", "alipay_certify"):
            assert "办事大厅" not in step("annual_review", later, lang)
            assert not re.search(r"Office Hall|Sala de trámites", step("annual_review", later, lang))
    for lang in LANGS:
        answer = KB.topics["annual-review-alipay"].answer[lang]
        route = answer[answer.index("办事大厅") - 200:answer.index("办事大厅")]
        assert "城市服务" in route, route  # the paragraph names the page it starts from


# 5. The company review's form is received and filled in during the process, not brought.
def test_the_company_review_form_is_not_a_paper_to_bring():
    materials = FLOWS["enterprise_review"].steps["materials"]
    assert [item.id for item in materials.checklist] == ["registration_certificate"]
    for lang, words in (("en", "not a paper to bring"), ("es", "no hay que llevarlo"), ("zh", "不需要自己带")):
        assert words in materials.text[lang]
    for lang, words in (("en", "you do not bring it"), ("es", "no hay que llevarlo"), ("zh", "不需要自己带")):
        assert words in KB.topics["review-materials-process"].answer[lang]


# 6. "New staff are declared with a staff increase and decrease declaration" is in no document.
def test_no_unsourced_claim_about_declaring_new_staff():
    assert containing("en", r"new staff (can|may) be declared|declared? (new staff )?with a staff increase") == []
    assert containing("es", r"declarar al personal nuevo con") == []
    assert containing("zh", r"通过“人员增减申报”为新员工申报") == []
    existing = FLOWS["new_employee_registration"].steps["existing_unit"]
    assert "doc-004" not in existing.sources
    for lang, words in (("en", "my documents do not say"), ("es", "mis documentos no explican"), ("zh", "现有资料没有说明")):
        assert words in existing.text[lang]


# 7. The app is the one of the social security bureau of the place where you are insured.
def test_the_app_step_says_of_the_place_where_you_are_insured():
    for lang, words in (("en", "of the place where you are insured"), ("es", "del lugar donde está asegurado"),
                        ("zh", "参保所在地")):
        assert words in step("annual_review", "app_download", lang)
        assert words.replace("of the place ", "") in KB.topics["annual-review-app"].answer[lang]


# 8. Spanish Art. 12: credited (记入), not recorded by the employee; Art. 58: from the first day of work.
def test_spanish_article_12_credits_the_premiums_to_the_accounts():
    answer = KB.topics["art12-pension"].answer["es"]
    assert "registrarlas" not in answer and "las registrará" not in answer
    assert answer.count("se abonarán") == 3 and "se abonarán a sus cuentas personales" in answer


def test_spanish_article_58_counts_from_the_first_day_of_work():
    assert containing("es", r"fecha (de su )?contrataci[oó]n") == []
    assert "30 días contados desde el primer día de trabajo" in KB.topics["art58-registration"].answer["es"]
    assert "primer día de trabajo" in step("new_employee_registration", "rule", "es")


# 9. One Chinese register, and full-width punctuation in the Chinese source line.
def test_chinese_says_nin_never_ni():
    assert containing("zh", "你") == []


def test_the_chinese_source_line_is_full_width(dialogue):
    reply = dialogue.say("zh-src", "社保年审 支付宝怎么操作")
    line = next(l for l in reply.text.splitlines() if l.startswith("来源"))
    assert line.startswith("来源：") and "；" in line and ";" not in line and ":" not in line
    step_reply = dialogue.say("zh-src", "一步步带我用手机办理社保年审")
    assert "来源：" in step_reply.text and "来源:" not in step_reply.text
    english = dialogue.say("en-src", "how do i do the annual review with alipay")
    assert "Source: " in english.text and "；" not in english.text


# 10. Spanish: China's law by its name, one word for premiums and for the agency, the client program.
def test_spanish_names_chinas_law_not_mexicos():
    assert containing("es", r"Ley del Seguro Social") == []
    law = [t for t in said("es").values() if "Ley de Seguro Social" in t]
    assert law and all(re.search(r"Ley de Seguro Social de (la República Popular )?China", t) for t in law)


def test_spanish_has_one_word_for_premiums_and_one_for_the_agency():
    assert containing("es", r"\bprimas?\b|\bcotizaciones\b") == []
    assert containing("es", r"agencia de (la )?segur|agencia de seguro|\borganismo|\bentidad que") == []
    for words in ("cuotas", "agencia del seguro social"):
        assert containing("es", words)


def test_spanish_says_the_client_program_never_the_client():
    assert containing("es", r"\bel cliente\b") == []
    assert FLOWS["client_declaration"].title["es"] == "Declarar con el programa cliente"
    assert "el programa cliente de la seguridad social" in KB.topics["client-declaration"].answer["es"]


# 11. English: the established names of the certification and of the staff-addition form.
def test_english_names_the_certification_and_the_form():
    assert containing("en", r"treatment qualification certification|membership increase form") == []
    plain = lambda text: text.replace('"', "").replace("“", "").replace("”", "").lower()  # noqa: E731
    assert "benefits eligibility certification (社保待遇资格认证)" in plain(KB.topics["annual-review-alipay"].answer["en"])
    assert "benefits eligibility certification (社保待遇资格认证)" in plain(step("annual_review", "alipay_certify", "en"))
    assert "staff-addition form (增员表)" in KB.topics["new-employer-account"].answer["en"]
    labels = {i.id: i.label["en"] for i in FLOWS["new_employee_registration"].steps["unit_forms"].checklist}
    assert labels["staff_increase"] == "Staff-addition form (增员表)"


@pytest.mark.parametrize("question, topic", [("what is the benefits eligibility certification", "annual-review-alipay"),
                                             ("where do I get the staff-addition form", "new-employer-account"),
                                             ("¿a dónde van mis cuotas de pensión?", "art12-pension")])
def test_the_corrected_names_are_understood_when_a_user_repeats_them(dialogue, question, topic):
    assert dialogue.say("repeat", question).topic == topic  # what the bot now says, a user may type back
