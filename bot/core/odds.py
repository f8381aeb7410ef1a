"""How a probability is shown beside the threshold it was held against, in `why` and reasons.

Two decimals, unless two decimals would put it on the wrong side ("p 0.50 < 0.50"): then as many
more as it takes (at most four), so an analyst reading a near miss sees which side it fell on.
"""

from __future__ import annotations

__all__ = ["versus"]


def versus(p: float, threshold: float) -> str:
    """`p` against `threshold`, e.g. "0.91 ≥ 0.50" or "0.497 < 0.50"."""
    sign = "≥" if p >= threshold else "<"
    for places in (2, 3, 4):
        shown = f"{p:.{places}f}"
        if (float(shown) >= threshold) == (p >= threshold):
            break
    return f"{shown} {sign} {threshold:.2f}"
