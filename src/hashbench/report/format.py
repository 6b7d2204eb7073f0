"""Numbers as people read them in a report: percentages, small rates, counts, "1 in N".

One place for these rules so the Markdown, HTML and terminal outputs print the same figure the
same way. Every function accepts ``None`` (a figure that could not be computed, stored as null in
report.json) and prints it as an en dash, never as "nan" or "None".
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = ["DASH", "pct", "small_rate", "count", "k_of_n", "interval", "one_in", "big", "seconds", "per_second"]

DASH = "–"


def _finite(x: float | None) -> float | None:
    """``x`` when it is a printable figure, else None (null in report.json, or a NaN/inf that slipped in).

    Returning the value rather than a bool lets the type checker see that the figure is a number
    on every line after the ``is None`` test.
    """
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return None
    return x


def pct(x: float | None, digits: int = 1) -> str:
    """A share as a percentage: ``0.5405 -> '54.1%'``; exact 0 and 1 print without decimals."""
    x = _finite(x)
    if x is None:
        return DASH
    if x == 0:
        return "0%"
    if x == 1:
        return "100%"
    text = f"{100 * x:.{digits}f}%"
    for more in range(digits + 1, digits + 8):  # never round a non-zero share to 0%, nor a miss to 100%
        if float(text[:-1]) not in (0.0, 100.0):
            break
        text = f"{100 * x:.{more}f}%"
    return text


def small_rate(x: float | None) -> str:
    """A rate that may be tiny (false positives): ``0``, ``5.9e-04``, ``0.354``, ``1``."""
    x = _finite(x)
    if x is None:
        return DASH
    if x == 0:
        return "0"
    if x == 1:
        return "1"
    if x >= 0.01:
        return f"{x:.3g}"
    return f"{x:.2e}"


def count(n: int | float | None) -> str:
    """A whole count with thousands separators: ``6216 -> '6,216'``."""
    n = _finite(n)
    if n is None:
        return DASH
    return f"{int(n):,}"


def k_of_n(k: int | None, n: int | None) -> str:
    """``'0 of 6,216'``: a rate always travels with its count and its number of trials."""
    if k is None or n is None:
        return DASH
    return f"{count(k)} of {count(n)}"


def interval(low: float | None, high: float | None, fmt: Callable[[float | None], str] = small_rate) -> str:
    """``'[0, 5.93e-04]'`` with the rate formatter ``fmt`` applied to both ends."""
    if _finite(low) is None or _finite(high) is None:
        return DASH
    return f"[{fmt(low)}, {fmt(high)}]"


def big(x: float | None) -> str:
    """A large number in words: ``12.3e9 -> '12.3 billion'``; below a thousand, 3 significant digits."""
    x = _finite(x)
    if x is None:
        return DASH
    if x == 0:
        return "0"
    for value, name in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million"), (1e3, "thousand")):
        if abs(x) >= value:
            return f"{x / value:.3g} {name}"
    if abs(x) >= 0.01:
        return f"{x:.3g}"
    return f"{x:.2g}"


def one_in(p: float | None) -> str:
    """A probability as "1 in N" (``'1 in 1.69 thousand'``); 0 -> 'none'."""
    p = _finite(p)
    if p is None:
        return DASH
    if p <= 0:
        return "none"
    return f"1 in {big(1.0 / p)}"


def seconds(s: float | None) -> str:
    """A duration: ``'3.2 ms'``, ``'1.52 s'``, ``'2 min 5 s'``."""
    s = _finite(s)
    if s is None:
        return DASH
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.3g} ms"
    if s < 120:
        return f"{s:.3g} s"
    return f"{int(s // 60)} min {s % 60:.0f} s"


def per_second(x: float | None) -> str:
    """A throughput: ``'357/s'``, ``'1.29 million/s'``."""
    x = _finite(x)
    if x is None:
        return DASH
    if x >= 1e4:
        return f"{big(x)}/s"
    return f"{x:,.0f}/s"
