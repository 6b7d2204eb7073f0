"""The video ``command`` hasher: a licensed video matcher nobody can ship, run as a program.

The protocol mirrors the image command hasher's (:mod:`hashbench.hashers.external`), one video
per run of the program, without a shell:

* stdin: the video's absolute path and a newline (a path holding a line break fails that video);
* stdout: one line per sampled frame, in time order::

      <timestamp> <hex> [<quality>]

  ``timestamp`` in seconds (a decimal number, finite, >= 0, never decreasing), ``hex`` the frame
  hash, exactly ``ceil(nbits / 4)`` hex digits (``0x`` optional; a short answer is an error, never
  zero-padded), ``quality`` an optional integer 0-100 (a frame without one is never filtered out
  by a rule's quality floor). Blank lines are ignored. The frame number recorded for a line is
  its position (0, 1, ...), since the program samples the frames itself.
* a first line starting with ``error`` marks the video failed, the rest of the line its reason.

Safety, as for images: a program runs only when the user names it on the command line
(``hashbench run --config V.toml --allow-command PROGRAM``; a config names it in
``[hashers.commands.NAME]`` and nothing is run to check a config), within ``timeout`` seconds,
printing at most :data:`OUTPUT_LIMIT` bytes per stream; every bad answer (non-zero exit, timeout,
too much output, a malformed line) fails that video with its id and a one-line reason, quoted
with control characters escaped, and the run goes on.
"""

from __future__ import annotations

import math
import os
import shlex
from pathlib import Path
from typing import Any

import numpy as np

from ..bits import code_from_hex, nbytes_for
from ..errors import HasherError, UsageError
from ..hashers.external import _communicate, _quoted
from .decode import DecodeLimits, VideoError
from .hashers import VideoHash, VideoHasher, register
from .match import RULES

__all__ = ["VideoCommandHasher", "OUTPUT_LIMIT", "parse_output"]

#: Bytes a program may print for one video, on stdout and on stderr each (about 200,000 lines of
#: 256-bit hashes); past that it is killed and the video fails with that reason.
OUTPUT_LIMIT = 16 * 1024 * 1024


def _line(text: str, number: int, nbits: int) -> tuple[float, np.ndarray, int]:
    """One ``<timestamp> <hex> [<quality>]`` line: (timestamp, code, quality or -1)."""
    fields = text.split()
    if len(fields) not in (2, 3):
        raise VideoError(f"line {number}: {_quoted(text, 80)!r} is not '<timestamp> <hex> [<quality>]'")
    try:
        ts = float(fields[0])
    except ValueError:
        raise VideoError(f"line {number}: timestamp {_quoted(fields[0], 40)!r} is not a number") from None
    if not math.isfinite(ts) or ts < 0:
        raise VideoError(f"line {number}: timestamp {fields[0]!r} must be a finite number >= 0")
    digits = fields[1][2:] if fields[1].lower().startswith("0x") else fields[1]
    want = -(-nbits // 4)
    if len(digits) != want:
        raise VideoError(f"line {number}: hash {_quoted(fields[1], 40)!r} is not {want} hex digits ({nbits} bits)")
    try:
        code = code_from_hex(fields[1], nbits)
    except ValueError as exc:
        raise VideoError(f"line {number}: {_quoted(str(exc), 120)}") from None
    quality = -1
    if len(fields) == 3:
        if not fields[2].isdigit() or int(fields[2]) > 100:
            raise VideoError(f"line {number}: quality {_quoted(fields[2], 20)!r} is not an integer 0-100")
        quality = int(fields[2])
    return ts, code, quality


def parse_output(out: str, nbits: int) -> VideoHash:
    """The program's answer for one video as a :class:`VideoHash` (see the module docstring)."""
    lines = [(k, t.strip()) for k, t in enumerate(out.splitlines(), 1) if t.strip()]
    if lines and lines[0][1].lower().startswith("error"):
        raise VideoError(_quoted(lines[0][1][5:].lstrip(" :")) or "the program reported an error")
    if not lines:
        raise VideoError("the program printed no frame hash")
    rows = [_line(t, k, nbits) for k, t in lines]
    ts = np.array([r[0] for r in rows], dtype=np.float64)
    if np.any(np.diff(ts) < 0):
        k = int(np.argmax(np.diff(ts) < 0)) + 1
        raise VideoError(f"line {lines[k][0]}: timestamp {ts[k]:g} goes back in time (after {ts[k - 1]:g})")
    codes = np.zeros((len(rows), nbytes_for(nbits)), dtype=np.uint8)
    for i, r in enumerate(rows):
        codes[i] = r[1]
    return VideoHash(
        codes=codes,
        quality=np.array([r[2] for r in rows], dtype=np.int16),
        frame=np.arange(len(rows), dtype=np.int64),
        timestamp=ts,
    )


@register("command", argument="PROGRAM ARGS")
class VideoCommandHasher(VideoHasher):
    """Run a program as a video hasher: a video path on stdin, ``<timestamp> <hex> [<quality>]`` per frame out."""

    nbits = 0  # set per instance
    library = "external"
    description = "an external program: a video path on stdin, '<timestamp> <hex> [<quality>]' per sampled frame"
    rule = "any-frame"

    def __init__(
        self,
        command: str = "",
        *,
        nbits: int = 0,
        name: str | None = None,
        rule: str = "any-frame",
        timeout: float = 600.0,
        limits: DecodeLimits | None = None,
    ) -> None:
        super().__init__(limits)
        if not command.strip():
            raise UsageError("the video command hasher needs a program: [hashers.commands.NAME] program = '...'")
        if not (isinstance(nbits, int) and nbits > 0):
            raise UsageError(f"video command hasher: nbits must be a positive integer, got {nbits!r}")
        if rule not in RULES:
            raise UsageError(f"video command hasher: unknown rule {rule!r}; rules: {', '.join(RULES)}")
        if not timeout > 0:
            raise UsageError("video command hasher: timeout must be positive (seconds)")
        self.argv = shlex.split(command)
        self.command = command
        self.timeout = float(timeout)
        # Per instance, like the image command hasher's (VideoHasher declares them per class).
        self.nbits = nbits  # type: ignore[misc]
        self.rule = rule  # type: ignore[misc]
        if name:
            self.name = name  # type: ignore[misc]

    def params(self) -> dict[str, Any]:
        return {"command": self.command, "nbits": self.nbits, "rule": self.rule, "timeout": self.timeout}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "version": self.command, "command": self.command}

    def hash_video(self, path: str | Path) -> VideoHash:
        p = Path(path)
        if not p.is_file():
            raise VideoError("no such file" if not p.exists() else "not a regular file")
        raw = os.fsencode(p.resolve())
        if b"\n" in raw or b"\r" in raw:
            raise VideoError("the file name holds a line break, which the one-line protocol cannot send")
        try:
            code, out, err = _communicate(self.argv, raw + b"\n", self.timeout, OUTPUT_LIMIT)
        except HasherError as exc:
            raise VideoError(str(exc)) from None
        if code != 0:
            last = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
            raise VideoError(f"program {self.argv[0]!r} exited with {code}: {_quoted(last[0])}")
        return parse_output(out.decode("utf-8", "replace"), self.nbits)
