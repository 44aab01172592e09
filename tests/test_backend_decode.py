"""Continuous batching (backends/decode.py) on the tiny transformers test model: greedy answers
identical to a naive one-prompt-at-a-time ``generate`` loop in float32 (with fewer slots than
prompts, so finished sequences are replaced and the tail is compacted), sampling reproducible
per prompt whatever else is in the batch, the fallback to ``generate`` where the loop does not
fit, and the CPU slot count from the matmul knee and free RAM."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from biasprobe.backends.base import ChatRequest, Message
from biasprobe.config import GenerationSettings, ModelEntry
from biasprobe.errors import BackendError
from biasprobe.sources import ResolvedModel
from test_determinism import WORDS, _tiny_model

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny_model(tmp_path_factory.mktemp("tiny"))


def _backend(path: Path, **fields: Any) -> Any:
    from biasprobe.backends.transformers import TransformersBackend

    entry = ModelEntry.model_validate({"name": "tiny", "source": {"path": str(path)},
                                       "device": "cpu", "dtype": "float32",
                                       "reasoning": {"mode": "none"}, **fields})
    return TransformersBackend(entry, ResolvedModel(path=path, revision=None, files_sha256={}))


def _requests(n: int) -> list[ChatRequest]:
    words = WORDS[5:]
    return [ChatRequest((f"p{i}", 0), (Message("user", " ".join(
        words[(i * 7 + j * 3) % len(words)] for j in range(1 + i % 9))),)) for i in range(n)]


def _naive(backend: Any, requests: list[ChatRequest], max_new: int) -> list[str]:
    """One ``model.generate`` call per prompt (batch of one, no padding): the reference."""
    import torch

    out = []
    for r in requests:
        enc = backend.tokenizer(backend.render(r), return_tensors="pt", add_special_tokens=False)
        with torch.inference_mode():
            ids = backend.model.generate(**enc, max_new_tokens=max_new, do_sample=False,
                                         pad_token_id=0)[0, enc["input_ids"].shape[1]:].tolist()
        ids = ids[: ids.index(1)] if 1 in ids else ids
        out.append(str(backend.tokenizer.decode(ids, skip_special_tokens=False)))
    return out


@pytest.mark.parametrize("penalty", [1.0, 1.3])
def test_greedy_identical_to_naive_loop(tiny_model: Path, penalty: float) -> None:
    backend = _backend(tiny_model, batch_size=3, decode="continuous")
    backend.model.generation_config.repetition_penalty = penalty  # generate applies it too
    requests = _requests(11)
    gens = backend.generate(requests, GenerationSettings(max_new_tokens=12))
    assert backend.decode == "continuous" and backend.micro_batch == 3
    assert [g.key for g in gens] == [r.key for r in requests]
    assert [g.answer for g in gens] == [a.strip() for a in _naive(backend, requests, 12)]
    assert len({g.answer for g in gens}) > 3  # not one answer repeated
    old = _backend(tiny_model, batch_size=3, decode="generate")
    old.model.generation_config.repetition_penalty = penalty
    olds = old.generate(requests, GenerationSettings(max_new_tokens=12))
    assert [(g.answer, g.tokens_out, g.finish_reason, g.tokens_in) for g in gens] == \
        [(g.answer, g.tokens_out, g.finish_reason, g.tokens_in) for g in olds]


def test_prefill_groups_split_by_padding(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a padding limit (decode.PREFILL_PADDING, off by default), prompts of very different
    lengths are prefilled in several groups (none over the padding share once it has
    PREFILL_MIN_TOKENS), and the greedy answers stay the naive loop's."""
    from biasprobe.backends import decode

    backend = _backend(tiny_model, batch_size=6, decode="continuous")  # its self-check prefills
    monkeypatch.setattr(decode, "PREFILL_MIN_TOKENS", 8)
    monkeypatch.setattr(decode, "PREFILL_PADDING", 0.15)  # off by default
    groups: list[list[int]] = []
    plain = decode.ContinuousDecoder._prefill

    def spy(self: Any, jobs: list[Any], queue: Any, *rest: Any) -> None:
        before = list(queue)
        plain(self, jobs, queue, *rest)
        groups.append([len(jobs[i].ids) - self._prefix for i in before[: len(before) - len(queue)]])

    monkeypatch.setattr(decode.ContinuousDecoder, "_prefill", spy)
    words = WORDS[5:]
    requests = [ChatRequest((f"p{i}", 0), (Message("user", " ".join(
        words[(i * 5 + j) % len(words)] for j in range(n))),)) for i, n in enumerate((1, 2, 3, 30, 31, 60))]
    gens = backend.generate(requests, GenerationSettings(max_new_tokens=8))
    assert len(groups) >= 3 and sum(map(len, groups)) == 6
    for g in groups:  # each group within the padding share, except when it had too few tokens
        assert sum(g[:-1]) < decode.PREFILL_MIN_TOKENS or \
            sum(g) >= (1 - decode.PREFILL_PADDING) * len(g) * max(g)
    assert [g.answer for g in gens] == [a.strip() for a in _naive(backend, requests, 8)]


