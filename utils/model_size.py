"""How big a model is, from its Hugging Face ``config.json``: parameters, training FLOPs, memory.

Supported configs: decoder-only transformers with gated (SwiGLU) MLPs — Llama/Mistral style
(grouped-query attention), Mixtral style MoE (``num_local_experts``), Qwen2-MoE style
(``num_experts``, ``moe_intermediate_size``, a gated shared expert of
``shared_expert_intermediate_size``, ``decoder_sparse_step``, ``mlp_only_layers``: Qwen1.5-MoE,
Qwen2-57B-A14B) and DeepSeek-V3 style MoE (``n_routed_experts``, shared experts, Multi-head
Latent Attention). Norm weights are counted; biases where the config says
``attention_bias``/``mlp_bias``, and Qwen2's query/key/value biases.
"""

from __future__ import annotations

import json
from pathlib import Path

from utils.paths import data_dir

BYTES_PER_PARAM = {"fp32": 4, "bf16": 2, "fp16": 2, "fp8": 1, "int8": 1, "int4": 0.5}
# Model types whose query, key and value projections have a bias (not the output one) although
# their config has no flag for it: Qwen2's "attention QKV bias" (Qwen2 and Qwen2-MoE model cards).
QKV_BIAS_MODELS = ("qwen2", "qwen2_moe")


def load_model_config(name: str) -> dict:
    """A config from ``data/model_configs/<name>.json`` (see ``data/README.md`` for sources)."""
    path = data_dir() / "model_configs" / f"{name}.json"
    if not path.exists():
        known = sorted(p.stem for p in path.parent.glob("*.json"))
        raise FileNotFoundError(f"no config {name!r} in data/model_configs/; known: {known}")
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _require(config: dict, *keys: str) -> None:
    missing = [key for key in keys if key not in config]
    if missing:
        raise KeyError(f"the config lacks {missing}; pass a Hugging Face config.json dict")


def attention_parameters(config: dict) -> int:
    """Parameters of one attention block (projections and, for MLA, its two norms)."""
    d, heads = config["hidden_size"], config["num_attention_heads"]
    if "kv_lora_rank" in config:  # DeepSeek's Multi-head Latent Attention
        q_lora, kv_lora = config["q_lora_rank"], config["kv_lora_rank"]
        nope, rope, v = config["qk_nope_head_dim"], config["qk_rope_head_dim"], config["v_head_dim"]
        query = d * q_lora + q_lora + q_lora * heads * (nope + rope)  # down, norm, up
        key_value = d * (kv_lora + rope) + kv_lora + kv_lora * heads * (nope + v)
        return query + key_value + heads * v * d
    head_dim = config.get("head_dim") or d // heads
    kv_heads = config.get("num_key_value_heads", heads)
    weights = d * heads * head_dim + 2 * d * kv_heads * head_dim + heads * head_dim * d
    qkv_bias = (heads + 2 * kv_heads) * head_dim
    if config.get("attention_bias"):  # Llama-style flag: q, k, v and o all have a bias
        return weights + qkv_bias + d
    if config.get("qkv_bias", config.get("model_type") in QKV_BIAS_MODELS):  # q, k, v only
        return weights + qkv_bias
    return weights


def mlp_parameters(config: dict, intermediate_size: int) -> int:
    """Parameters of one gated MLP (gate, up and down projections)."""
    d = config["hidden_size"]
    bias = 2 * intermediate_size + d if config.get("mlp_bias") else 0
    return 3 * d * intermediate_size + bias


def moe_layout(config: dict) -> dict:
    """The MoE shape of a config (all zero for a dense model).

    ``dense_layers``/``moe_layers``: how many layers have one MLP / experts; ``routed_experts``
    and ``experts_per_token``: the router's choice; ``expert_size``: one routed expert's hidden
    width; ``shared_size``: the summed hidden width of the always-used shared experts (one MLP
    that wide has the same parameter count); ``shared_gate``: a ``hidden_size × 1`` gate scales
    the shared expert's output (Qwen2-MoE).
    """
    layers = config["num_hidden_layers"]
    layout = {
        "dense_layers": layers,
        "moe_layers": 0,
        "routed_experts": 0,
        "experts_per_token": 0,
        "expert_size": 0,
        "shared_size": 0,
        "shared_gate": False,
    }
    if "n_routed_experts" in config:  # DeepSeek-V2/V3: the first k layers stay dense
        first, every = config.get("first_k_dense_replace", 0), config.get("moe_layer_freq", 1)
        moe = sum(1 for i in range(layers) if i >= first and i % every == 0)
        shared = (config.get("n_shared_experts") or 0) * config["moe_intermediate_size"]
        experts, size = config["n_routed_experts"], config["moe_intermediate_size"]
    elif config.get("num_experts"):  # Qwen2-MoE: every step-th layer, unless listed as dense
        step, dense_only = config.get("decoder_sparse_step", 1), config.get("mlp_only_layers") or []
        moe = sum(1 for i in range(layers) if i not in dense_only and (i + 1) % step == 0)
        shared = config.get("shared_expert_intermediate_size") or 0
        experts, size = config["num_experts"], config["moe_intermediate_size"]
        layout["shared_gate"] = shared > 0
    elif "num_local_experts" in config:  # Mixtral: every layer is MoE, experts are full-size
        moe, shared = layers, 0
        experts, size = config["num_local_experts"], config["intermediate_size"]
    else:
        return layout
    layout.update(
        dense_layers=layers - moe,
        moe_layers=moe,
        routed_experts=experts,
        experts_per_token=config["num_experts_per_tok"],
        expert_size=size,
        shared_size=shared,
    )
    return layout


