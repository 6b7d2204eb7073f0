"""Compare two runs (A: the baseline, B: the candidate) and say whether B regressed.

Made for CI: run the same configuration on the base and the head of a change, then
``hashbench compare A B`` exits 1 when B is worse than A beyond a tolerance. Per hasher (and per
composite matcher present in both) it compares, at the named threshold:

* **TPR**, pooled and per transform: a regression when B's rate is lower than A's by more than
  ``tpr`` (absolute; 0.01 = one percentage point);
* **per-pair FPR**: judged on the *upper end* of its two-sided (pair-level) interval, which moves
  with the one-sided bound a claim like "at most 1 in N" rests on (that bound is lower: about
  3 / n against 3.7 / n with no match): a regression when B's upper end is above A's by more than the fraction ``fpr``
  (0.10 = 10% higher). With no false match in either run the bound moves only with the number of
  pairs, and a new false match moves it far more than 10%;
* **hashing speed** (images per CPU-second per hasher): shown, but judged only when ``speed``
  is given (``--speed`` or ``--tolerance-speed`` on the command line); then a regression when B
  is slower than A by more than that fraction. Even CPU time varies with caches and frequency
  scaling, and speeds from different machines are not comparable, so by default speed noise
  never fails CI.

Hasher sets must be equal (else :class:`~hashbench.errors.UsageError`); other differences in the
configuration (seed, counts, thresholds) are reported as notes, since they explain changes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import UsageError
from ..schema import Rate, Report
from . import format as f
from .metrics import tpr_at, transform_names

__all__ = ["Tolerances", "Difference", "Comparison", "compare_reports", "format_comparison"]

# The speed tolerance used when speed is asked for without a figure (``compare --speed``).
DEFAULT_SPEED_TOLERANCE = 0.15
_EPS = 1e-12  # rates recomputed from equal counts are equal; this only absorbs float noise


@dataclass(frozen=True)
class Tolerances:
    """How much worse B may be than A before it counts as a regression."""

    tpr: float = 0.01  # absolute drop of a true-positive rate
    fpr: float = 0.10  # relative rise of the upper end of the per-pair FPR interval
    speed: float | None = None  # relative fall of images per CPU-second; None: speed not judged

    def __post_init__(self) -> None:
        for name in ("tpr", "fpr", "speed"):
            v = getattr(self, name)
            if name == "speed" and v is None:
                continue
            if not (v >= 0):
                raise UsageError(f"tolerance {name} must be >= 0, got {v}")


@dataclass(frozen=True)
class Difference:
    """One compared figure: its value in A and B, and whether B regressed beyond tolerance."""

    matcher: str
    metric: str  # "tpr", "tpr_transform", "fpr_per_pair_upper", "images_per_second_per_core"
    transform: str | None
    a: float | None
    b: float | None
    a_text: str
    b_text: str
    kind: str  # "accuracy" or "speed"
    regressed: bool
    improved: bool
    judged: bool = True  # False: shown for information only (speed without a speed tolerance)

    @property
    def changed(self) -> bool:
        if self.a is None or self.b is None:
            return self.a is not self.b
        return abs(self.a - self.b) > _EPS * max(1.0, abs(self.a))

    @property
    def label(self) -> str:
        names = {
            "tpr": "TPR",
            "tpr_transform": f"TPR {self.transform}",
            "fpr_per_pair_upper": "per-pair FPR upper bound",
            "images_per_second_per_core": "images/CPU-s",
        }
        return names[self.metric]


@dataclass
class Comparison:
    run_a: str
    run_b: str
    tolerances: Tolerances
    differences: list[Difference] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> list[Difference]:
        return [d for d in self.differences if d.regressed]

    @property
    def regressed(self) -> bool:
        return bool(self.regressions)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: what CI reads with ``hashbench compare --json``."""
        return {
            "run_a": self.run_a,
            "run_b": self.run_b,
            "tolerances": asdict(self.tolerances),
            "regressed": self.regressed,
            "n_regressions": len(self.regressions),
            "regressions": [_diff_dict(d) for d in self.regressions],
            "differences": [_diff_dict(d) for d in self.differences],
            "notes": list(self.notes),
        }


