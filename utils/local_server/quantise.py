"""IQ4_NL in numpy: what ``gguf`` can read back but not write (``gguf.quants.quantize`` lacks it).

IQ4_NL (llama.cpp's "non-linear" 4-bit format) stores each block of 32 weights as one
float16 scale ``d`` and 32 four-bit indices into a fixed table of 16 levels, ``KVALUES``,
which crowd near zero; a weight is ``d * KVALUES[index]``. The bytes are laid out as Q4_0's:
the scale, then 16 bytes whose low nibbles hold weights 0-15 and high nibbles 16-31.

The scale is searched as llama.cpp's own quantiser does (``quantize_row_iq4_nl_impl``,
described here in our words): try scales that map the block's largest-magnitude weight near
each end of the table, give every weight its nearest level, refit the scale by least squares
on those levels, and keep the try with the smallest squared error. No importance weights.
"""

from __future__ import annotations

import numpy as np

BLOCK = 32
KVALUES = np.array(
    [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113], dtype=np.float32
)
# where the largest-magnitude weight may land on the table: near either end
TRIES = np.concatenate([np.arange(-134.0, -119.0), np.arange(106.0, 121.0)])


def _nearest(scaled: np.ndarray) -> np.ndarray:
    """Index of the nearest level in ``KVALUES`` for each number (ties go to the lower level)."""
    midpoints = (KVALUES[1:] + KVALUES[:-1]) / 2
    return np.searchsorted(midpoints, scaled, side="left").astype(np.uint8)


def iq4_nl_blocks(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The best scale (float16) and level indices for each row of ``blocks`` (n, 32)."""
    blocks = np.asarray(blocks, dtype=np.float32)
    peak = np.take_along_axis(blocks, np.abs(blocks).argmax(axis=1)[:, None], axis=1)[:, 0]
    best_error = np.full(len(blocks), np.inf, dtype=np.float32)
    best_d = np.zeros(len(blocks), dtype=np.float16)
    best_q = np.zeros(blocks.shape, dtype=np.uint8)
    for end in TRIES:
        with np.errstate(divide="ignore", invalid="ignore"):
            inverse = np.where(peak == 0, 0.0, end / peak).astype(np.float32)
        q = _nearest(blocks * inverse[:, None])
        levels = KVALUES[q]
        norm = (levels * levels).sum(axis=1)
        d = ((blocks * levels).sum(axis=1) / np.maximum(norm, 1e-30)).astype(np.float16)
        error = ((d.astype(np.float32)[:, None] * levels - blocks) ** 2).sum(axis=1)
        better = error < best_error
        best_error[better], best_d[better], best_q[better] = error[better], d[better], q[better]
    return best_d, best_q


def quantize_iq4_nl(matrix: np.ndarray) -> np.ndarray:
    """``matrix`` (rows, columns; columns a multiple of 32) as IQ4_NL bytes, gguf's layout."""
    rows, columns = matrix.shape
    if columns % BLOCK:
        raise ValueError(f"IQ4_NL needs rows of a multiple of {BLOCK} numbers, not {columns}")
    d, q = iq4_nl_blocks(np.asarray(matrix, dtype=np.float32).reshape(-1, BLOCK))
    nibbles = q[:, : BLOCK // 2] | (q[:, BLOCK // 2 :] << np.uint8(4))
    packed = np.concatenate([d.view(np.uint8).reshape(-1, 2), nibbles], axis=1)
    return packed.reshape(rows, -1)