def router_parameters(config: dict) -> int:
    """Parameters of one MoE layer's gating: the ``hidden_size × experts`` router matrix, and

    - DeepSeek-V3 (``topk_method="noaux_tc"``): one bias per expert, used only to pick experts
      (its auxiliary-loss-free load balancing nudges these biases instead of a balance loss);
    - Qwen2-MoE: the shared expert's ``hidden_size × 1`` gate, a sigmoid scaling its output.
    """
    layout = moe_layout(config)
    bias = layout["routed_experts"] if config.get("topk_method") == "noaux_tc" else 0
    shared_gate = config["hidden_size"] if layout["shared_gate"] else 0
    return config["hidden_size"] * layout["routed_experts"] + bias + shared_gate


def parameter_breakdown(config: dict, embedding_active: bool = False) -> dict[str, dict[str, int]]:
    """Total and active (per token) parameters of each part of the main model.

    Active = the weights one token's forward pass uses: routed experts it is not sent to are
    excluded. The input embedding is a table lookup (one row per token, no matrix product):
    publishers differ on counting it as active, so ``embedding_active`` chooses.
    A DeepSeek-V3 Multi-Token-Prediction module is counted apart (:func:`mtp_parameters`).
    """
    _require(config, "hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size")
    d, layers, vocab = config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]
    moe = moe_layout(config)
    expert = mlp_parameters(config, moe["expert_size"]) if moe["moe_layers"] else 0
    attention = layers * attention_parameters(config)
    dense_mlp = moe["dense_layers"] * mlp_parameters(config, config.get("intermediate_size", 0))
    shared_mlp = mlp_parameters(config, moe["shared_size"]) if moe["shared_size"] else 0
    shared = moe["moe_layers"] * shared_mlp
    routers = moe["moe_layers"] * router_parameters(config)
    norms = 2 * layers * d + d  # two per layer and the final one
    head = 0 if config.get("tie_word_embeddings") else vocab * d
    parts = {
        "embedding": (vocab * d, vocab * d if embedding_active else 0),
        "attention": (attention, attention),
        "dense MLP": (dense_mlp, dense_mlp),
        "routed experts": (
            moe["moe_layers"] * moe["routed_experts"] * expert,
            moe["moe_layers"] * moe["experts_per_token"] * expert,  # only the chosen ones
        ),
        "shared experts": (shared, shared),
        "routers": (routers, routers),
        "norms": (norms, norms),
        "output head": (head, head or vocab * d),  # tied: the embedding table is used here
    }
    return {name: {"total": total, "active": active} for name, (total, active) in parts.items()}


def count_parameters(config: dict, embedding_active: bool = False) -> tuple[int, int]:
    """``(total, active)`` parameters of the main model: the sums of :func:`parameter_breakdown`."""
    parts = parameter_breakdown(config, embedding_active).values()
    return sum(p["total"] for p in parts), sum(p["active"] for p in parts)


def mtp_parameters(config: dict) -> int:
    """Unique parameters of DeepSeek-V3's Multi-Token-Prediction modules (0 if it has none).

    Each module is one more MoE transformer layer plus two norms and a projection from
    ``2 · hidden_size`` to ``hidden_size``; it shares the embedding and output head.
    """
    modules = config.get("num_nextn_predict_layers", 0)
    if not modules:
        return 0
    d, moe = config["hidden_size"], moe_layout(config)
    layer = (
        attention_parameters(config)
        + moe["routed_experts"] * mlp_parameters(config, moe["expert_size"])
        + mlp_parameters(config, moe["shared_size"])
        + router_parameters(config)
        + 2 * d
    )
    return modules * (layer + 2 * d * d + 2 * d + d)  # + projection, enorm & hnorm, final norm


def training_flops(active_parameters: float, tokens: float) -> float:
    """Training compute ≈ 6 · N · D (2 for the forward pass, 4 for the backward pass)."""
    return 6 * active_parameters * tokens


def weight_bytes(parameters: float, dtype: str = "bf16") -> float:
    """Bytes to hold ``parameters`` weights in ``dtype`` (a key of ``BYTES_PER_PARAM``)."""
    if dtype not in BYTES_PER_PARAM:
        raise ValueError(f"unknown dtype {dtype!r}; use one of {sorted(BYTES_PER_PARAM)}")
    return parameters * BYTES_PER_PARAM[dtype]


def kv_cache_bytes(
    layers: int,
    kv_heads: int,
    head_dim: int,
    context: int,
    batch: int = 1,
    bytes_per_value: float = 2,
) -> float:
    """Bytes of a standard K and V cache: 2 × layers × kv_heads × head_dim × context × batch × bytes."""
    return 2 * layers * kv_heads * head_dim * context * batch * bytes_per_value


def mla_cache_bytes(
    layers: int,
    kv_lora_rank: int,
    rope_dim: int,
    context: int,
    batch: int = 1,
    bytes_per_value: float = 2,
) -> float:
    """Bytes of a Multi-head Latent Attention cache: one latent (+ a RoPE key) per token and layer."""
    return layers * (kv_lora_rank + rope_dim) * context * batch * bytes_per_value