def _diff_dict(d: Difference) -> dict[str, Any]:
    out = asdict(d)
    out["changed"] = d.changed
    out["delta"] = (d.b - d.a) if d.a is not None and d.b is not None else None
    return out


def _tpr_diff(matcher: str, metric: str, transform: str | None, a: Rate, b: Rate, tol: Tolerances) -> Difference:
    ra, rb = a.get("rate"), b.get("rate")
    regressed = ra is not None and rb is not None and rb < ra - tol.tpr - _EPS
    improved = ra is not None and rb is not None and rb > ra + _EPS
    return Difference(
        matcher,
        metric,
        transform,
        ra,
        rb,
        f"{f.pct(ra)} ({f.k_of_n(a.get('count'), a.get('n'))})",
        f"{f.pct(rb)} ({f.k_of_n(b.get('count'), b.get('n'))})",
        "accuracy",
        regressed,
        improved,
    )


def _fpr_diff(matcher: str, a: Rate, b: Rate, tol: Tolerances) -> Difference:
    ua, ub = a.get("ci_high"), b.get("ci_high")
    regressed = ua is not None and ub is not None and ub > ua * (1 + tol.fpr) + _EPS
    improved = ua is not None and ub is not None and ub < ua - _EPS
    return Difference(
        matcher,
        "fpr_per_pair_upper",
        None,
        ua,
        ub,
        f"≤ {f.small_rate(ua)} ({f.k_of_n(a.get('count'), a.get('n'))})",
        f"≤ {f.small_rate(ub)} ({f.k_of_n(b.get('count'), b.get('n'))})",
        "accuracy",
        regressed,
        improved,
    )


def _speed(report: Report, name: str) -> float | None:
    timing = report.get("timing")
    rec = timing.get("hashing", {}).get(name) if timing else None
    return rec.get("images_per_second_per_core") if rec else None


def _speed_diff(matcher: str, sa: float | None, sb: float | None, tol: Tolerances) -> Difference | None:
    """Images per CPU-second of A and B; a regression only when a speed tolerance was given."""
    if not sa or not sb:
        return None
    judged = tol.speed is not None
    return Difference(
        matcher,
        "images_per_second_per_core",
        None,
        sa,
        sb,
        f.per_second(sa),
        f.per_second(sb),
        "speed",
        judged and sb < sa * (1 - float(tol.speed or 0)),
        judged and sb > sa,
        judged,
    )


def _config_notes(a: Report, b: Report) -> list[str]:
    ca, cb = a.get("config", {}), b.get("config", {})
    ignore = {"workers", "chunk_size"}  # how a run was executed, not what it measured
    keys = [k for k in dict.fromkeys([*ca, *cb]) if k not in ignore and ca.get(k) != cb.get(k)]
    notes = []
    if keys:
        notes.append(
            f"the configurations differ in {', '.join(keys)}: differences may come from the data, not the code"
        )
    va = (a.get("environment") or {}).get("versions", {})
    vb = (b.get("environment") or {}).get("versions", {})
    changed = [f"{k} {va.get(k)} -> {vb.get(k)}" for k in dict.fromkeys([*va, *vb]) if va.get(k) != vb.get(k)]
    if changed:
        notes.append("package versions differ: " + ", ".join(changed))
    ma = (a.get("environment") or {}).get("machine", {})
    mb = (b.get("environment") or {}).get("machine", {})
    if ma != mb:
        notes.append("the runs were on different machines: speed differences may not come from the code")
    return notes


