"""How a probability is shown beside the threshold it was held against, in `why` and reasons.

Two decimals, unless two decimals would put it on the wrong side ("p 0.50 < 0.50"): then as many
more as it takes (at most four), so an analyst reading a near miss sees which side it fell on.
"""

from __future__ import annotations

__all__ = ["versus"]


def versus(p: float, threshold: float) -> str:
    """`p` against `threshold`, e.g. "0.91 ≥ 0.50" or "0.497 < 0.50". The threshold is shown
    exactly (to four places): a fitted one may have more than two."""
    sign = "≥" if p >= threshold else "<"
    exact = next((k for k in (2, 3) if round(threshold, k) == threshold), 4)
    for places in (2, 3, 4):
        shown = f"{p:.{places}f}"
        if (float(shown) >= threshold) == (p >= threshold):
            break
    return f"{shown} {sign} {threshold:.{exact}f}"
