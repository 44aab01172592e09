"""The fused decoder modules (backends/fused.py) on the tiny transformers test model: float32
logits bitwise the stock modules', greedy answers through the continuous decoder identical to a
naive one-prompt ``generate`` loop on the *stock* model, the swap refused (and nothing changed)
where the model does not fit it or its logits would change, and ``revert`` restoring the stock
modules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from biasprobe.config import GenerationSettings
from test_backend_decode import _backend, _naive, _requests
from test_determinism import _tiny_model

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny_model(tmp_path_factory.mktemp("tiny"))


def _kinds(model: Any) -> list[str]:
    layer = model.get_decoder().layers[0]
    return [type(getattr(layer, n)).__name__
            for n in ("input_layernorm", "post_attention_layernorm", "self_attn", "mlp")]


def _to_stock(model: Any) -> None:
    for layer in model.get_decoder().layers:
        for name in ("input_layernorm", "post_attention_layernorm", "self_attn", "mlp"):
            setattr(layer, name, getattr(layer, name).stock)


def test_backend_fuses_on_cpu_and_answers_match_naive_stock_loop(
        tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from biasprobe.backends.fused import _probe_logits, fuse

    monkeypatch.setenv("BIASPROBE_PACK", "0")  # unpacked: float32 logits bitwise the stock ones
    backend = _backend(tiny_model, batch_size=3, decode="continuous")
    assert backend.info().extra["fused"] == "8 modules fused"  # 2 layers x 4
    assert _kinds(backend.model) == ["FusedRMSNorm", "FusedRMSNorm", "FusedAttention", "FusedMLP"]
    assert "not Llama/Qwen2-style" in (fuse(backend.model).refused or "")  # not twice
    fused_logits = _probe_logits(backend.model)
    reference = _backend(tiny_model, decode="generate")
    _to_stock(reference.model)
    assert _kinds(reference.model) == ["LlamaRMSNorm", "LlamaRMSNorm", "LlamaAttention",
                                       "LlamaMLP"]
    stock_logits = _probe_logits(reference.model)
    assert all(torch.equal(a, b) for a, b in zip(fused_logits, stock_logits, strict=True))
    # the naive reference runs on the stock modules, the continuous loop on the fused ones
    requests = _requests(11)
    gens = backend.generate(requests, GenerationSettings(max_new_tokens=12))
    assert [g.answer for g in gens] == [a.strip() for a in _naive(reference, requests, 12)]
    assert len({g.answer for g in gens}) > 3


def test_revert_restores_stock_modules_sharing_weights(tiny_model: Path) -> None:
    from biasprobe.backends.fused import fuse

    backend = _backend(tiny_model, decode="generate")
    model = backend.model
    layer = model.get_decoder().layers[0]
    attn = layer.self_attn
    # the stock projections hold views of the fused weight: one copy in memory
    assert attn.stock.q_proj.weight.data_ptr() == attn.qkv.data_ptr()
    assert layer.mlp.stock.gate_proj.weight.data_ptr() == layer.mlp.gate_up.data_ptr()
    stock_attn = attn.stock
    _to_stock(model)
    again = fuse(model)
    assert again.refused is None and len(again.swaps) == 4 * len(model.get_decoder().layers)
    again.revert()
    assert layer.self_attn is stock_attn and again.swaps == []


def test_fuse_refuses_models_it_does_not_fit(tiny_model: Path) -> None:
    import torch

    from biasprobe.backends.fused import _probe_logits, fuse

    backend = _backend(tiny_model, decode="generate")
    model = backend.model
    _to_stock(model)
    layer = model.get_decoder().layers[0]
    layer.mlp.act_fn = torch.nn.GELU()  # not SwiGLU: refused before anything is swapped
    assert "GELU" in (fuse(model).refused or "")
    layer.mlp.act_fn = torch.nn.SiLU()
    before = _probe_logits(model)
    # a norm whose stock forward is not plain RMSNorm: the logits check catches it and reverts
    norm = layer.input_layernorm
    plain = type(norm).forward
    type(norm).forward = lambda self, x: plain(self, x) + 0.5  # type: ignore[method-assign]
    try:
        result = fuse(model)
    finally:
        type(norm).forward = plain  # type: ignore[method-assign]
    assert "logits changed" in (result.refused or "") and result.swaps == []
    assert type(layer.input_layernorm).__name__ == "LlamaRMSNorm"
    assert all(torch.equal(a, b) for a, b in zip(_probe_logits(model), before, strict=True))
    del layer.mlp.down_proj  # a layer without the expected modules
    assert "MLP" in (fuse(model).refused or "")


def test_shared_prefix_prefilled_once_answers_match_naive(tiny_model: Path) -> None:
    """Prompts that share a long system message: the prefix is prefilled once and copied into
    each slot; greedy answers still equal the naive loop's (and the unshared path's)."""
    from biasprobe.backends import decode
    from biasprobe.backends.base import ChatRequest, Message
    from test_determinism import WORDS

    system = Message("system", " ".join(WORDS[5:17]))
    requests = [ChatRequest(r.key, (system, *r.messages)) for r in _requests(9)]
    backend = _backend(tiny_model, batch_size=3, decode="continuous")
    ids = [backend.tokenizer(backend.render(r), add_special_tokens=False)["input_ids"]
           for r in requests]
    shared = decode.shared_prefix([decode.Job(list(x)) for x in ids])
    assert shared >= decode.SHARED_PREFIX_MIN and all(len(x) > shared for x in ids)
    prefills: list[int] = []
    plain = decode.ContinuousDecoder._prefill_prefix

    def counting(self: Any, prefix: list[int], cache: Any) -> None:
        prefills.append(len(prefix))
        plain(self, prefix, cache)

    decode.ContinuousDecoder._prefill_prefix = counting  # type: ignore[method-assign]
    try:
        gens = backend.generate(requests, GenerationSettings(max_new_tokens=10))
    finally:
        decode.ContinuousDecoder._prefill_prefix = plain  # type: ignore[method-assign]
    assert prefills == [shared]
    reference = _backend(tiny_model, decode="generate")
    _to_stock(reference.model)
    assert [g.answer for g in gens] == [a.strip() for a in _naive(reference, requests, 10)]
    backend.share_prefix = False
    unshared = backend.generate(requests, GenerationSettings(max_new_tokens=10))
    assert [g.answer for g in unshared] == [g.answer for g in gens]
    assert len({g.answer for g in gens}) > 2  # not one answer repeated
    assert decode.shared_prefix([decode.Job([1, 2, 3]), decode.Job([4, 5])]) == 0
    assert decode.shared_prefix([decode.Job(list(ids[0]))]) == 0  # one prompt: nothing to share


def test_bf16_fused_logits_bitwise_stock(tiny_model: Path) -> None:
    """In bf16 the fused RMSNorm keeps the stock rounding (upcast, normalise, downcast, weight)."""
    import torch

    from biasprobe.backends.fused import _probe_logits, can_pack

    fused = _backend(tiny_model, decode="generate", dtype="bfloat16")
    packed = ", bf16 weights and LM head prepacked (oneDNN)" if can_pack(torch.bfloat16) else ""
    assert fused.model.dtype == torch.bfloat16 and fused.fused == f"8 modules fused{packed}"
    stock = _backend(tiny_model, decode="generate", dtype="bfloat16")
    stock.fusion.revert()  # the stock modules and LM head
    assert _kinds(stock.model)[2] == "LlamaAttention"
    assert type(stock.model.lm_head).__name__ == "Linear"
    assert all(torch.equal(a, b) for a, b in zip(_probe_logits(fused.model),
                                                 _probe_logits(stock.model), strict=True))


def test_packed_linear_bitwise_f_linear_at_any_rows() -> None:
    """The prepacked bf16 product (backends/fused.py) is F.linear's result bitwise, for row
    counts other than the one the layout was packed for, 3-D inputs, with and without bias."""
    import torch

    from biasprobe.backends.fused import can_pack, packed_linear

    if not can_pack(torch.bfloat16):
        pytest.skip("no native bf16 in oneDNN on this CPU")
    gen = torch.Generator().manual_seed(0)
    weight = torch.randn(96, 40, generator=gen).to(torch.bfloat16)
    bias = torch.randn(96, generator=gen).to(torch.bfloat16)
    for b in (None, bias):
        linear = packed_linear(weight, b)
        with torch.inference_mode():
            for shape in ((1, 40), (7, 40), (64, 40), (130, 40), (3, 5, 40)):
                x = torch.randn(*shape, generator=gen).to(torch.bfloat16)
                assert torch.equal(linear(x), torch.nn.functional.linear(x, weight, b))
            x = torch.randn(40, 6, generator=gen).to(torch.bfloat16).t()  # not contiguous
            assert torch.equal(linear(x), torch.nn.functional.linear(x, weight, b))


def test_bf16_packed_continuous_answers_equal_unpacked(tiny_model: Path) -> None:
    """bf16 continuous decoding through the prepacked weights and LM head gives the same greedy
    answers as through the fused modules without packing (and as the model's own generate)."""
    import torch

    from biasprobe.backends.fused import can_pack, fuse

    if not can_pack(torch.bfloat16):
        pytest.skip("no native bf16 in oneDNN on this CPU")
    backend = _backend(tiny_model, batch_size=3, decode="continuous", dtype="bfloat16")
    assert backend.fusion.packed and type(backend.model.lm_head).__name__ == "PackedLinear"
    requests = _requests(9)
    settings = GenerationSettings(max_new_tokens=10)
    packed = [g.answer for g in backend.generate(requests, settings)]
    backend.fusion.revert()
    backend.fusion = fuse(backend.model, pack=False)
    assert not backend.fusion.packed and type(backend.model.lm_head).__name__ == "Linear"
    assert [g.answer for g in backend.generate(requests, settings)] == packed
    assert len(set(packed)) > 3


def test_packed_linear_float32_within_tolerance_of_f_linear() -> None:
    """The prepacked float32 product is F.linear's within the load check's float32 tolerance
    (relative to the largest output), at any row count, 3-D and non-contiguous inputs, with and
    without bias; it is not required to be bitwise (oneDNN sums in another order)."""
    import torch

    from biasprobe.backends.fused import TOLERANCE, can_pack, packed_linear

    if not can_pack(torch.float32):
        pytest.skip("torch has no oneDNN here")
    gen = torch.Generator().manual_seed(0)
    weight = torch.randn(96, 200, generator=gen) * 0.05
    bias = torch.randn(96, generator=gen) * 0.05
    for b in (None, bias):
        linear = packed_linear(weight, b)
        with torch.inference_mode():
            inputs = [torch.randn(*shape, generator=gen) for shape in ((1, 200), (7, 200),
                                                                     (64, 200), (3, 5, 200))]
            inputs.append(torch.randn(200, 6, generator=gen).t())  # not contiguous
            for x in inputs:
                ref = torch.nn.functional.linear(x, weight, b)
                got = linear(x)
                assert got.shape == ref.shape and got.dtype == torch.float32
                worst = float((got - ref).abs().max()) / float(ref.abs().max())
                assert worst <= TOLERANCE["float32"], worst


def test_float32_packed_answers_match_naive_stock_loop(tiny_model: Path) -> None:
    """float32 is prepacked by default where oneDNN is available (weights and LM head); greedy
    continuous answers through the packed products equal a naive one-prompt ``generate`` loop on
    the stock, unpacked modules; ``BIASPROBE_PACK=0`` keeps the weights unpacked."""
    import torch

    from biasprobe.backends.fused import can_pack

    if not can_pack(torch.float32):
        pytest.skip("torch has no oneDNN here")
    backend = _backend(tiny_model, batch_size=3, decode="continuous")
    assert backend.fusion.packed and type(backend.model.lm_head).__name__ == "PackedLinear"
    assert backend.fused == "8 modules fused, float32 weights and LM head prepacked (oneDNN)"
    assert type(backend.model.get_decoder().layers[0].mlp.down).__name__ == "PackedLinear"
    requests = _requests(11)
    gens = backend.generate(requests, GenerationSettings(max_new_tokens=12))
    reference = _backend(tiny_model, decode="generate")
    reference.fusion.revert()
    assert type(reference.model.lm_head).__name__ == "Linear"
    assert [g.answer for g in gens] == [a.strip() for a in _naive(reference, requests, 12)]
    assert len({g.answer for g in gens}) > 3


def test_pack_opt_out(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIASPROBE_PACK", "0")
    backend = _backend(tiny_model, decode="generate")
    assert not backend.fusion.packed and backend.fused == "8 modules fused"
    assert type(backend.model.lm_head).__name__ == "Linear"


def _one_token_attention_inputs(model: Any) -> tuple[Any, tuple[Any, Any]]:
    import torch

    torch.manual_seed(1)
    hidden = torch.randn(1, 1, model.config.hidden_size)
    return hidden, model.get_decoder().rotary_emb(hidden, torch.tensor([[0]]))


def test_fused_attention_takes_kv_cache_by_either_keyword(
        tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """transformers 5.25 passes the attention its KV cache as ``cache``, 5.17 as
    ``past_key_values``: the fused attention fills the cache under both names, as the stock one
    does under its own (before 2026-12-04 it knew only ``cache``, so on 5.17 the cache stayed
    empty and the load check reverted the swap). A cache under any other name raises."""
    import torch
    from transformers import DynamicCache

    from biasprobe.backends.decode import CACHE_KEYWORDS, cache_keyword_of

    monkeypatch.setenv("BIASPROBE_PACK", "0")  # unpacked: bitwise the stock attention
    backend = _backend(tiny_model, decode="generate")
    model = backend.model
    fused = model.get_decoder().layers[0].self_attn
    assert type(fused).__name__ == "FusedAttention"
    hidden, rotary = _one_token_attention_inputs(model)
    stock_cache = DynamicCache(config=model.config)
    stock_kw = cache_keyword_of(fused.stock)
    assert stock_kw in CACHE_KEYWORDS
    with torch.inference_mode():
        stock, _ = fused.stock(hidden, rotary, None, **{stock_kw: stock_cache})
        for keyword in CACHE_KEYWORDS:
            cache = DynamicCache(config=model.config)
            out, _ = fused(hidden, rotary, None, **{keyword: cache})
            assert cache.get_seq_length(0) == stock_cache.get_seq_length(0) == 1, keyword
            assert torch.equal(out, stock), keyword
        with pytest.raises(TypeError, match="kv_cache"):
            fused(hidden, rotary, None, kv_cache=DynamicCache(config=model.config))


def test_probe_uses_the_models_cache_keyword_and_refuses_an_ignored_cache(tiny_model: Path) -> None:
    """The load check's probe passes the cache under the keyword the model's ``forward`` takes,
    reads it back as ``out.cache`` or ``out.past_key_values``, and raises when the cache did not
    grow (a keyword the model swallowed into ``**kwargs``), whichever transformers is installed."""
    from types import SimpleNamespace

    import torch

    from biasprobe.backends.decode import cache_keyword
    from biasprobe.backends.fused import _probe_logits

    inner = _backend(tiny_model, decode="generate").model
    stock_kw = cache_keyword(inner)

    class Wrapped(torch.nn.Module):
        """The model under the other transformers' names (``past_key_values`` in and out)."""

        def __init__(self, honour: bool) -> None:
            super().__init__()
            self.inner, self.honour, self.device = inner, honour, inner.device

        def get_output_embeddings(self) -> Any:
            return self.inner.get_output_embeddings()

        def forward(self, input_ids: Any, past_key_values: Any = None, use_cache: bool = True,
                    **kwargs: Any) -> Any:
            past = past_key_values if self.honour else None
            out = self.inner(input_ids=input_ids, use_cache=use_cache, **{stock_kw: past})
            cache = getattr(out, "cache", None) or out.past_key_values
            return SimpleNamespace(logits=out.logits, past_key_values=cache)

    direct = _probe_logits(inner)
    wrapped = _probe_logits(Wrapped(honour=True))
    assert all(torch.equal(a, b) for a, b in zip(direct, wrapped, strict=True))
    with pytest.raises(RuntimeError, match="KV cache holds 1 tokens after 6"):
        _probe_logits(Wrapped(honour=False))