def compare_reports(a: Report, b: Report, tolerances: Tolerances | None = None) -> Comparison:
    """Compare report B against baseline A (both as read from report.json)."""
    tol = tolerances or Tolerances()
    ha, hb = list(a["hashers"]), list(b["hashers"])
    if set(ha) != set(hb):
        only_a = sorted(set(ha) - set(hb))
        only_b = sorted(set(hb) - set(ha))
        parts = []
        if only_a:
            parts.append(f"only in A ({a.get('run_id')}): {', '.join(only_a)}")
        if only_b:
            parts.append(f"only in B ({b.get('run_id')}): {', '.join(only_b)}")
        raise UsageError("the runs measured different hashers, so they cannot be compared; " + "; ".join(parts))
    comp = Comparison(str(a.get("run_id")), str(b.get("run_id")), tol, notes=_config_notes(a, b))
    transforms = [t for t in transform_names(a) if t in set(transform_names(b))]
    missing = sorted(set(transform_names(a)) ^ set(transform_names(b)))
    if missing:
        comp.notes.append(f"transforms in only one run are not compared: {', '.join(missing)}")
    for name in ha:
        xa, xb = a["hashers"][name], b["hashers"][name]
        if xa["threshold"] != xb["threshold"]:
            comp.notes.append(f"{name}: named threshold {xa['threshold']} in A, {xb['threshold']} in B")
        at_a, at_b = xa["at_threshold"], xb["at_threshold"]
        comp.differences.append(_tpr_diff(name, "tpr", None, at_a.get("tpr") or {}, at_b.get("tpr") or {}, tol))
        comp.differences.append(_fpr_diff(name, at_a.get("fpr_per_pair") or {}, at_b.get("fpr_per_pair") or {}, tol))
        for t in transforms:
            if t in xa["transforms"] and t in xb["transforms"]:
                comp.differences.append(
                    _tpr_diff(
                        name,
                        "tpr_transform",
                        t,
                        tpr_at(a, name, int(xa["threshold"]), t),
                        tpr_at(b, name, int(xb["threshold"]), t),
                        tol,
                    )
                )
        speed = _speed_diff(name, _speed(a, name), _speed(b, name), tol)
        if speed is not None:
            comp.differences.append(speed)
    ca, cb = a.get("composites") or {}, b.get("composites") or {}
    for name in ca:
        if name not in cb:
            continue
        comp.differences.append(_tpr_diff(name, "tpr", None, ca[name].get("tpr") or {}, cb[name].get("tpr") or {}, tol))
        comp.differences.append(
            _fpr_diff(name, ca[name].get("fpr_per_pair") or {}, cb[name].get("fpr_per_pair") or {}, tol)
        )
    if set(ca) != set(cb):
        comp.notes.append(f"composites in only one run are not compared: {', '.join(sorted(set(ca) ^ set(cb)))}")
    return comp


def format_comparison(comp: Comparison, *, show_all: bool = False) -> str:
    """The comparison as text: headline figures always, per-transform rows only when changed
    (every row with ``show_all``), then notes and the verdict."""
    t = comp.tolerances
    lines = [f"A (baseline): {comp.run_a}", f"B (candidate): {comp.run_b}", ""]
    rows = [d for d in comp.differences if show_all or d.metric != "tpr_transform" or d.changed]
    header = ["matcher", "figure", "A", "B", "verdict"]
    cells = []
    for d in rows:
        cells.append([d.matcher, d.label, d.a_text, d.b_text, _verdict(d)])
    widths = [max(len(r[i]) for r in [header, *cells]) for i in range(len(header))]
    fmt = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    lines += [fmt(header), "  ".join("-" * w for w in widths), *(fmt(r) for r in cells)]
    hidden = sum(1 for d in comp.differences if d.metric == "tpr_transform" and not d.changed)
    if hidden and not show_all:
        lines.append(f"({hidden} per-transform TPRs unchanged, not shown; --all shows them)")
    if comp.notes:
        lines += ["", *(f"note: {n}" for n in comp.notes)]
    speed_text = f"speed -{100 * t.speed:g}%" if t.speed is not None else "speed not judged (--speed judges it)"
    tol_text = f"tolerances: TPR -{t.tpr:g} (absolute), per-pair FPR upper bound +{100 * t.fpr:g}%, {speed_text}"
    lines.append("")
    if comp.regressed:
        lines.append(
            f"REGRESSED: {len(comp.regressions)} figure(s) of B are worse than A beyond the tolerances ({tol_text})."
        )
    else:
        lines.append(f"OK: no figure of B is worse than A beyond the tolerances ({tol_text}).")
    return "\n".join(lines)


def _verdict(d: Difference) -> str:
    """The verdict column: a speed row that was not judged says so instead of better/worse."""
    if not d.judged:
        return "not judged" if d.changed else "same"
    if d.regressed:
        return "REGRESSED"
    return "better" if d.improved else ("worse, within tolerance" if d.changed else "same")
