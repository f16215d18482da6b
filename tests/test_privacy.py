"""bot.privacy: personal numbers are found and masked, ordinary numbers are left alone."""
from __future__ import annotations

import dataclasses
import random
import re

import pytest

from bot.privacy import Found, contains_personal, find, id_checksum_ok, luhn_ok, mask


# --- reference implementations, written independently of the module ---------
def id_check_char(body17: str) -> str:
    """ISO 7064 MOD 11-2: weight 2^(17-i) mod 11, check = (12 - sum mod 11) mod 11."""
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(body17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def make_id(body17: str) -> str:
    return body17 + id_check_char(body17)


def luhn_complete(prefix: str) -> str:
    """``prefix`` plus the Luhn check digit."""
    for d in "0123456789":
        digits = [int(c) for c in prefix + d][::-1]
        s = sum(digits[0::2]) + sum(sum(divmod(2 * x, 10)) for x in digits[1::2])
        if s % 10 == 0:
            return prefix + d
    raise AssertionError


def spaced(s: str, n: int = 4, sep: str = " ") -> str:
    return sep.join(s[i : i + n] for i in range(0, len(s), n))


FULLWIDTH = str.maketrans("0123456789Xx+@.", "０１２３４５６７８９Ｘｘ＋＠．")


def to_ascii(s: str) -> str:
    return s.translate(str.maketrans("０１２３４５６７８９Ｘｘx", "0123456789XXX"))


SAMPLE_ID = "11010519491231002X"  # the well-known valid sample
ID_A = make_id("44030119900307123")  # Shenzhen, 1990-03-07
ID_B = make_id("31011520011129004")  # Shanghai, 2001-11-29
ID_C = make_id("51010719820228871")  # Chengdu, 1982-02-28
ID_BAD_DATE = make_id("44030119901341123")  # checksum right, month 13
ID_FUTURE = make_id("44030121990101123")  # checksum right, born in 2199
CARD_19 = luhn_complete("622202123456789012")  # UnionPay, 19 digits
CARD_16 = luhn_complete("622848004000123")  # 16 digits
VISA = "4111111111111111"


def wrong_check(id18: str) -> str:
    return id18[:17] + ("0" if id18[17] != "0" else "1")


# --- the reference functions agree with the published sample ----------------
def test_reference_checksum_agrees_with_known_sample():
    assert id_check_char(SAMPLE_ID[:17]) == "X"
    assert luhn_complete(VISA[:15]) == VISA


# --- id_checksum_ok ---------------------------------------------------------
@pytest.mark.parametrize(
    "s",
    [SAMPLE_ID, SAMPLE_ID.lower(), ID_A, ID_B, ID_C, ID_BAD_DATE,
     make_id("11010519491231001"), make_id("65010219790815002"),
     SAMPLE_ID.translate(FULLWIDTH)],
)
def test_id_checksum_ok_valid(s):
    assert id_checksum_ok(s)


@pytest.mark.parametrize(
    "s",
    [wrong_check(SAMPLE_ID), wrong_check(ID_A), wrong_check(ID_B), "110105194912310021",
     "11010519491231002", "11010519491231002XX", "1101051949123100AX", "", "X" * 18,
     ID_A[:17] + "Y", "110105194912310025"],
)
def test_id_checksum_ok_invalid(s):
    assert not id_checksum_ok(s)


def test_id_checksum_every_check_char():
    """Each of the 11 possible check characters is accepted exactly when right."""
    rng = random.Random(7)
    seen = set()
    for _ in range(400):
        body = "".join(rng.choice("0123456789") for _ in range(17))
        good = id_check_char(body)
        seen.add(good)
        for c in "0123456789X":
            assert id_checksum_ok(body + c) is (c == good), body + c
    assert seen == set("0123456789X")


# --- luhn_ok ----------------------------------------------------------------
@pytest.mark.parametrize(
    "digits",
    [VISA, "5555555555554444", "378282246310005", CARD_16, CARD_19, spaced(CARD_19),
     spaced(CARD_16, sep="-"), "79927398713", VISA.translate(FULLWIDTH)],
)
def test_luhn_ok_valid(digits):
    assert luhn_ok(digits)


@pytest.mark.parametrize(
    "digits",
    ["4111111111111112", "79927398710", CARD_19[:-1] + str((int(CARD_19[-1]) + 1) % 10),
     "", "0", "4111a11111111111", "abcdefghijklmnop"],
)
def test_luhn_ok_invalid(digits):
    assert not luhn_ok(digits)


# --- IDs in sentences -------------------------------------------------------
@pytest.mark.parametrize(
    "template",
    [
        "我的身份证号是{}请帮我查",
        "身份证{}，社保卡丢了怎么办？",
        "{}",
        "My ID number is {}, can you check my pension?",
        "ID:{}.",
        "Mi número de identidad es {}; ¿puedo pagar en línea?",
        "(DNI chino {})",
    ],
)
@pytest.mark.parametrize("number", [SAMPLE_ID, SAMPLE_ID.lower(), ID_A, ID_B, ID_C])
def test_valid_id_in_sentence(template, number):
    text = template.format(number)
    start = text.index(number)
    assert find(text) == [Found("id", start, start + 18, True)]
    assert mask(text) == template.format(f"[ID:***{number[-4:].upper()}]")
    assert contains_personal(text)


@pytest.mark.parametrize(
    "number", [wrong_check(SAMPLE_ID), wrong_check(ID_A), ID_BAD_DATE, ID_FUTURE, "130102199001011234"]
)
def test_invalid_id_is_still_masked(number):
    text = f"身份证号{number}对吗"
    (f,) = find(text)
    assert (f.kind, f.valid, text[f.start : f.end]) == ("id", False, number)
    assert mask(text) == f"身份证号[ID:***{number[-4:]}]对吗"


@pytest.mark.parametrize(
    "text,expected",
    [
        ("old ID 110105491231002 here", "old ID [ID:***1002] here"),
        ("旧身份证110105491231002", "旧身份证[ID:***1002]"),
    ],
)
def test_old_15_digit_id(text, expected):
    (f,) = find(text)
    assert f.kind == "id" and f.valid
    assert mask(text) == expected


@pytest.mark.parametrize("sep", [" ", "-"])
def test_id_grouped(sep):
    grouped_684 = sep.join([ID_A[:6], ID_A[6:14], ID_A[14:]])
    text = f"ID {grouped_684} thanks"
    assert [(f.kind, f.valid) for f in find(text)] == [("id", True)]
    assert mask(text) == f"ID [ID:***{ID_A[-4:]}] thanks"
    grouped_4 = spaced(SAMPLE_ID, sep=sep)
    assert [(f.kind, f.valid) for f in find(grouped_4)] == [("id", True)]


def test_id_is_not_a_card_even_when_luhn_valid():
    # an 18-digit valid ID whose digits also pass Luhn
    rng = random.Random(3)
    while True:
        seq = "".join(rng.choice("0123456789") for _ in range(3))
        number = make_id(f"110105{rng.randrange(1950, 2000)}0{rng.randrange(1, 10)}1{rng.randrange(10)}{seq}")
        if number[-1] != "X" and luhn_ok(number):
            break
    assert [(f.kind, f.valid) for f in find(f"卡号还是身份证{number}?")] == [("id", True)]
    # an ID-shaped token that fails both checks is still an ID, not a card
    assert [f.kind for f in find(wrong_check(number))] == ["id"]


def test_phone_inside_id_not_masked_separately():
    number = make_id("13812345678901234")  # starts like a mobile number
    assert [f.kind for f in find(number)] == ["id"]
    assert mask(f"号码{number}") == f"号码[ID:***{number[-4:]}]"


# --- phones -----------------------------------------------------------------
@pytest.mark.parametrize(
    "phone",
    [
        "13812345678", "138 1234 5678", "138-1234-5678", "+86 138 1234 5678",
        "+86-138-1234-5678", "+8613812345678", "0086 13812345678", "008613812345678",
        "86 13812345678", "(+86) 138 1234 5678", "138 12345678", "+86 13812345678",
        "１３８１２３４５６７８", "＋８６ １３８ １２３４ ５６７８", "138\u30001234\u30005678",
    ],
)
@pytest.mark.parametrize(
    "template",
    ["我的手机{}，请回电", "call me on {} please", "Mi teléfono: {}.", "电话是{}"],
)
def test_phone_in_sentence(phone, template):
    text = template.format(phone)
    start = text.index(phone)
    assert find(text) == [Found("phone", start, start + len(phone), True)]
    assert mask(text) == template.format("[PHONE:***5678]")


@pytest.mark.parametrize("prefix", ["13", "14", "15", "16", "17", "18", "19"])
def test_phone_prefixes(prefix):
    assert [f.kind for f in find(f"tel {prefix}912345678")] == ["phone"]


@pytest.mark.parametrize("text", ["tel 12912345678", "tel 10012345678", "tel 23812345678"])
def test_not_a_mobile(text):
    assert find(text) == []


# --- bank cards -------------------------------------------------------------
@pytest.mark.parametrize(
    "card,valid",
    [
        (VISA, True), (CARD_16, True), (CARD_19, True), (spaced(CARD_19), True),
        (spaced(CARD_16), True), (spaced(CARD_16, sep="-"), True), ("4111111111111112", False),
        (spaced("6222021234567890125"), luhn_ok("6222021234567890125")),
        ("62220212345678901", luhn_ok("62220212345678901")),  # 17 digits
        (CARD_19.translate(FULLWIDTH), True),
    ],
)
@pytest.mark.parametrize("template", ["银行卡号{}扣款失败", "card {} was charged", "tarjeta {}"])
def test_card_in_sentence(card, valid, template):
    text = template.format(card)
    start = text.index(card)
    assert find(text) == [Found("card", start, start + len(card), valid)]
    last4 = re.sub(r"[^0-9]", "", to_ascii(card))[-4:]
    assert mask(text) == template.format(f"[CARD:***{last4}]")


def test_18_digits_grouped_in_fours_is_a_card_unless_a_real_id():
    card18 = luhn_complete("62220212345678901")
    assert not (id_checksum_ok(card18) and card18[6:8] in ("19", "20"))
    assert [f.kind for f in find(spaced(card18))] == ["card"]
    assert [f.kind for f in find(card18)] == ["id"]  # written solid it is ID-shaped


# --- e-mails ----------------------------------------------------------------
@pytest.mark.parametrize(
    "email",
    ["wang.lei@qq.com", "13812345678@163.com", "ana.garcia+ss@correo.es", "j_doe@mail.example.co.uk",
     "ｗａｎｇ＠ｑｑ．ｃｏｍ"],
)
@pytest.mark.parametrize("template", ["邮箱{}谢谢", "write to {}.", "mi correo es {}, gracias"])
def test_email(email, template):
    text = template.format(email)
    start = text.index(email)
    assert find(text) == [Found("email", start, start + len(email), True)]
    assert mask(text) == template.format("[EMAIL]")


@pytest.mark.parametrize("text", ["foo@bar", "@home", "a @ b.com", "price 5@10.5"])
def test_not_an_email(text):
    assert find(text) == []


# --- ordinary numbers are left alone ----------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "In 2024 the contribution base changed.",
        "See article 58 of the Social Insurance Law.",
        "You have 30 days to apply.",
        "The fee is 2,000 yuan per month.",
        "The minimum is 1,234,567.89 yuan.",
        "Deadline: 2024-09-01, or 2024/09/01, or 20240901.",
        "第58条规定，2024年9月1日起30天内办理。",
        "缴费基数为12000元，比例8%。",
        "Según el artículo 58, el plazo es de 30 días desde el 01/09/2024.",
        "Call the hotline 12333 or 95588, code 400-820-8820.",
        "Landline 010-12345678 ext. 123.",
        "Version 3.13812345678 and ratio 0.13812345678",
        "order 2024-0901-1234",
        "timestamp 1725148800000 and 20240901123045",
        "dates 2024 09 01 and 2023 12 31",
        "",
        "no digits at all",
        "我想咨询一下养老保险",
    ],
)
def test_ordinary_numbers_left_alone(text):
    assert find(text) == []
    assert mask(text) == text
    assert not contains_personal(text)


