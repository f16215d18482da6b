"""A long message costs a bounded amount to read: only MAX_CHARS characters of it (its beginning and
its end) are scored,
so 2,000 characters of random words (50-85 ms of spelling correction when scored whole) cannot hold
up everyone else."""
from __future__ import annotations

import random
import string

from knowledge.text import MAX_CHARS
from bot.render import say


def random_words(n: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    words = []
    while sum(len(w) + 1 for w in words) < n:
        words.append("".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 9))))
    return " ".join(words)[:n]


def test_only_a_bounded_prefix_of_a_long_message_is_scored(dialogue, monkeypatch):
    scored = []
    score = dialogue.matcher.score

    def recording(said, *args, **kwargs):
        scored.append(getattr(said, "text", said))  # a message read (an Utterance) or a text
        return score(said, *args, **kwargs)

    monkeypatch.setattr(dialogue.matcher, "score", recording)
    reply = dialogue.say("u1", random_words(2000))
    assert scored and max(len(t) for t in scored) <= MAX_CHARS <= 500
    assert say("too_long", "en") in reply.text


def test_a_long_real_question_is_read_whole(dialogue):
    question = ("Good morning, I hope you can help me. My mother is seventy-two and she has been receiving her "
                "pension in Beijing for about ten years. Last year somebody from the neighbourhood committee "
                "helped her with the yearly check, but this year we moved to another district and nobody has "
                "contacted her. Could you tell me when the annual review has to be done and how she can do it?")
    assert 350 < len(question) <= MAX_CHARS
    reply = dialogue.say("u2", question)
    assert say("too_long", "en") not in reply.text
    if reply.kind in ("fallback", "suggest"):  # what curators read is the whole question
        assert dialogue.store.unanswered()[-1]["text"] == question


STORY = ("My father worked for forty years in a steel mill and retired in 2009. Since then my brother always "
         "took care of his papers, but he took a job in another province this spring and now everything falls to me. I live two "
         "hours away, I work shifts, and my father does not hear well on the phone, so I want to be prepared "
         "before I visit him next month. He has an old phone that my niece gave him, and he can use it a "
         "little if someone sits beside him. ")


def test_a_long_story_is_read_at_both_ends_so_its_closing_question_is_answered(dialogue):
    story = STORY * 3 + "So my question is simple: when is the annual review?"
    assert len(story) > 2 * MAX_CHARS
    reply = dialogue.say("u3", story)
    assert say("too_long", "en") in reply.text
    assert reply.kind == "answer" and reply.topic == "review-months"


def test_the_beginning_of_a_long_message_still_counts(dialogue):
    reply = dialogue.say("u4", "When is the annual review? " + STORY * 2)
    assert reply.kind == "answer" and reply.topic == "review-months"
