"""Evaluation helpers: multiple choice, code execution, LLM-as-judge, rankings, statistics.

Public API (other code and tests rely on these names): ``format_mcq``, ``extract_choice``,
``pass_at_k``, ``run_code``, ``check_solution``, ``judge_pair``, ``bradley_terry``, the
evaluation runner and the statistics helpers. Each lives in a small submodule and is
re-exported here.
"""

from utils.evals.code_answers import (  # noqa: F401 (re-exported)
    code_segments,
    extract_completion,
)
from utils.evals.passk import mean_pass_at_k, naive_pass_at_k, pass_at_k  # noqa: F401 (re-exported)
from utils.evals.sandbox import (  # noqa: F401 (re-exported)
    Limits,
    RunResult,
    check_solution,
    describe_sandbox,
    humaneval_program,
    mbpp_program,
    run_code,
    sandbox_features,
)