# --- several at once --------------------------------------------------------
def test_several_numbers_in_one_text():
    text = (
        f"我叫王磊，身份证{SAMPLE_ID}，手机+86 139 1234 5678，"
        f"银行卡{spaced(CARD_19)}，邮箱wang@qq.com。2024年第58条，30天。"
        f" Also ID {ID_B.lower()} and phone 15012345678."
    )
    assert [f.kind for f in find(text)] == ["id", "phone", "card", "email", "id", "phone"]
    assert all(f.valid for f in find(text))
    assert mask(text) == (
        f"我叫王磊，身份证[ID:***002X]，手机[PHONE:***5678]，"
        f"银行卡[CARD:***{CARD_19[-4:]}]，邮箱[EMAIL]。2024年第58条，30天。"
        f" Also ID [ID:***{ID_B[-4:]}] and phone [PHONE:***5678]."
    )


@pytest.mark.parametrize(
    "text,expected",
    [
        # the address is 128@qq.com; the card before it is still a card
        ("6222 0212 3456 7890 128@qq.com", "[CARD:***7890] [EMAIL]"),
        # "@1101...x0b.cn" has no local part: not an address, but the local part of the next
        ("X＠@11010519491231002x0b.cn＠5138qq.com", "X＠@[EMAIL]"),
        ("＠a4111-1111-1111-1112qq.com＠138qq.com", "＠[EMAIL]"),
    ],
)
def test_numbers_next_to_emails(text, expected):
    assert mask(text) == expected
    assert mask(expected) == expected


