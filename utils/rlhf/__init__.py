"""RLHF concepts computed for real: reward models, best-of-n, log-probabilities, PPO, DPO, GRPO."""
