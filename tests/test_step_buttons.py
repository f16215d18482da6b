"""The buttons under a procedure step: its choices, its checklist with ticks, and the way on, back and out."""
from bot import buttons as bt
from conversations.events import Start


def press(dialogue, user, reply, prefix):
    button = next(b for b in reply.buttons if b.id.startswith(prefix))
    return dialogue.say(user, button=button.id)


def test_a_step_offers_its_choices_checklist_and_navigation(dialogue):
    first = dialogue.say("sb", button=bt.encode(bt.Step("personal_payment", Start())), lang="es")
    assert (first.flow, first.lang) == ("personal_payment", "es")
    assert [b.label for b in first.buttons] == ["Siguiente", "Cancelar"]  # no way back from the first step
    second = press(dialogue, "sb", first, "flow:personal_payment:next")
    third = press(dialogue, "sb", second, "flow:personal_payment:next")
    ticked = press(dialogue, "sb", third, "flow:personal_payment:tick:stamped_contract")
    assert ticked.step == third.step  # ticking keeps the place
    zh = dialogue.say("sb", "/language zh")
    labels = [b.label for b in zh.buttons]
    assert "我还要办劳动保障卡" in labels
    assert any(label.startswith("☑") for label in labels) and any(label.startswith("☐") for label in labels)
    assert labels[-3:] == ["下一步", "上一步", "取消"]
    assert any(b.id.startswith("flow:personal_payment:choose:labor_card") for b in zh.buttons)
    end = press(dialogue, "sb", zh, "flow:personal_payment:next")
    assert [b.label for b in end.buttons][-3:] == ["完成", "上一步", "取消"]  # the last step ends with Done


def test_escalation_inside_a_procedure_offers_the_way_back(dialogue):
    step = dialogue.say("esc", "guide me step by step through paying social insurance myself")
    assert step.flow == "personal_payment"
    dialogue.say("esc", "qwzx plorp")
    escalated = dialogue.say("esc", "blorf vemp")  # two misses in a row: a person, please
    assert escalated.fallback and escalated.flow == "personal_payment"
    back = press(dialogue, "esc", escalated, "flow:personal_payment:continue")
    assert (back.kind, back.step) == ("step", step.step)  # the place they were at, shown again