def test_adjacent_numbers():
    assert mask("13812345678,13912345670") == "[PHONE:***5678],[PHONE:***5670]"
    assert mask("a@b.cn13812345678") == "[EMAIL][PHONE:***5678]"


def test_full_width_id_in_chinese():
    text = f"身份证号：{SAMPLE_ID.translate(FULLWIDTH)}。"
    assert [(f.kind, f.valid) for f in find(text)] == [("id", True)]
    assert mask(text) == "身份证号：[ID:***002X]。"


# --- masking properties -----------------------------------------------------
PERSONAL = [
    SAMPLE_ID, SAMPLE_ID.lower(), ID_A, wrong_check(ID_C), "110105491231002", "13812345678",
    "+86-138-1234-5678", "(+86) 139 1234 5678", "１３８１２３４５６７８", spaced(CARD_19), VISA,
    "4111-1111-1111-1112", SAMPLE_ID.translate(FULLWIDTH),
]
TEMPLATES = ["我的号码是{}请帮我查", "my number: {}", "es el {}, gracias", "{}"]


@pytest.mark.parametrize("number", PERSONAL)
@pytest.mark.parametrize("template", TEMPLATES)
def test_masked_text_keeps_only_last_four(number, template):
    text = template.format(number)
    out = mask(text)
    assert number not in out
    kept = re.sub(r"[^0-9X]", "", to_ascii(number))[-4:]
    assert re.sub(r"[^0-9X]", "", out) == kept  # no other digit of the number survives


