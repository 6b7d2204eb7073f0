"""Regenerate tests/golden/report_small.json: the accuracy figures of report_small.toml's run.

The figures are pinned so that a refactoring cannot change a number without a test failing.
Run only when a change of figures is intended (and say why in the commit):
    .venv/bin/python tests/golden/regenerate_report.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from golden_report import accuracy_figures, run_small  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        report = run_small(Path(tmp))
    out = HERE / "report_small.json"
    out.write_text(json.dumps(accuracy_figures(report), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
