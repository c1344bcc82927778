"""Turn a chat model's answer into code for a HumanEval-style prompt.

Chat models answer with prose and Markdown: a fenced block, several, a block whose opening
fence is missing, or just the function body. ``extract_completion`` handles each and returns
the text to put after the problem's ``prompt``; it never raises on odd answers (an answer
with no usable code gives code that fails its tests, and is counted as a failure).
"""

from __future__ import annotations

import ast
import re
import textwrap

FENCE_LINE = re.compile(r"^[ \t]*```.*$", re.MULTILINE)  # ``` or ```python, alone on a line
KEPT_TOP_LEVEL = ("def ", "async def ", "class ", "@", "import ", "from ")


def code_segments(answer: str) -> list[str]:
    """The non-empty pieces of ``answer`` between fence lines (code or prose; fences may be unpaired)."""
    return [piece.strip("\n") for piece in FENCE_LINE.split(answer or "") if piece.strip()]


def top_level_blocks(code: str) -> list[str]:
    """Split ``code`` into top-level statements, each with its indented lines."""
    blocks: list[list[str]] = []
    for line in code.splitlines():
        starts = line.strip() and not line[0].isspace()
        decorated = blocks and blocks[-1][-1].startswith("@")  # a decorator joins what follows
        if not blocks or (starts and not decorated):
            blocks.append([])  # a new top-level statement starts here
        blocks[-1].append(line)
    return ["\n".join(block).strip("\n") for block in blocks if "".join(block).strip()]


def parses(code: str) -> bool:
    """Whether ``code`` is valid Python (parsed, never run)."""
    try:
        ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def definitions_only(code: str) -> str:
    """Keep imports, functions and classes; drop top-level calls and a definition cut short."""
    blocks = [block for block in top_level_blocks(code) if block.startswith(KEPT_TOP_LEVEL)]
    while len(blocks) > 1 and not parses("\n\n".join(blocks)):
        blocks.pop()  # the last definition was cut off (max_tokens): drop it
    return "\n\n".join(blocks) + "\n"


def function_body(code: str) -> str:
    """An indented body up to the first unindented line (flush-left code is indented by 4)."""
    lines = code.strip("\n").splitlines()
    if lines and not lines[0][:1].isspace():
        return textwrap.indent("\n".join(lines), "    ") + "\n"
    body = []
    for line in lines:
        if line.strip() and not line[0].isspace():
            break  # the body has ended: what follows is not part of the function
        body.append(line)
    return "\n".join(body).rstrip() + "\n"


def extract_completion(answer: str, entry_point: str) -> str:
    """What to append to a HumanEval ``prompt``, taken from a model's ``answer``.

    A piece that defines ``entry_point`` wins: it is returned (imports, functions and classes
    only) after a blank line, so it replaces the prompt's stub. Otherwise the first piece is
    taken as the function's body.
    """
    segments = code_segments(answer)
    defines = re.compile(rf"^\s*(async\s+)?def\s+{re.escape(entry_point)}\s*\(", re.MULTILINE)
    for segment in segments:
        if defines.search(segment):
            return "\n" + definitions_only(textwrap.dedent(segment))
    return function_body(segments[0]) if segments else ""
