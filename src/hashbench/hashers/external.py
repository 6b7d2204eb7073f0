"""Hashers that run an external program, for matchers nobody can ship (PhotoDNA, NeuralHash).

The protocol is deliberately small so that any licensed hasher can be wrapped in a few lines:
the program reads image paths on stdin and writes one answer per path, in the same order,
holding the hash as hex (``0x`` optional, exactly ``ceil(nbits / 4)`` digits: a short answer is
an error, never zero-padded). An answer that starts with ``error`` marks that image as failed,
with the rest of it as the reason. The program runs once per batch, without a shell.

Two framings (``protocol``):

* ``"lines"`` (the default): each path and each answer ends with a newline. A file whose path
  holds a line break cannot be framed this way: that image fails with its reason and the rest of
  the batch is hashed (a newline inside a name would otherwise shift every later answer).
* ``"nul"``: each path and each answer ends with a NUL byte, which no path can hold.

A command hasher declares its ``name`` and ``nbits`` (``[hashers.commands.NAME]`` in a run
config), and ``exact = true`` when its hash is a cryptographic digest or any other hash whose only
meaningful match is an identical one (see :attr:`Hasher.exact`). Only when ``nbits`` is not
given (``hashbench hash --hasher command:PROGRAM``) is the program asked to hash a small gradient
once to learn the width from its answer.

Output is capped: a program may print at most :data:`OUTPUT_BASE_BYTES` plus
:data:`OUTPUT_BYTES_PER_IMAGE` per image of a batch, on stdout and on stderr each; past that it
is killed and the batch fails with that reason, so a program that prints forever cannot fill
memory. Reasons and stderr lines from the program are quoted with control characters escaped, so
a file name cannot forge lines of hashbench's own output.

Items that exist only as pixels are written to a temporary PNG (lossless) so the program sees the
same pixels as every other hasher.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image

from ..bits import code_from_hex, nbytes_for
from ..errors import HasherError, UsageError
from .base import HashBatch, Hasher, HashOutput, ImageItem, register

__all__ = ["CommandHasher", "OUTPUT_BASE_BYTES", "OUTPUT_BYTES_PER_IMAGE"]

#: Output a program may print for a batch, on stdout and on stderr each: this much, plus
#: :data:`OUTPUT_BYTES_PER_IMAGE` for each image (a 4096-bit hash is 1,024 hex digits).
OUTPUT_BASE_BYTES = 64 * 1024
OUTPUT_BYTES_PER_IMAGE = 4 * 1024
_SEPARATOR = {"lines": b"\n", "nul": b"\0"}


def _quoted(text: str, limit: int = 300) -> str:
    """``text`` with control characters escaped and cut to ``limit``: safe to print on one line."""
    out = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return out if len(out) <= limit else out[:limit] + "..."


@register("command", argument="PROGRAM ARGS")
class CommandHasher(Hasher):
    """Run ``command`` (a shell-style string, run without a shell) as a hasher; see the module docstring."""

    name = "command"
    nbits = 0  # set per instance
    kind = "external"
    needs = "path"
    library = "external"
    description = "an external program: image paths on stdin, one hex hash per line (or NUL-terminated) on stdout"

    def __init__(
        self,
        command: str = "",
        *,
        nbits: int | None = None,
        name: str | None = None,
        timeout: float = 600.0,
        protocol: str = "lines",
        exact: bool = False,
    ) -> None:
        if not command.strip():
            raise UsageError("the command hasher needs a program: --hasher 'command:/path/to/program ARGS'")
        if protocol not in _SEPARATOR:
            raise UsageError(f"command hasher: protocol must be 'lines' or 'nul', got {protocol!r}")
        self.argv = shlex.split(command)
        self.command = command
        self.timeout = timeout
        self.protocol = protocol
        self.exact = exact
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
        info["protocol"] = self.protocol
        return info

    def _probe_nbits(self) -> int:
        """Hash a small gradient once to learn the hash length from the program's answer."""
        probe = np.repeat(np.linspace(0, 255, 64, dtype=np.uint8)[None, :, None], 3, axis=2).repeat(64, axis=0)
        try:
            text = self._run([ImageItem(id="probe", pixels=probe)])[0].strip()
        except HasherError as exc:
            raise UsageError(f"command hasher {self.command!r} failed on a probe image: {exc}") from None
        if text.lower().startswith("error"):
            raise UsageError(
                f"command hasher {self.command!r} declined the 64x64 probe image ({_quoted(text)}); "
                "declare its nbits instead of probing ([hashers.commands.NAME] nbits = N)"
            )
        digits = text[2:] if text.lower().startswith("0x") else text
        try:
            int(digits, 16)
        except ValueError:
            raise UsageError(f"command hasher {self.command!r} printed {_quoted(text)!r}, not a hex hash") from None
        return 4 * len(digits)

    def _unframable(self, item: ImageItem) -> str | None:
        """Why this item's path cannot be sent in this protocol, or None."""
        if self.protocol == "lines" and item.path is not None and any(c in str(item.path) for c in "\n\r"):
            return "the file name holds a line break; declare protocol = 'nul' to hash it"
        return None

    def _paths(self, items: Sequence[ImageItem], tmp: str) -> list[bytes]:
        """The path the program reads for each item: the file itself, or a temporary lossless PNG."""
        paths = []
        for i, item in enumerate(items):
            if item.path is not None:
                paths.append(os.fsencode(Path(item.path).resolve()))
            elif item.pixels is not None:
                p = Path(tmp) / f"{i:08d}.png"
                Image.fromarray(item.pixels).save(p)
                paths.append(os.fsencode(p))
            else:
                raise HasherError(f"{item.id}: neither a path nor pixels to give the program")
        sep = _SEPARATOR[self.protocol]
        if any(sep in p or (self.protocol == "lines" and b"\r" in p) for p in paths):
            raise HasherError(f"a path cannot be framed by the {self.protocol!r} protocol")
        return paths

    def _run(self, items: Sequence[ImageItem]) -> list[str]:
        """Run the program once on ``items``; its answers, one per item, in order."""
        sep = _SEPARATOR[self.protocol]
        limit = OUTPUT_BASE_BYTES + OUTPUT_BYTES_PER_IMAGE * len(items)
        with tempfile.TemporaryDirectory(prefix="hashbench-cmd-") as tmp:
            data = b"".join(p + sep for p in self._paths(items, tmp))
            code, out, err = _communicate(self.argv, data, self.timeout, limit)
        if code != 0:
            last = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
            raise HasherError(f"program {self.argv[0]!r} exited with {code}: {_quoted(last[0])}")
        answers = out.split(sep)
        if answers and answers[-1] in (b"", b"\r"):
            answers.pop()
        if len(answers) != len(items):
            raise HasherError(f"program {self.argv[0]!r} printed {len(answers)} answers for {len(items)} images")
        return [a.decode("utf-8", "replace") for a in answers]

    def hash_one(self, item: ImageItem) -> HashOutput:
        batch = self.hash_many([item])
        if batch.errors[0] is not None:
            raise HasherError(batch.errors[0])
        return HashOutput(code=batch.codes[0])

    def _parse(self, answer: str) -> np.ndarray:
        """One answer: ``error ...`` (the reason, quoted) or exactly ``ceil(nbits / 4)`` hex digits."""
        text = answer.strip()
        if text.lower().startswith("error"):
            raise HasherError(_quoted(text[5:].lstrip(" :")) or "the program reported an error")
        digits = text[2:] if text.lower().startswith("0x") else text
        if len(digits) != -(-self.nbits // 4):
            raise HasherError(
                f"answer {_quoted(text, 80)!r} is not {-(-self.nbits // 4)} hex digits ({self.nbits} bits)"
            )
        return code_from_hex(text, self.nbits)

    def hash_many(self, items: Sequence[ImageItem]) -> HashBatch:
        """One program run per batch; a failed run marks every item it was given with its reason.

        Items whose path the protocol cannot frame fail alone, before the run."""
        n = len(items)
        codes = np.zeros((n, nbytes_for(self.nbits)), dtype=np.uint8)
        errors: list[str | None] = [self._unframable(item) for item in items]
        sent = [i for i in range(n) if errors[i] is None]
        if not sent:
            return HashBatch(codes=codes, errors=errors)
        try:
            answers = self._run([items[i] for i in sent])
        except HasherError as exc:
            for i in sent:
                errors[i] = str(exc)
            return HashBatch(codes=codes, errors=errors)
        for i, answer in zip(sent, answers, strict=True):
            try:
                codes[i] = self._parse(answer)
            except (HasherError, ValueError) as exc:
                errors[i] = str(exc)
        return HashBatch(codes=codes, errors=errors)


def _communicate(argv: list[str], data: bytes, timeout: float, limit: int) -> tuple[int, bytes, bytes]:
    """Run ``argv`` with ``data`` on stdin; (exit code, stdout, stderr), each stream at most ``limit`` bytes.

    Unlike ``subprocess.run(capture_output=True)`` nothing is buffered without bound: a stream
    that passes ``limit`` kills the program and fails the batch with that reason.
    """
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        raise UsageError(f"command hasher: program not found: {argv[0]!r}") from None
    except (PermissionError, NotADirectoryError) as exc:
        raise UsageError(f"command hasher: cannot run {argv[0]!r}: {exc.strerror or exc}") from None
    over: list[str] = []
    bufs = {"stdout": bytearray(), "stderr": bytearray()}

    def read(stream: IO[bytes], label: str) -> None:
        buf = bufs[label]
        while chunk := stream.read(65536):
            if len(buf) + len(chunk) > limit:
                over.append(label)
                proc.kill()
                return
            buf += chunk

    def write() -> None:
        try:
            assert proc.stdin is not None
            proc.stdin.write(data)
            proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass  # the program stopped reading; its exit code and output say why

    assert proc.stdout is not None and proc.stderr is not None
    threads = [
        threading.Thread(target=read, args=(proc.stdout, "stdout"), daemon=True),
        threading.Thread(target=read, args=(proc.stderr, "stderr"), daemon=True),
        threading.Thread(target=write, daemon=True),
    ]
    for t in threads:
        t.start()
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise HasherError(f"program {argv[0]!r} timed out after {timeout:g} s") from None
    finally:
        for t in threads:
            t.join(timeout=5)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    if over:
        raise HasherError(
            f"program {argv[0]!r} printed more than {limit:,} bytes on {over[0]} (the limit for this batch)"
        )
    return code, bytes(bufs["stdout"]), bytes(bufs["stderr"])
