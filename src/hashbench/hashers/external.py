"""Hashers that run an external program, for matchers nobody can ship (PhotoDNA, NeuralHash).

The protocol is deliberately small so that any licensed hasher can be wrapped in a few lines:
the program reads image paths on stdin, one per line, and writes one line per path, in the same
order, holding the hash as hex (``0x`` optional). A line that starts with ``error`` marks that
image as failed, with the rest of the line as the reason. The program runs once per batch.

The hash length is taken from the first answer when not given: ``4 x`` the number of hex digits.
Items that exist only as pixels are written to a temporary PNG (lossless) so the program sees the
same pixels as every other hasher.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from ..bits import code_from_hex, nbytes_for
from ..errors import HasherError, UsageError
from .base import HashBatch, Hasher, HashOutput, ImageItem

__all__ = ["CommandHasher"]


class CommandHasher(Hasher):
    """Run ``command`` (a shell-style string) as a hasher; see the module docstring."""

    name = "command"
    nbits = 0  # set per instance
    kind = "external"
    needs = "path"
    library = "external"
    description = "an external program: image paths on stdin, one hex hash per line on stdout"

    def __init__(
        self,
        command: str = "",
        *,
        nbits: int | None = None,
        name: str | None = None,
        timeout: float = 600.0,
        protocol: str = "lines",
    ) -> None:
        if not command.strip():
            raise UsageError("the command hasher needs a program: --hasher 'command:/path/to/program ARGS'")
        if protocol not in ("lines", "nul"):
            raise UsageError(f"command hasher: protocol must be 'lines' or 'nul', got {protocol!r}")
        self.argv = shlex.split(command)
        self.command = command
        self.timeout = timeout
        self.protocol = protocol
        if name:
            self.name = name
        if nbits is None:
            nbits = self._probe_nbits()
        if nbits <= 0:
            raise UsageError(f"command hasher: nbits must be positive, got {nbits}")
        self.nbits = nbits

    def library_version(self) -> str:
        return self.command

    def describe(self) -> dict[str, object]:
        info = super().describe()
        info["command"] = self.command
        return info

    def _probe_nbits(self) -> int:
        """Hash a small gradient once to learn the hash length from the program's answer."""
        probe = np.repeat(np.linspace(0, 255, 64, dtype=np.uint8)[None, :, None], 3, axis=2).repeat(64, axis=0)
        lines = self._run([ImageItem(id="probe", pixels=probe)])
        text = lines[0].strip()
        if text.lower().startswith("error"):
            raise UsageError(f"command hasher {self.command!r} failed on a probe image: {text}")
        digits = text[2:] if text.lower().startswith("0x") else text
        try:
            int(digits, 16)
        except ValueError:
            raise UsageError(f"command hasher {self.command!r} printed {text!r}, not a hex hash") from None
        return 4 * len(digits)

    def _run(self, items: Sequence[ImageItem]) -> list[str]:
        with tempfile.TemporaryDirectory(prefix="hashbench-cmd-") as tmp:
            paths = []
            for i, item in enumerate(items):
                if item.path is not None:
                    paths.append(os.fsdecode(Path(item.path).resolve()))
                elif item.pixels is not None:
                    p = Path(tmp) / f"{i:08d}.png"
                    Image.fromarray(item.pixels).save(p)
                    paths.append(str(p))
                else:
                    raise HasherError(f"{item.id}: neither a path nor pixels to give the program")
            try:
                proc = subprocess.run(
                    self.argv,
                    input="".join(p + "\n" for p in paths),
                    capture_output=True,
                    text=True,
                    timeout=self.timeout,
                    check=False,
                )
            except FileNotFoundError:
                raise UsageError(f"command hasher: program not found: {self.argv[0]!r}") from None
            except subprocess.TimeoutExpired:
                raise HasherError(f"program {self.argv[0]!r} timed out after {self.timeout:g} s") from None
        if proc.returncode != 0:
            err = proc.stderr.strip().splitlines()[-1:] or ["no message"]
            raise HasherError(f"program {self.argv[0]!r} exited with {proc.returncode}: {err[0]}")
        lines = proc.stdout.splitlines()
        if len(lines) != len(items):
            raise HasherError(f"program {self.argv[0]!r} printed {len(lines)} lines for {len(items)} images")
        return lines

    def hash_one(self, item: ImageItem) -> HashOutput:
        return HashOutput(code=self._parse(self._run([item])[0]))

    def _parse(self, line: str) -> np.ndarray:
        text = line.strip()
        if text.lower().startswith("error"):
            raise HasherError(text[5:].lstrip(" :") or "the program reported an error")
        return code_from_hex(text, self.nbits)

    def hash_many(self, items: Sequence[ImageItem]) -> HashBatch:
        """One program run per batch; a failed run marks every item of the batch with its reason."""
        n = len(items)
        codes = np.zeros((n, nbytes_for(self.nbits)), dtype=np.uint8)
        errors: list[str | None] = [None] * n
        if n == 0:
            return HashBatch(codes=codes, errors=errors)
        try:
            lines = self._run(items)
        except HasherError as exc:
            return HashBatch(codes=codes, errors=[str(exc)] * n)
        for i, line in enumerate(lines):
            try:
                codes[i] = self._parse(line)
            except (HasherError, ValueError) as exc:
                errors[i] = str(exc)
        return HashBatch(codes=codes, errors=errors)
