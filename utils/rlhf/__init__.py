"""RLHF concepts computed for real: reward models, best-of-n, log-probabilities, PPO, DPO, GRPO.

Public API (notebooks 09 and 10 and the tests rely on these names), re-exported from small
submodules:

- ``forward`` (imported from there): the model's forward pass in numpy (``forward``,
  ``logits``) over the weights ``gguf_weights`` reads from the GGUF file the local server
  serves; ``served_model`` gives those weights and the server's tokens and chat template.
- ``logprobs``: ``sequence_logprob``, ``token_logprobs``, ``next_token_logprobs``,
  ``chat_prompt``, ``response_tokens`` — log p(response | prompt) from the local model, in
  this process.
- ``sampling``: ``sample_response`` — a response drawn from the model's own distribution.
- ``embeddings``: ``embed``, ``embed_conversations``, ``embed_pairs``, ``conversation_text`` —
  reward-model features: the final token's hidden state.
- ``reward_model``: ``fit_reward_model``, ``RewardModel``, ``preference_accuracy``,
  ``calibration_bins``, ``bradley_terry_loss``, ``bradley_terry_grad``.
- ``losses``: ``dpo_loss``, ``dpo_implicit_rewards``, ``ppo_clip_objective``,
  ``kl_estimate``, ``kl_divergence``, ``grpo_advantages``.
- ``toy_policy``: ``train_ppo``, ``train_dpo``, ``kl_regularised_optimum``, ``log_softmax``.
- ``best_of_n``: ``expected_best_of_n``, ``best_of_n_curve``.
- ``rewards``: ``extract_number``, ``exact_match_reward`` (GSM8K-style verifiable rewards).
- ``preferences``: ``load_mild_hh_pairs`` (a hand-checked mild slice of HH-RLHF) and
  ``gsm8k_consistency_pairs`` (verifiable pairs: the stated answer agrees with the working or not).

The model-backed functions read the weights on first use (a few seconds) and ask the local
server for tokens, so importing is cheap and starts nothing.
"""

from utils.rlhf.best_of_n import best_of_n_curve, expected_best_of_n
from utils.rlhf.embeddings import conversation_text, embed, embed_conversations, embed_pairs
from utils.rlhf.logprobs import (
    chat_prompt,
    next_token_logprobs,
    response_tokens,
    sequence_logprob,
    token_logprobs,
)
from utils.rlhf.losses import (
    dpo_implicit_rewards,
    dpo_loss,
    grpo_advantages,
    kl_divergence,
    kl_estimate,
    ppo_clip_objective,
)
from utils.rlhf.preferences import gsm8k_consistency_pairs, load_mild_hh_pairs
from utils.rlhf.reward_model import (
    RewardModel,
    bradley_terry_grad,
    bradley_terry_loss,
    calibration_bins,
    fit_reward_model,
    preference_accuracy,
)
from utils.rlhf.rewards import exact_match_reward, extract_number
from utils.rlhf.sampling import sample_response
from utils.rlhf.toy_policy import kl_regularised_optimum, log_softmax, train_dpo, train_ppo

__all__ = [
    "RewardModel",
    "best_of_n_curve",
    "bradley_terry_grad",
    "bradley_terry_loss",
    "calibration_bins",
    "chat_prompt",
    "conversation_text",
    "dpo_implicit_rewards",
    "dpo_loss",
    "embed",
    "embed_conversations",
    "embed_pairs",
    "exact_match_reward",
    "expected_best_of_n",
    "extract_number",
    "fit_reward_model",
    "grpo_advantages",
    "gsm8k_consistency_pairs",
    "kl_divergence",
    "kl_estimate",
    "kl_regularised_optimum",
    "load_mild_hh_pairs",
    "log_softmax",
    "next_token_logprobs",
    "ppo_clip_objective",
    "preference_accuracy",
    "response_tokens",
    "sample_response",
    "sequence_logprob",
    "token_logprobs",
    "train_dpo",
    "train_ppo",
]
