"""Published answers of Qwen2.5-Max (and its rivals), with the provenance a lesson must show.

``published_answer(benchmark, prompt_id, sample)`` looks one answer up in the bundled files of
``data/qwen25max_outputs/`` and returns it with its source, date, sampling and caveat. Show it
with ``utils.recordings.show_answer`` or ``utils.recordings.beside``.
"""

from __future__ import annotations

from dataclasses import dataclass

from utils import misguided_attention, pfgen_bench

BENCHMARKS = ("misguided_attention", "pfgen_bench")


@dataclass(frozen=True)
class PublishedAnswer:
    """One answer a public benchmark published, and where it came from."""

    text: str
    model: str  # as the source names it: "qwen-max" (an alias) or "qwen-max-2025-01-25"
    file: str  # the bundled file, a path inside data/
    prompt_id: str
    sample: int  # 0-based, within this prompt's answers in the file
    samples: int  # how many answers to this prompt the file holds
    prompt: str
    source: str  # benchmark, upstream repository @ commit, licence
    answered_on: str  # the answer's timestamp as the file records it
    via: str  # the API and model id the request went to
    sampling: str
    caveat: str | None = None
    thinking: str | None = None  # the model's thinking trace, where one is stored

    def label(self) -> str:
        """Source, date, sampling and caveat, in a few lines."""
        lines = [
            f"{self.model} · {self.source}",
            f"answered {self.answered_on} via {self.via} · {self.sampling} · "
            f"sample {self.sample} of {self.samples} (numbered from 0)",
        ]
        if self.caveat:
            lines.append(f"Caveat: {self.caveat}.")
        return "\n".join(lines)


def published_answer(
    benchmark: str, prompt_id: str, sample: int = 0, model: str | None = None
) -> PublishedAnswer:
    """The bundled answer ``sample`` to ``prompt_id``.

    ``benchmark`` is ``"misguided_attention"`` (``model`` a file suffix of
    ``misguided_attention.FILES``, default Qwen2.5-Max's ``"qwenmax"``) or ``"pfgen_bench"``
    (``prompt_id`` ``"Q01"``..``"Q50"``, ``sample`` the trial 0..9; only Qwen2.5-Max).
    """
    if benchmark == "misguided_attention":
        return _misguided_attention(prompt_id, sample, model or misguided_attention.QWEN25_MAX)
    if benchmark == "pfgen_bench":
        if model not in (None, pfgen_bench.MODEL):
            raise ValueError(f"pfgen-bench answers are bundled only for {pfgen_bench.MODEL}")
        return _pfgen_bench(prompt_id, sample)
    raise ValueError(f"no published answers for {benchmark!r}; the course has {BENCHMARKS}")


def _pick(rows, what: str, sample: int):
    if rows.empty:
        raise ValueError(f"no published answer to {what}")
    if not 0 <= sample < len(rows):
        raise ValueError(f"{what} has samples 0..{len(rows) - 1}, not {sample}")
    return rows.iloc[sample], len(rows)


def _misguided_attention(prompt_id: str, sample: int, suffix: str) -> PublishedAnswer:
    info = misguided_attention.model_file(suffix)
    outputs = misguided_attention.load_outputs(suffix)
    first_llm = outputs[outputs.prompt_id == prompt_id]["llm"].head(1).tolist()
    rows = outputs[(outputs.prompt_id == prompt_id) & outputs.llm.isin(first_llm)]
    row, samples = _pick(rows, f"{prompt_id!r} in MisguidedAttention's {suffix} file", sample)
    if row.output is None:
        raise ValueError(f"{suffix} returned no answer to {prompt_id!r} in sample {sample}")
    return PublishedAnswer(
        text=row.output,
        model=row.llm,
        file=misguided_attention.relative_path("output_queries", suffix),
        prompt_id=prompt_id,
        sample=sample,
        samples=samples,
        prompt=row.prompt,
        source=(
            f"MisguidedAttention, {misguided_attention.UPSTREAM} @ {info.commit} "
            f"({info.date}, {misguided_attention.LICENCE})"
        ),
        answered_on=row.timestamp[:16].replace("T", " "),
        via=info.api_model,
        sampling=info.sampling,
        caveat=misguided_attention.ALIAS_CAVEAT
        if suffix == misguided_attention.QWEN25_MAX
        else None,  # fmt: skip
        thinking=row.thinking,
    )


def _pfgen_bench(question_id: str, trial: int) -> PublishedAnswer:
    config = pfgen_bench.load_config()
    trials = pfgen_bench.load_trials()
    row, samples = _pick(trials[trials.question_id == question_id], f"pfgen-bench {question_id!r}", trial)  # fmt: skip
    return PublishedAnswer(
        text=row.answer,
        model=pfgen_bench.MODEL,
        file=pfgen_bench.TRIALS,
        prompt_id=question_id,
        sample=trial,
        samples=samples,
        prompt=row.question,
        source=(
            f"pfgen-bench, {pfgen_bench.UPSTREAM} @ {pfgen_bench.UPSTREAM_COMMIT} (2025-01-30; "
            "repo Apache-2.0, outputs under the model's own terms)"
        ),
        answered_on=row.timestamp[:16].replace("T", " "),
        via=f"{pfgen_bench.MODEL} (the exact snapshot; pfgen-bench's {config['engine']} engine)",
        sampling=(
            f"temperature {config['temperature']}, max_tokens {config['max_tokens']}, "
            f"{config['num_examples']}-shot {config['mode']!r} prompt"
        ),
    )
