"""``hashbench run`` for a video study: pick the configuration, run it into OUT/<name>-<digest>/.

The run folder holds ``media/`` (the reference videos and their edited copies, reused when the
same configuration runs again, so a stopped run resumes), ``video_report.json`` and ``report.md``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .config import VIDEO_PRESETS, VideoStudyConfig, is_video_config, load_video_config, parse_video_config

__all__ = ["video_config_of", "run_video"]


def video_config_of(
    config_path: str | None, preset: str | None, allowed_commands: frozenset[str] = frozenset()
) -> VideoStudyConfig | None:
    """The video study named by ``--preset`` or ``--config``, or None when it is an image run;
    its command hashers' programs must be in ``allowed_commands`` (``--allow-command``)."""
    if preset is not None:
        return load_video_config(preset=preset) if preset in VIDEO_PRESETS else None
    if config_path is None:
        return None
    try:
        data = tomllib.loads(Path(config_path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None  # the image configuration loader reports the problem in its own words
    if not is_video_config(data):
        return None
    return parse_video_config(data, origin=config_path, allowed_commands=allowed_commands)


def run_video(
    config: VideoStudyConfig, out_root: str | Path, workers: int | None = None
) -> tuple[Path, dict[str, Any]]:
    """Run the study; returns the run folder and the report (also written there)."""
    from .decode import require_av
    from .report import write_video_report
    from .study import run_study

    require_av()
    run_dir = Path(out_root) / f"{config.name}-{config.digest()}"
    try:
        (run_dir / "media").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {run_dir}: {exc.strerror or exc}") from None
    n = config.workers if workers is None else workers
    report = run_study(config, run_dir / "media", workers=n or None)
    write_video_report(report, run_dir)
    return run_dir, report
