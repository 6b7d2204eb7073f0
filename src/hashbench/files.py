"""Finding image files under the paths a user names, with stable ids.

Ids are what results are keyed by, so they must not depend on where the folder is mounted: a
file found under a folder gets its path relative to that folder (with ``/`` separators); a file
named directly keeps the path as given. File names that are not valid UTF-8 are kept readable in
ids with backslash escapes, while the real bytes are used to open the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UsageError
from .imageio import IMAGE_SUFFIXES, is_url

__all__ = ["FoundFiles", "find_images", "display_id"]


@dataclass
class FoundFiles:
    """Files to hash (``paths`` with ``ids``) and what was passed over, with the reason.

    ``paths`` holds local paths, and URL strings for inputs given as fsspec URLs.
    """

    paths: list[Path | str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def display_id(path: str | os.PathLike) -> str:
    """A path as text that is always valid UTF-8 (undecodable bytes become ``\\xNN``).

    A backslash that is part of a name is doubled first, so the escaped form of the byte 0xff
    and a file really named ``\\xff`` get different ids (issue 16, item 16). Not on Windows,
    where the backslash is the separator and cannot be part of a name.
    """
    raw = os.fsencode(path)
    if os.sep != "\\":
        raw = raw.replace(b"\\", b"\\\\")
    return raw.decode("utf-8", "backslashreplace").replace(os.sep, "/")


def find_images(paths: list[str | os.PathLike], *, all_files: bool = False) -> FoundFiles:
    """Expand files and folders (recursively, in sorted order, not following symlinked folders).

    Files in folders are taken when their suffix is an image suffix, or always with
    ``all_files``; others, symlinked folders and folders that cannot be read are listed in
    ``skipped`` so nothing disappears without a word. Files of any kind (FIFOs, broken links)
    are kept: reading them reports why they are not images. A path that does not exist raises
    :class:`UsageError`.
    """
    found = FoundFiles()
    several = len(paths) > 1
    for given in paths:
        if is_url(given):
            _find_url(str(given), found, all_files=all_files, several=several)
            continue
        root = Path(given)
        if not root.exists() and not root.is_symlink():
            raise UsageError(f"no such file or folder: {display_id(root)}")
        if not root.is_dir():
            found.paths.append(root)
            found.ids.append(display_id(given))
            continue
        prefix = f"{display_id(root.resolve().name)}/" if several else ""
        _walk_folder(root, prefix, found, all_files=all_files)
    _check_unique(found)
    return found


def _walk_folder(root: Path, prefix: str, found: FoundFiles, *, all_files: bool) -> None:
    """Add the files under ``root`` to ``found``; folders passed over go to ``found.skipped``.

    A folder that cannot be listed (permissions, vanished) and a symlinked folder (not followed:
    it may loop or leave the tree) are named with the reason instead of disappearing silently.
    """

    def unreadable(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else root
        rel = display_id(root) if where == root else prefix + display_id(where.relative_to(root)) + "/"
        found.skipped.append((rel, f"cannot read folder: {exc.strerror or exc}"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable, followlinks=False):
        for name in sorted(dirnames):
            if os.path.islink(os.path.join(dirpath, name)):
                rel = prefix + display_id((Path(dirpath) / name).relative_to(root))
                found.skipped.append((rel + "/", "symlinked folder, not followed (name its target to include it)"))
        dirnames[:] = sorted(d for d in dirnames if not os.path.islink(os.path.join(dirpath, d)))
        for name in sorted(filenames):
            p = Path(dirpath) / name
            rel = prefix + display_id(p.relative_to(root))
            if not all_files and p.suffix.lower() not in IMAGE_SUFFIXES:
                found.skipped.append((rel, "no image suffix (pass --all-files to include it)"))
                continue
            found.paths.append(p)
            found.ids.append(rel)


def _check_unique(found: FoundFiles) -> None:
    seen: dict[str, int] = {}
    for i in found.ids:
        seen[i] = seen.get(i, 0) + 1
    dupes = [i for i, c in seen.items() if c > 1]
    if dupes:
        raise UsageError(f"two inputs have the same id {dupes[0]!r}; name each folder once")


def _find_url(url: str, found: FoundFiles, *, all_files: bool, several: bool) -> None:
    """Expand an fsspec URL (a file, or a folder searched recursively) into URL inputs.

    Images stay where they are: workers read each URL themselves (:func:`imageio.read_url`).
    """
    try:
        import fsspec
    except ImportError:
        raise UsageError(
            "reading URLs needs fsspec: pip install fsspec (or install hashbench with its [cluster] extra)"
        ) from None
    try:
        fs, root = fsspec.core.url_to_fs(url)
        is_dir = fs.isdir(root)
        if not is_dir and not fs.exists(root):
            raise UsageError(f"no such file or folder: {url}")
        files = sorted(fs.find(root)) if is_dir else [root]
    except (OSError, ValueError, ImportError) as exc:
        raise UsageError(f"cannot list {url}: {exc}") from None
    base = root.rstrip("/")
    prefix = f"{base.rsplit('/', 1)[-1]}/" if several and is_dir else ""
    for f in files:
        rel = prefix + f[len(base) + 1 :] if is_dir else url
        if is_dir and not all_files and Path(f).suffix.lower() not in IMAGE_SUFFIXES:
            found.skipped.append((rel, "no image suffix (pass --all-files to include it)"))
            continue
        found.paths.append(fs.unstrip_protocol(f) if is_dir else url)
        found.ids.append(rel)
