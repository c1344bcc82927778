"""Parameter counts from configs against published figures; FLOPs and memory arithmetic."""

import pytest

from utils import model_size

# Mixtral-8x7B's config.json values (mistralai/Mixtral-8x7B-v0.1 on Hugging Face); Mistral AI
# published 46.7B total and 12.9B active parameters per token ("Mixtral of experts", 2023).
MIXTRAL_8X7B = {
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "num_local_experts": 8,
    "num_experts_per_tok": 2,
    "vocab_size": 32000,
    "tie_word_embeddings": False,
}
DENSE = {
    "hidden_size": 64,
    "intermediate_size": 256,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "vocab_size": 100,
}


@pytest.fixture(scope="module")
def deepseek_v3():
    return model_size.load_model_config("deepseek_v3")


def test_deepseek_v3_reproduces_671b_total(deepseek_v3):
    total, _ = model_size.count_parameters(deepseek_v3)
    assert total / 1e9 == pytest.approx(671, abs=0.5)


def test_deepseek_v3_active_matches_both_conventions(deepseek_v3):
    # README_WEIGHTS.md: 36.6B active "including 0.9B for the output Head"; README: "37B".
    _, active = model_size.count_parameters(deepseek_v3)
    _, with_embedding = model_size.count_parameters(deepseek_v3, embedding_active=True)
    assert active / 1e9 == pytest.approx(36.6, abs=0.05)
    assert with_embedding - active == 129280 * 7168
    assert with_embedding / 1e9 == pytest.approx(37, abs=0.6)


def test_deepseek_v3_mtp_module_is_about_11_5b(deepseek_v3):
    assert model_size.mtp_parameters(deepseek_v3) / 1e9 == pytest.approx(11.5, abs=0.15)
    assert model_size.mtp_parameters(DENSE) == 0


def test_mixtral_reproduces_published_counts():
    total, active = model_size.count_parameters(MIXTRAL_8X7B, embedding_active=True)
    assert total / 1e9 == pytest.approx(46.7, abs=0.05)
    assert active / 1e9 == pytest.approx(12.9, abs=0.05)


def test_dense_model_by_hand():
    d, i, vocab, layers, kv = 64, 256, 100, 2, 2 * 16
    per_layer = (d * d + 2 * d * kv + d * d) + 3 * d * i + 2 * d
    total, active = model_size.count_parameters(DENSE)
    assert total == layers * per_layer + d + 2 * vocab * d
    assert active == total - vocab * d  # only the embedding lookup is left out
    assert model_size.count_parameters(DENSE, embedding_active=True) == (total, total)


def test_tied_embeddings_are_stored_once_but_used_as_the_head():
    tied = {**DENSE, "tie_word_embeddings": True}
    assert model_size.count_parameters(tied)[0] == model_size.count_parameters(DENSE)[0] - 6400
    assert model_size.count_parameters(tied)[1] == model_size.count_parameters(DENSE)[1]


def test_moe_active_grows_with_k_total_with_experts():
    more_experts = {**MIXTRAL_8X7B, "num_local_experts": 16}
    more_k = {**MIXTRAL_8X7B, "num_experts_per_tok": 4}
    base_total, base_active = model_size.count_parameters(MIXTRAL_8X7B)
    assert model_size.count_parameters(more_experts)[1] == base_active + 32 * 8 * 4096
    assert model_size.count_parameters(more_experts)[0] > 1.9 * base_total
    assert model_size.count_parameters(more_k)[0] == base_total
    assert model_size.count_parameters(more_k)[1] > 1.8 * base_active


def test_breakdown_sums_to_count(deepseek_v3):
    parts = model_size.parameter_breakdown(deepseek_v3)
    assert sum(p["total"] for p in parts.values()) == model_size.count_parameters(deepseek_v3)[0]
    assert parts["routed experts"]["total"] == 58 * 256 * 3 * 7168 * 2048
    assert parts["routed experts"]["active"] == 58 * 8 * 3 * 7168 * 2048


def test_bad_configs_say_what_is_wrong():
    with pytest.raises(KeyError, match="hidden_size"):
        model_size.count_parameters({"num_hidden_layers": 2})
    with pytest.raises(FileNotFoundError, match="deepseek_v3"):
        model_size.load_model_config("no-such-model")


def test_training_flops_is_six_n_d():
    assert model_size.training_flops(37e9, 14.8e12) == pytest.approx(3.2856e24)


def test_weight_bytes_by_dtype():
    assert model_size.weight_bytes(671e9, "bf16") == 1342e9
    assert model_size.weight_bytes(671e9, "fp8") == 671e9
    assert model_size.weight_bytes(10, "int4") == 5
    with pytest.raises(ValueError, match="bf16"):
        model_size.weight_bytes(1, "fp12")


def test_kv_cache_formulas():
    assert model_size.kv_cache_bytes(2, 4, 8, context=10, batch=3, bytes_per_value=2) == (
        2 * 2 * 4 * 8 * 10 * 3 * 2
    )
    # DeepSeek-V3 MLA caches 512 + 64 values per token and layer instead of 128 heads' K and V
    mla = model_size.mla_cache_bytes(61, 512, 64, context=1000)
    assert mla == 61 * 576 * 1000 * 2
    assert model_size.kv_cache_bytes(61, 128, 160, context=1000) / mla == pytest.approx(
        71.1, abs=0.1
    )


def test_billions_mentioned():
    text = "It has 671B parameters, 37 billion active (about 5.5%), not 1,000 bn; 14.8 trillion."
    assert model_size.billions_mentioned(text) == [671.0, 37.0, 1000.0, 14800.0]
    assert model_size.billions_mentioned("100 million per layer, 7M, 2 T") == [0.1, 0.007, 2000.0]
    assert model_size.billions_mentioned("no counts here: 3 bits, 61 layers, 8 experts") == []
