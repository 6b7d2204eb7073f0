"""The ``folder`` video dataset: a directory of the user's own videos as a study's references.

Files are taken by extension (:data:`VIDEO_EXTENSIONS`, or the ones a config names), found
recursively in sorted order without following symlinked folders, and identified by their path
relative to the folder (``/`` separators, undecodable bytes escaped as for image folders), so
results do not depend on where the folder is mounted. Nothing is checked when listing: the study
decodes each file through :mod:`hashbench.video.decode`, whose :class:`VideoError` reasons
(empty, truncated, audio-only, not a container, over a limit) are recorded by id while the run
goes on. A wrong extension does not matter for a file that is listed (the content decides); a
video whose extension is not listed is passed over, and said so (``skipped``).

Edited copies are written under the study's media folder with a stem made of the id (made safe
for a file name) and the first 12 hex digits of the file's SHA-256, so a changed file is never
matched against stale copies of its old content.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..files import display_id
from .synthetic import VIDEO_DATASETS, VideoSource

__all__ = ["VIDEO_EXTENSIONS", "FolderVideos", "list_videos"]

#: Extensions taken as videos by default (lower case, with the dot).
VIDEO_EXTENSIONS: tuple[str, ...] = (
    ".mp4",
    ".m4v",
    ".mov",
    ".mkv",
    ".webm",
    ".avi",
    ".mpg",
    ".mpeg",
    ".ts",
    ".wmv",
    ".flv",
    ".3gp",
    ".ogv",
)


def list_videos(
    root: str | Path, extensions: tuple[str, ...] = VIDEO_EXTENSIONS
) -> tuple[list[tuple[str, Path]], list[tuple[str, str]]]:
    """(id, path) of every file under ``root`` with one of ``extensions``, sorted by id, and the
    (id, reason) of what was passed over (other extensions, symlinked folders, unreadable folders)."""
    base = Path(root)
    if not base.is_dir():
        what = "is not a folder" if base.exists() else "does not exist"
        raise UsageError(f"video folder {display_id(base)} {what}")
    exts = {e.lower() for e in extensions}
    found: list[tuple[str, Path]] = []
    skipped: list[tuple[str, str]] = []

    def unreadable(exc: OSError) -> None:
        skipped.append((display_id(exc.filename or base), f"cannot read folder: {exc.strerror or exc}"))

    for dirpath, dirnames, filenames in os.walk(base, onerror=unreadable, followlinks=False):
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        skipped += [
            (display_id((Path(dirpath) / d).relative_to(base)) + "/", "symlinked folder, not followed") for d in links
        ]
        dirnames[:] = sorted(d for d in dirnames if d not in links)
        for name in filenames:
            p = Path(dirpath) / name
            rel = display_id(p.relative_to(base))
            if p.suffix.lower() in exts:
                found.append((rel, p))
            else:
                skipped.append((rel, "not a video extension"))
    return sorted(found), sorted(skipped)


def _sha256(path: Path) -> str:
    """The file's SHA-256 (hex), or "" when it cannot be read (decoding will say why)."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return ""
    return digest.hexdigest()


def _stem(video_id: str, sha256: str) -> str:
    """A file stem for the edited copies of a video: its id made safe, and its SHA-256 prefix."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", video_id).strip("._")[:80] or "video"
    return f"{safe}-{sha256[:12] or 'unreadable'}"


@VIDEO_DATASETS.register("folder")
class FolderVideos(VideoSource):
    """The videos under ``path`` (by extension, sorted ids); at most ``limit`` of them when given."""

    def __init__(self, path: str | Path, extensions: tuple[str, ...] = VIDEO_EXTENSIONS, limit: int = 0) -> None:
        self.root = Path(path)
        self.extensions = tuple(extensions) or VIDEO_EXTENSIONS
        found, self.skipped = list_videos(self.root, self.extensions)
        self.videos = found[:limit] if limit else found
        if len(self.videos) < 2:
            raise UsageError(
                f"video folder {display_id(self.root)} holds {len(self.videos)} file(s) with a video extension; "
                "a study needs at least 2 (extensions: " + " ".join(self.extensions) + ")"
            )

    def __len__(self) -> int:
        return len(self.videos)

    def id(self, i: int) -> str:
        return self.videos[i][0]

    def reference(self, i: int, media: Path) -> tuple[Path, str, dict[str, Any]]:
        vid, path = self.videos[i]
        size = path.stat().st_size if path.is_file() else -1
        sha = _sha256(path)
        return path, _stem(vid, sha), {"dataset": "folder", "id": vid, "bytes": size, "sha256": sha}
