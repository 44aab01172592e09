"""Fewer, larger CPU ops per decoder layer: a load-time module swap for Llama/Qwen2-style models.

Why: a torch profile of the continuous decoder (backends/decode.py) on the default model spent
about as much CPU time in small elementwise ops as in matmuls. Per layer the stock modules run
RMSNorm as ~8 ops (float32 upcast, pow, mean, add, rsqrt, mul, downcast, mul) twice, three
separate q/k/v projections, rotary embeddings on q and k separately (8 ops), and gate/up as two
matmuls. On a 2-core CPU each op is a thread fork/join, so the count matters as much as the bytes.
The swap here, per layer:

- ``RMSNorm`` -> ``torch.nn.functional.rms_norm`` (one fused kernel) in float32; in bf16/fp16
  the same kernel on the float32 upcast, then the downcast and the weight as in the stock
  module (4 ops instead of 8: the fully fused bf16 kernel rounds once instead of twice, and
  with it fewer greedy bf16 answers of the default model matched the stock path, 23 of 32
  against 25 with the shared prefix on in both). Bitwise the stock result in both dtypes.
- q/k/v -> one matmul on the concatenated weights (and biases), and the rotary embedding
  applied to q and k heads together; the attention itself is the model's own attention
  function, except a masked SDPA prefill (the continuous decoder's), which calls SDPA with
  ``enable_gqa`` instead of copying each K/V head per query head (transformers' ``repeat_kv``).
  Bitwise the stock result (the same dot products and elementwise formula).
- gate/up -> one matmul on the concatenated weights, then ``silu`` in place times up. Bitwise
  the stock result.

The swap also *prepacks* every projection's weight (q/k/v, output, gate/up, down, and the LM
head) into oneDNN's blocked layout once at load (``torch.ops.mkldnn._reorder_linear_weight``, as
inductor's freezing pass does) and multiplies through ``torch.ops.mkldnn._linear_pointwise``:
``F.linear`` re-lays the weight out on every call. Where (:func:`can_pack`): float32 wherever torch
has oneDNN (its brgemm kernels run on AVX2 as well as AVX-512: checked with
``ONEDNN_MAX_CPU_ISA=AVX2``), bfloat16 only where oneDNN has native bf16 (AVX-512 BF16 / AMX).
On a one-thread micro-benchmark at 64 rows (the model's weight shapes, loaded machine) the packed
bf16 product was 1.4-1.8x faster for the layer weights and about 2-3x for the 151,936-row LM
head, and **bitwise** the ``F.linear`` result at every row count tried (1 to 700). Packed float32
(two threads, 64 rows, all the model's matmuls) ran 1.7x as fast as ``F.linear`` with AVX-512 and
1.2x with oneDNN and MKL held to AVX2, but is *not* bitwise: oneDNN sums in another order than
MKL, so products differ in the last bits, 5-9e-7 of their scale at 1 to 64 rows, the same order
as batching itself (the same rows through ``F.linear`` 7 or 64 at a time against one at a time: 1.5-6e-7).
Greedy answers are therefore the argmax of float32 logits that differ from ``generate``'s by
rounding, as a batched ``generate`` already does; benchmarks/decode_agree.py counts how often
that changes an answer (README, Throughput and scaling). ``BIASPROBE_PACK=0`` keeps every product
``F.linear``'s (backends/transformers.py). The packed copies are held next to the originals (the
stock modules, the embedding the head is tied to, and ``revert`` need them): about the model's
size again in RAM, so :func:`fuse` packs only when asked (the backend asks when half the available
RAM holds them).

The concatenated weights are new tensors and the original ``Linear`` modules are pointed at
views of them, so the weights are held once. :func:`fuse` swaps only modules whose structure it
recognises (attribute names and shapes), then compares the model's logits with the unswapped
model's on a short prompt (prefill and decode steps through the model's own cache) and reverts
everything when they differ beyond rounding; :meth:`Fused.revert` puts the stock modules back
(used by benchmarks/decode_ab.py for a same-process A/B).

The KV cache has two names across the supported transformers releases: ``cache`` (5.25, where
``past_key_values`` is deprecated) and ``past_key_values`` (5.17 and before), as a keyword of the
model, the decoder layer and the attention, and as the output's attribute. A keyword a module
does not take lands in its ``**kwargs`` unseen, so the fused attention takes both (and raises on
a cache under any other name), and the load check passes the cache by the model's own keyword
and checks that it grew by one token a step. transformers 4.x is not supported (pyproject:
``transformers>=5.17``), so neither is its other cache API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from biasprobe.backends.decode import CACHE_KEYWORDS, cache_keyword, cache_keyword_of

# logits may differ by this share of their largest magnitude (unpacked: bitwise equal expected;
# packed float32: rounding, 3.7e-6 on the default model; bf16 has the self-check's
# batched-vs-unbatched allowance); a wrong fusion is off by ~1
TOLERANCE = {"float32": 1e-5, "other": 0.05}
# the row count oneDNN picks its blocked weight layout for (any row count gives the same result)
PACK_ROWS = 64


def _torch_nn() -> Any:
    import torch

    return torch.nn


def can_pack(dtype: Any) -> bool:
    """Whether ``dtype`` weights are prepacked here: float32 wherever torch has oneDNN, bfloat16
    only with oneDNN's native bf16 (AVX-512 BF16 / AMX)."""
    import torch

    mkldnn: Any = torch.backends.mkldnn
    if not mkldnn.is_available():
        return False
    if dtype == torch.float32:
        return True
    return bool(dtype == torch.bfloat16 and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def packed_linear(weight: Any, bias: Any) -> Any:
    """``F.linear(x, weight, bias)`` through oneDNN's prepacked weight (bf16: the same result
    bitwise; float32: within rounding, see the module docstring)."""
    import torch

    nn = _torch_nn()

    class PackedLinear(nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.weight = weight  # the original (shapes, devices; not used to compute)
            self.register_buffer("packed", torch.ops.mkldnn._reorder_linear_weight(
                weight.detach(), PACK_ROWS), persistent=False)
            self.register_buffer("packed_bias", None if bias is None else bias.detach(),
                                 persistent=False)

        def forward(self, x: Any) -> Any:
            return torch.ops.mkldnn._linear_pointwise(x.contiguous(), self.packed,
                                                      self.packed_bias, "none", [], "")

    return PackedLinear()


def _rotate_half(x: Any) -> Any:
    import torch

    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def fused_rms_norm(norm: Any) -> Any:
    """A module computing ``norm``'s RMSNorm with one fused kernel (same weight tensor)."""
    import torch

    nn = _torch_nn()

    class FusedRMSNorm(nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.stock = norm
            self.shape = (int(norm.weight.shape[0]),)
            self.eps = float(norm.variance_epsilon)

        def forward(self, hidden: Any) -> Any:
            weight = self.stock.weight
            if hidden.dtype == weight.dtype == torch.float32:
                return nn.functional.rms_norm(hidden, self.shape, weight, self.eps)
            # bf16/fp16: normalise in float32, round, then times the weight, as the stock one
            normed = nn.functional.rms_norm(hidden.float(), self.shape, None, self.eps)
            return weight * normed.to(hidden.dtype)

    return FusedRMSNorm()


def _concat_linears(linears: list[Any]) -> tuple[Any, Any]:
    """One weight (and bias, or None) for several ``Linear``s; each then holds views of it."""
    import torch

    weight = torch.cat([m.weight.detach() for m in linears])
    has_bias = [m.bias is not None for m in linears]
    bias = None
    if all(has_bias):
        bias = torch.cat([m.bias.detach() for m in linears])
    start = 0
    nn = _torch_nn()
    for m in linears:
        n = m.weight.shape[0]
        m.weight = nn.Parameter(weight[start : start + n], requires_grad=False)
        if bias is not None:
            m.bias = nn.Parameter(bias[start : start + n], requires_grad=False)
        start += n
    return weight, bias


def fused_mlp(mlp: Any, pack: bool = False) -> Any:
    """gate and up as one matmul, ``silu(gate) * up`` with the activation in place (``pack``:
    both products through prepacked weights)."""
    nn = _torch_nn()
    weight, _ = _concat_linears([mlp.gate_proj, mlp.up_proj])
    down = mlp.down_proj
    packed_up = packed_linear(weight, None) if pack else None
    packed_down = packed_linear(down.weight, down.bias) if pack else None

    class FusedMLP(nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.stock = mlp
            self.inter = int(mlp.gate_proj.weight.shape[0])
            self.register_buffer("gate_up", weight, persistent=False)
            self.packed_up, self.down = packed_up, (down if packed_down is None else packed_down)

        def forward(self, x: Any) -> Any:
            up = self.packed_up
            both = nn.functional.linear(x, self.gate_up) if up is None else up(x)
            gate, up = both[..., : self.inter], both[..., self.inter :]
            return self.down(nn.functional.silu(gate, inplace=True) * up)

    return FusedMLP()


def fused_attention(attn: Any, pack: bool = False) -> Any:
    """q/k/v as one matmul and rotary on q and k heads at once; the model's attention function
    (``config._attn_implementation``) and output projection as in the stock forward (``pack``:
    the q/k/v and output products through prepacked weights)."""
    nn = _torch_nn()
    import sys

    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    # the stock forward's fallback when the implementation is not registered (eager)
    eager: Any = getattr(sys.modules[type(attn).__module__], "eager_attention_forward", None)
    weight, bias = _concat_linears([attn.q_proj, attn.k_proj, attn.v_proj])
    head_dim = int(attn.head_dim)
    q_heads = int(attn.q_proj.weight.shape[0]) // head_dim
    kv_heads = int(attn.k_proj.weight.shape[0]) // head_dim
    packed_qkv = packed_linear(weight, bias) if pack else None
    packed_out = packed_linear(attn.o_proj.weight, attn.o_proj.bias) if pack else None

    class FusedAttention(nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.stock = attn
            self.register_buffer("qkv", weight, persistent=False)
            self.register_buffer("qkv_bias", bias, persistent=False)
            self.packed_qkv, self.out = packed_qkv, (attn.o_proj if packed_out is None else packed_out)

        def forward(self, hidden_states: Any, position_embeddings: tuple[Any, Any],
                    attention_mask: Any, cache: Any = None, past_key_values: Any = None,
                    **kwargs: Any) -> tuple[Any, Any]:
            # the decoder layer passes the KV cache as ``cache`` (transformers 5.25) or
            # ``past_key_values`` (5.17); under any other name it would land in ``kwargs`` unseen
            cache = past_key_values if cache is None else cache
            if cache is None:
                _no_stray_cache(kwargs)
            a = self.stock
            shape = hidden_states.shape[:-1]
            if self.packed_qkv is not None:
                qkv = self.packed_qkv(hidden_states)
            else:
                qkv = nn.functional.linear(hidden_states, self.qkv, self.qkv_bias)
            qkv = qkv.view(*shape, q_heads + 2 * kv_heads, head_dim).transpose(1, 2)
            cos, sin = (t.unsqueeze(1) for t in position_embeddings)
            qk = qkv[:, : q_heads + kv_heads]
            qk = qk * cos + _rotate_half(qk) * sin
            query, key, value = qk[:, :q_heads], qk[:, q_heads:], qkv[:, q_heads + kv_heads :]
            if cache is not None:
                key, value = cache.update(key, value, a.layer_idx, kwargs=kwargs)
            impl = a.config._attn_implementation
            if impl == "sdpa" and attention_mask is not None and query.shape[2] > 1:
                # a masked prefill: SDPA's own GQA instead of transformers' repeat_kv copies
                out = nn.functional.scaled_dot_product_attention(
                    query, key, value, attn_mask=attention_mask, scale=a.scaling,
                    enable_gqa=True).transpose(1, 2)
                weights = None
            else:
                interface = ALL_ATTENTION_FUNCTIONS.get_interface(impl, eager)
                out, weights = interface(a, query, key, value, attention_mask, dropout=0.0,
                                         scaling=a.scaling, sliding_window=None, **kwargs)
            return self.out(out.reshape(*shape, -1).contiguous()), weights

    return FusedAttention()


def _is_cache(value: Any) -> bool:
    return hasattr(value, "update") and hasattr(value, "get_seq_length")


def _no_stray_cache(kwargs: dict[str, Any]) -> None:
    """Raise when a KV cache came under a keyword the fused attention does not know (a newer
    transformers renaming it again): ignored, it would leave the cache unfilled."""
    stray = [k for k, v in kwargs.items() if _is_cache(v)]
    if stray:
        raise TypeError(f"the KV cache came as {stray[0]!r}, not as one of {CACHE_KEYWORDS}")


def _fits(layer: Any) -> str | None:
    """Why this decoder layer's modules are not the shape the swap assumes (None: they are)."""
    attn: Any = getattr(layer, "self_attn", None)
    mlp: Any = getattr(layer, "mlp", None)
    for name, mod, attrs in (
        ("attention", attn, ("q_proj", "k_proj", "v_proj", "o_proj", "head_dim", "scaling",
                             "layer_idx", "config")),
        ("MLP", mlp, ("gate_proj", "up_proj", "down_proj", "act_fn")),
        ("input norm", getattr(layer, "input_layernorm", None), ("weight", "variance_epsilon")),
        ("post-attention norm", getattr(layer, "post_attention_layernorm", None),
         ("weight", "variance_epsilon")),
    ):
        if mod is None or any(not hasattr(mod, a) for a in attrs):
            return f"its {name} is not Llama/Qwen2-style"
    if cache_keyword_of(attn) is None:
        return f"its attention takes no KV cache as one of {', '.join(CACHE_KEYWORDS)}"
    if type(mlp.act_fn).__name__ not in ("SiLU", "SiLUActivation"):
        return f"its MLP activation is {type(mlp.act_fn).__name__}"
    if getattr(attn, "sliding_window", None) is not None:
        return "it has sliding-window attention"
    if hasattr(attn, "q_norm") or hasattr(attn, "k_norm"):
        return "its attention normalises q and k"
    if len({getattr(m, "bias", None) is None for m in (attn.q_proj, attn.k_proj, attn.v_proj)}) > 1:
        return "only some of its q/k/v projections have a bias"
    return None


@dataclass
class Fused:
    """What :func:`fuse` swapped (``(parent, attribute, stock module)``), or why it did not."""

    swaps: list[tuple[Any, str, Any]] = field(default_factory=list)
    refused: str | None = None
    packed: bool = False  # weights prepacked for oneDNN (see the module docstring)
    dtype: str = ""  # the packed weights' dtype ("float32", "bf16"), named by describe()

    def revert(self) -> None:
        """Put the stock modules back (the concatenated weights stay shared with them)."""
        for parent, name, stock in reversed(self.swaps):
            setattr(parent, name, stock)
        self.swaps = []

    def describe(self) -> str:
        if self.refused:
            return f"not fused: {self.refused}"
        layers = sum(name != "lm_head" for _, name, _ in self.swaps)
        packed = f", {self.dtype} weights and LM head prepacked (oneDNN)" if self.packed else ""
        return f"{layers} modules fused{packed}"


def _output_cache(out: Any) -> Any:
    """The KV cache a forward returned: ``out.cache`` (transformers 5.25) or
    ``out.past_key_values`` (5.17)."""
    for name in CACHE_KEYWORDS:
        cache = getattr(out, name, None)
        if cache is not None:
            return cache
    raise TypeError(f"{type(out).__name__} has no KV cache as one of {CACHE_KEYWORDS}")


def _probe_logits(model: Any) -> list[Any]:
    """Logits of a short prompt: the prefill's last position and two decode steps (model cache).
    The cache goes in by the keyword the model's ``forward`` takes and must grow by one token a
    step: a keyword the model ignored (it makes a fresh cache) would hide a fused attention that
    never fills the cache."""
    import torch

    keyword = cache_keyword(model)
    vocab = int(model.get_output_embeddings().weight.shape[0])
    prompt = [i % vocab for i in (3, 5, 7, 11, 13)]
    ids = torch.tensor([prompt], device=model.device)
    with torch.inference_mode():
        out = model(input_ids=ids, use_cache=True)
        logits, past = [out.logits[0, -1].float()], _output_cache(out)
        for n, token in enumerate((17, 19), start=1):
            step = torch.tensor([[token % vocab]], device=model.device)
            out = model(input_ids=step, use_cache=True, **{keyword: past})
            logits.append(out.logits[0, -1].float())
            past = _output_cache(out)
            if int(past.get_seq_length()) != len(prompt) + n:
                raise RuntimeError(f"the KV cache holds {int(past.get_seq_length())} tokens after "
                                   f"{len(prompt) + n} (passed as {keyword!r})")
    return logits


def fuse(model: Any, pack: bool = False) -> Fused:
    """Swap every decoder layer's norms, attention projections and MLP for the fused ones where
    they fit (see the module docstring); reverted when the logits differ from the stock ones.
    ``pack``: also prepack the projections' and the LM head's weights where :func:`can_pack`."""
    import functools

    import torch

    pack = pack and can_pack(model.dtype)
    name = str(model.dtype).removeprefix("torch.")
    done = Fused(packed=pack, dtype="bf16" if name == "bfloat16" else name)
    try:
        layers = list(model.get_decoder().layers)
    except (AttributeError, TypeError):
        return Fused(refused="its decoder has no list of layers")
    why = next((w for w in map(_fits, layers) if w), None) if layers else "it has no layers"
    if why:
        return Fused(refused=why)
    try:
        before = _probe_logits(model)
        for layer in layers:
            for name, make in (("input_layernorm", fused_rms_norm),
                               ("post_attention_layernorm", fused_rms_norm),
                               ("self_attn", functools.partial(fused_attention, pack=pack)),
                               ("mlp", functools.partial(fused_mlp, pack=pack))):
                stock = getattr(layer, name)
                setattr(layer, name, make(stock))
                done.swaps.append((layer, name, stock))
        head: Any = model.get_output_embeddings()
        lm_head: Any = getattr(model, "lm_head", None)
        if pack and isinstance(head, torch.nn.Linear) and lm_head is head:
            model.lm_head = packed_linear(head.weight, head.bias)
            done.swaps.append((model, "lm_head", head))
        after = _probe_logits(model)
    except Exception as exc:  # an architecture the swap does not fit after all
        done.revert()
        return Fused(refused=f"the fused modules failed on it ({type(exc).__name__}: {exc})")
    worst = max(float((a - b).abs().max()) / (float(b.abs().max()) + 1e-6)
                for a, b in zip(after, before, strict=True))
    limit = TOLERANCE["float32" if model.dtype == torch.float32 else "other"]
    if worst > limit:
        done.revert()
        return Fused(refused=f"its logits changed by {worst:.2g} of their scale")
    return done
