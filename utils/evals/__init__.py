"""Evaluation helpers: multiple choice, code execution, LLM-as-judge, rankings, statistics.

Public API (other code and tests rely on these names): ``format_mcq``, ``extract_choice``,
``pass_at_k``, ``run_code``, ``check_solution``, ``judge_pair``, ``bradley_terry``, the
evaluation runner with its rate limits, Batch-API files and the statistics helpers. Each
lives in a small submodule and is re-exported here.
"""

from utils.evals.arena_hard import (  # noqa: F401 (re-exported)
    ARENA_HARD_STYLE,
    VERDICTS,
    JudgePrompt,
    arena_hard_scores,
    battles_from_verdicts,
    verdicts_from_battles,
)
from utils.evals.batch import (  # noqa: F401 (re-exported)
    batch_model,
    read_batch_output,
    write_batch_file,
)
from utils.evals.code_answers import (  # noqa: F401 (re-exported)
    code_segments,
    extract_completion,
)
from utils.evals.code_programs import (  # noqa: F401 (re-exported)
    check_solution,
    humaneval_program,
)
from utils.evals.judge import (  # noqa: F401 (re-exported)
    PairJudgement,
    combine_verdicts,
    judge_messages,
    judge_pair,
    judge_pairs,
    parse_verdict,
    position_bias,
    swap_verdict,
)
from utils.evals.mcq import LETTERS, extract_choice, format_mcq  # noqa: F401 (re-exported)
from utils.evals.passk import mean_pass_at_k, naive_pass_at_k, pass_at_k  # noqa: F401 (re-exported)
from utils.evals.ranking import (  # noqa: F401 (re-exported)
    bootstrap_bradley_terry,
    bradley_terry,
    simulate_battles,
    win_probability,
)
from utils.evals.rate_limits import RateLimits, published_limits  # noqa: F401 (re-exported)
from utils.evals.runner import (  # noqa: F401 (re-exported)
    Outcome,
    ResponseCache,
    request_key,
    run,
    summarize,
)
from utils.evals.sandbox import (  # noqa: F401 (re-exported)
    Limits,
    RunResult,
    SandboxUnavailable,
    run_code,
    sandbox_features,
)
from utils.evals.sandbox_description import describe_sandbox  # noqa: F401 (re-exported)
from utils.evals.stats import (  # noqa: F401 (re-exported)
    Accuracy,
    accuracy_ci,
    accuracy_table,
    bootstrap_ci,
    cohen_kappa,
    p_value_vs_random,
    random_baseline,
    wilson_ci,
)