def test_sampling_is_per_prompt(tiny_model: Path) -> None:
    settings = GenerationSettings(max_new_tokens=10, temperature=1.0, seed=5, samples=2)
    requests = [ChatRequest((r.key[0], s), r.messages) for r in _requests(6) for s in (0, 1)]
    wide = _backend(tiny_model, batch_size=12).generate(requests, settings)
    narrow = _backend(tiny_model, batch_size=2)
    alone = [narrow.generate([r], settings)[0] for r in requests[:4]]
    assert [g.answer for g in alone] == [g.answer for g in wide[:4]]  # batch-independent
    reseeded = _backend(tiny_model, batch_size=12).generate(
        requests, GenerationSettings(max_new_tokens=10, temperature=1.0, seed=6, samples=2))
    assert [g.answer for g in reseeded] != [g.answer for g in wide]  # the seed drives it
    assert len({g.answer for g in wide}) > 4  # samples of one prompt differ


def test_unsupported_settings_fall_back_to_generate(tiny_model: Path, tmp_path: Path) -> None:
    import json
    import shutil

    model_dir = tmp_path / "ngram"
    shutil.copytree(tiny_model, model_dir)
    cfg_path = model_dir / "generation_config.json"
    cfg = json.loads(cfg_path.read_text()) if cfg_path.exists() else {}
    cfg_path.write_text(json.dumps({**cfg, "no_repeat_ngram_size": 2}))
    auto = _backend(model_dir, batch_size=2)
    assert auto.decode == "generate"
    assert "no_repeat_ngram_size" in auto.info().extra["decode_fallback"]
    assert auto.generate(_requests(3), GenerationSettings(max_new_tokens=6))[0].answer
    with pytest.raises(BackendError, match="decode: continuous does not fit"):
        _backend(model_dir, batch_size=2, decode="continuous")


def test_self_check_refuses_what_it_cannot_drive(tiny_model: Path) -> None:
    from biasprobe.backends.decode import self_check

    backend = _backend(tiny_model, decode="generate")
    assert self_check(backend.model, 0) is None
    backend.model.config.layer_types = ["sliding_attention", "full_attention"]
    assert "sliding_attention" in (self_check(backend.model, 0) or "")
    backend.model.config.layer_types = ["full_attention", "full_attention"]
    head = backend.model.get_output_embeddings()
    backend.model.get_output_embeddings = lambda: _Scaled(head)  # our head != the model's own
    assert "differ" in (self_check(backend.model, 0) or "")


@pytest.mark.parametrize("penalty", [1.0, 1.3])
def test_every_answer_ending_at_its_first_token(tiny_model: Path, penalty: float) -> None:
    """A head that always picks EOS: every answer ends at the token chosen from its prefill,
    so no slot is busy when the queue empties (the tail compaction once crashed there:
    ``index_select`` on an empty float index; found rehearsing the H200 check, whose
    out-of-memory run uses such a head)."""
    import torch
    from transformers import AutoModelForCausalLM

    from biasprobe.backends.decode import ContinuousDecoder, Job, Sampling

    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32).eval()
    head = torch.nn.Linear(model.config.hidden_size, model.config.vocab_size, bias=True)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        head.bias[1] = 1.0  # the tiny model's EOS
    model.set_output_embeddings(head)
    jobs = [Job([5 + i, 6, 7][: 1 + i % 3]) for i in range(7)]
    done = ContinuousDecoder(model, {1}, 0, 3).run(
        jobs, 16, Sampling(greedy=True, repetition_penalty=penalty))
    assert [(d.tokens, d.stopped) for d in done] == [([], True)] * 7


