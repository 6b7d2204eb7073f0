"""Every accuracy figure of a small dihedral + composite run is pinned (tests/golden/report_small.json).

Refactoring must not change a single number: this run goes through every evaluation step (genuine
pairs per edit, dihedral matching, the quality gate, per-group impostor histograms, calibration
and operating points, the measured per-query rate, projections, curves and three composites), so a
figure that moves fails here with the first differing paths named.
"""

from __future__ import annotations

import json

from golden_report import GOLDEN, accuracy_figures, run_small


def _differences(a, b, path="report", out=None, limit=20):
    out = [] if out is None else out
    if len(out) >= limit:
        return out
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                out.append(f"{path}.{k}: present in only one")
            else:
                _differences(a[k], b[k], f"{path}.{k}", out, limit)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            _differences(x, y, f"{path}[{i}]", out, limit)
    elif a != b:
        out.append(f"{path}: pinned {a!r}, now {b!r}")
    return out


def test_small_run_reproduces_every_pinned_figure(tmp_path):
    pinned = json.loads((GOLDEN / "report_small.json").read_text(encoding="utf-8"))
    now = accuracy_figures(run_small(tmp_path))
    diffs = _differences(pinned, now)
    assert not diffs, "figures changed:\n" + "\n".join(diffs)
    # The pin is not vacuous: it holds dihedral and plain hashers, the gate and composites.
    assert now["hashers"]["pdq8"]["matching"] == "dihedral"
    assert now["hashers"]["pdq"]["quality"]["floor"] == 50
    assert set(now["composites"]) == {"md5|pdq", "pdq8&phash16", "pdq8|phash"}
    assert sum(now["hashers"]["pdq"]["impostor"]["histogram"]) == 120 * 119 // 2
