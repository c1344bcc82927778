"""How big a model is, from its Hugging Face ``config.json``: parameters, training FLOPs, memory.

Supported configs: decoder-only transformers with gated (SwiGLU) MLPs — Llama/Mistral style
(grouped-query attention), Mixtral style MoE (``num_local_experts``) and DeepSeek-V3 style
MoE (``n_routed_experts``, shared experts, Multi-head Latent Attention). Norm weights are
counted; biases only where the config says ``attention_bias``/``mlp_bias``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from utils.paths import data_dir

BYTES_PER_PARAM = {"fp32": 4, "bf16": 2, "fp16": 2, "fp8": 1, "int8": 1, "int4": 0.5}


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
    bias = (heads + 2 * kv_heads) * head_dim + d if config.get("attention_bias") else 0
    return weights + bias


def mlp_parameters(config: dict, intermediate_size: int) -> int:
    """Parameters of one gated MLP (gate, up and down projections)."""
    d = config["hidden_size"]
    bias = 2 * intermediate_size + d if config.get("mlp_bias") else 0
    return 3 * d * intermediate_size + bias


def moe_layout(config: dict) -> dict:
    """The MoE shape of a config: dense/MoE layer counts and experts (all zero for dense)."""
    layers = config["num_hidden_layers"]
    if "n_routed_experts" in config:  # DeepSeek-V2/V3
        dense = config.get("first_k_dense_replace", 0)
        return {
            "dense_layers": dense,
            "moe_layers": layers - dense,
            "routed_experts": config["n_routed_experts"],
            "shared_experts": config.get("n_shared_experts") or 0,
            "experts_per_token": config["num_experts_per_tok"],
            "expert_size": config["moe_intermediate_size"],
        }
    if "num_local_experts" in config:  # Mixtral: every layer is MoE, experts are full-size
        return {
            "dense_layers": 0,
            "moe_layers": layers,
            "routed_experts": config["num_local_experts"],
            "shared_experts": 0,
            "experts_per_token": config["num_experts_per_tok"],
            "expert_size": config["intermediate_size"],
        }
    return {
        "dense_layers": layers,
        "moe_layers": 0,
        "routed_experts": 0,
        "shared_experts": 0,
        "experts_per_token": 0,
        "expert_size": 0,
    }


def router_parameters(config: dict) -> int:
    """Parameters of one MoE layer's router: a ``hidden_size × experts`` matrix.

    DeepSeek-V3 adds one bias per expert, used only to pick experts: its auxiliary-loss-free
    load balancing nudges these biases instead of adding a balance loss.
    """
    experts = moe_layout(config)["routed_experts"]
    bias = experts if "n_routed_experts" in config else 0
    return config["hidden_size"] * experts + bias


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
    shared = moe["moe_layers"] * moe["shared_experts"] * expert
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
    expert = mlp_parameters(config, moe["expert_size"])
    layer = (
        attention_parameters(config)
        + (moe["routed_experts"] + moe["shared_experts"]) * expert
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


_SCALES = {
    "m": 1e-3,
    "million": 1e-3,
    "b": 1.0,
    "bn": 1.0,
    "billion": 1.0,
    "t": 1e3,
    "trillion": 1e3,
}
_COUNT = re.compile(
    r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(million|billion|trillion|bn|[mbt])\b", re.IGNORECASE
)


def billions_mentioned(text: str) -> list[float]:
    """Every "<number> million/billion/trillion" (or M/B/T) in ``text``, in billions.

    ``"37B"`` → 37.0, ``"100 million"`` → 0.1, ``"1,000 bn"`` → 1000.0; [] if there are none.
    """
    return [
        float(number.replace(",", "")) * _SCALES[unit.lower()]
        for number, unit in _COUNT.findall(text)
    ]