@pytest.mark.parametrize("number", PERSONAL + ["wang@qq.com"])
@pytest.mark.parametrize("template", TEMPLATES)
def test_idempotent(number, template):
    once = mask(template.format(number))
    assert mask(once) == once
    assert find(once) == []


def test_idempotent_on_random_texts():
    rng = random.Random(2024)
    pieces = PERSONAL + ["2024", "58", " ", "，", "年", "-", "+86", "@", "qq.com", "a", ".", "0", "1", "X"]
    for _ in range(2000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 12)))
        once = mask(text)
        assert mask(once) == once, text
        for f in find(text):
            assert 0 <= f.start < f.end <= len(text)
        spans = [(f.start, f.end) for f in find(text)]
        assert spans == sorted(spans)
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), text


def test_found_is_frozen():
    (f,) = find(SAMPLE_ID)
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.kind = "card"  # type: ignore[misc]


# --- long digit runs: a phone glued to an ID is never kept in clear ---------
@pytest.mark.parametrize(
    "text,expected",
    [
        (f"13812345678{ID_A}", f"[NUMBER:***{ID_A[-4:]}]"),
        (f"{ID_A}13812345678", "[NUMBER:***5678]"),
        (f"号码13812345678{SAMPLE_ID}谢谢", "号码[NUMBER:***002X]谢谢"),
        (f"{SAMPLE_ID}13812345678", "[ID:***002X][PHONE:***5678]"),  # the X ends the ID
        (f"cards {CARD_19}{CARD_16} ok", f"cards [NUMBER:***{CARD_16[-4:]}] ok"),
        ("1" * 20, "[NUMBER:***1111]"),
        ("x " + "9" * 300 + " y", "x [NUMBER:***9999] y"),
        ("１３８１２３４５６７８１３８１２３４５６７８", "[NUMBER:***5678]"),
    ],
)
def test_digit_runs_longer_than_19_are_masked(text, expected):
    assert mask(text) == expected
    assert mask(expected) == expected
    assert contains_personal(text)
    digits = re.sub(r"[^0-9]", "", to_ascii(text))
    assert digits[:-4] not in re.sub(r"[^0-9]", "", to_ascii(mask(text)))


def test_long_run_kind_is_number():
    (f,) = find(f"tel13812345678{ID_B}")
    assert (f.kind, f.valid) == ("number", False)


@pytest.mark.parametrize("text", ["1" * 19 + ".5", "12345678901234567890.25 yuan"])
def test_long_number_with_decimal_part_is_left_alone(text):
    # the integer part of a decimal is not a personal number, however long
    assert [f.kind for f in find(text)] in ([], ["card"])
    assert "NUMBER" not in mask(text)


# --- big inputs (no time limits here: speed is measured by bench scripts, not asserted) ---------
def test_mask_2000_chars():
    text = (f"我的身份证号是{SAMPLE_ID}请帮我查，根据第58条，2024年缴费基数12,000元，30天内办理。"
            "Según el artículo 58, in 2024 you pay within 30 days. " * 40)[:2000]
    out = mask(text)
    assert SAMPLE_ID not in out and "[ID:***002X]" in out
    assert "12,000" in out and "58" in out


@pytest.mark.parametrize(
    "text",
    ["a" * 200_000, "a@" * 100_000, "@a" * 100_000, "a." * 100_000 + "@", "a@a." * 50_000,
     "1" * 200_000, "1 " * 100_000, "1234 " * 40_000, "1." * 100_000, "138 1234 5678 " * 14_000,
     "中" * 200_000, "＠" * 200_000, "(+86 " * 40_000, "a" * 100_000 + "@" + "b." * 50_000,
     "1" * 199_998 + ".5", "11010519491231002X" * 10_000],
)
def test_big_adversarial_inputs(text):
    once = mask(text)
    assert mask(once) == once
