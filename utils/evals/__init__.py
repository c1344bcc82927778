"""Evaluation helpers: multiple choice, code execution, LLM-as-judge, rankings, statistics.

Public API (other code and tests rely on these names): ``format_mcq``, ``extract_choice``,
``pass_at_k``, ``run_code``, ``check_solution``, ``judge_pair``, ``bradley_terry``, the
evaluation runner and the statistics helpers. Each lives in a small submodule and is
re-exported here.
"""