def test_continuous_oom_halves_the_slots_and_loses_nothing(
        tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An out-of-memory error in the continuous loop (here simulated above 2 slots, as the
    preallocated KV cache of too many slots raises it on a GPU) halves the slots and redoes the
    call: every answer is returned, the same as with 2 slots from the start, and the manifest
    records the slots that worked and the halvings."""
    import torch

    from biasprobe.backends import decode

    requests, settings = _requests(7), GenerationSettings(max_new_tokens=6)
    expected = [g.answer for g in _backend(tiny_model, batch_size=2).generate(requests, settings)]
    tried: list[int] = []
    real_run = decode.ContinuousDecoder.run

    def run(self: Any, jobs: list[Any], max_new: int, sampling: Any) -> Any:
        tried.append(min(self.slots, len(jobs)))
        if tried[-1] > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return real_run(self, jobs, max_new, sampling)

    monkeypatch.setattr(decode.ContinuousDecoder, "run", run)
    backend = _backend(tiny_model, batch_size=8, decode="continuous")
    tried.clear()  # the load's self-check ran the loop with 2 slots
    gens = backend.generate(requests, settings)
    assert [g.answer for g in gens] == expected
    assert tried == [7, 4, 2]  # 8 slots (7 prompts), then 4, then 2
    extra = backend.info().extra
    assert (extra["micro_batch"], extra["oom_events"]) == (2, 2)


class _Scaled:
    def __init__(self, head: Any) -> None:
        self.head, self.weight = head, head.weight

    def __call__(self, hidden: Any) -> Any:
        return self.head(hidden) * 2.0


def test_cpu_slots_from_knee_and_memory(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from biasprobe.backends import transformers as tb

    backend = _backend(tiny_model, batch_size="auto")
    knee, rates = tb.matmul_knee(backend.model)
    assert knee in tb.KNEE_ROWS and set(rates) == set(tb.KNEE_ROWS)
    assert rates[knee] >= tb.KNEE_SHARE * max(rates.values())
    knee, rates = tb.matmul_knee(backend.model, packed=True)  # the prepacked product's knee
    assert knee in tb.KNEE_ROWS and rates[knee] >= tb.KNEE_SHARE * max(rates.values())
    assert tb.cpu_slots(backend.model, 64, 100, 50) == 64  # plenty of RAM: the knee
    per_seq = tb.kv_bytes_per_token(backend.model) * 150 + 16 * len(WORDS)
    monkeypatch.setattr(tb, "available_ram", lambda: 10 * per_seq)
    assert tb.cpu_slots(backend.model, 64, 100, 50) == 5  # half of the RAM holds 5 caches
    backend.generate(_requests(5), GenerationSettings(max_new_tokens=4))
    extra = backend.info().extra
    assert extra["decode"] == "continuous" and extra["matmul_knee"] in tb.KNEE_ROWS
    assert 5 <= extra["micro_batch"] <= extra["matmul_knee"]  # short prompts: more fit
    backend.knee = 128
    assert backend.batch_hint() == 512  # the runner hands four rounds of slots


@pytest.mark.slow
def test_real_model_greedy_identical_to_naive_loop() -> None:
    """The default model in float32, 6 prompts (EN and ZH) x 24 tokens through 4 slots: the
    continuous loop's answers (fused modules, shared system-prompt prefix) equal a
    one-prompt-at-a-time ``generate`` loop's on the stock modules."""
    import torch

    from biasprobe.backends import load_backend, resolve_model
    from biasprobe.config import DEFAULT_MODEL, Registry, with_overrides
    from biasprobe.probes import load_probes

    entry = with_overrides(Registry.load().get(DEFAULT_MODEL), dtype="float32", device="cpu",
                           batch_size=4, decode="continuous")
    backend: Any = load_backend(entry, resolve_model(entry, log=lambda _: None))
    _, probes = load_probes(["china-sensitive"])
    picked = probes[:: max(1, len(probes) // 6)][:6]
    requests = [ChatRequest((p.id, 0), (Message("user", p.text),)) for p in picked]
    try:
        gens = backend.generate(requests, GenerationSettings(max_new_tokens=24))
        assert "modules fused" in backend.fused  # backends/fused.py on CPU (and packed)
        backend.fusion.revert()  # the reference runs on the stock modules
        eos = sorted(backend.eos_ids)[0]
        naive = []
        for r in requests:
            enc = backend.tokenizer(backend.render(r), return_tensors="pt",
                                    add_special_tokens=False)
            with torch.inference_mode():
                out = backend.model.generate(**enc, max_new_tokens=24, do_sample=False,
                                             pad_token_id=eos)
            ids = out[0, enc["input_ids"].shape[1]:].tolist()
            ids = ids[: ids.index(eos)] if eos in ids else ids
            naive.append(str(backend.tokenizer.decode(ids, skip_special_tokens=False)).strip())
        assert [g.answer for g in gens] == naive
    finally:
        backend.close()


def test_cache_keyword_follows_the_decoder_signature() -> None:
    """transformers 5.17 takes the KV cache as ``past_key_values``, 5.25 as ``cache``: the loop
    passes it under the name the decoder's ``forward`` has (the wrong one is silently ignored
    and the self-check then refuses the loop: with transformers 5.17, the version on the lent
    H200 machine, every model fell back to ``generate``)."""
    from biasprobe.backends.decode import cache_keyword

    class Old:
        def forward(self, input_ids: Any = None, past_key_values: Any = None, **kw: Any) -> None: ...

    class New:
        def forward(self, input_ids: Any = None, cache: Any = None, **kw: Any) -> None: ...

    assert cache_keyword(Old()) == "past_key_values"
    assert cache_keyword(New()) == "cache"
