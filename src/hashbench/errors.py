"""The exceptions hashbench raises on purpose, so the CLI can turn each into a clear message.

``UsageError`` is the user's to fix (unknown name, bad value, unwritable path): the CLI prints
one line and exits 2, with no traceback unless ``--debug``. ``ImageDecodeError`` belongs to one
item and never stops a run: it is recorded with the item's id and reason.
"""

from __future__ import annotations

__all__ = ["HashbenchError", "UsageError", "ImageDecodeError", "HasherError"]


class HashbenchError(Exception):
    """Base class of every error hashbench raises deliberately.

    ``exit_code`` is the command line's exit code for it: 2 (a usage error), unless a subclass
    says otherwise (a lost cluster: :class:`hashbench.cluster.ClusterError`, 4).
    """

    exit_code: int = 2


class UsageError(HashbenchError):
    """A request the user can correct: the message says what to do."""


class ImageDecodeError(HashbenchError):
    """One image could not be read or decoded; carries the item id and the reason.

    The run goes on: the item is reported with ``reason`` in the results and on stderr.
    """

    def __init__(self, item_id: str | None, reason: str) -> None:
        self.item_id = item_id
        self.reason = reason
        super().__init__(f"{item_id}: {reason}" if item_id is not None else reason)

    def __reduce__(self) -> tuple[type[ImageDecodeError], tuple[str | None, str]]:
        """Pickle both fields: the default passes only the message, so a worker's error would fail to
        unpickle in the parent (``__init__`` takes two arguments)."""
        return (type(self), (self.item_id, self.reason))


class HasherError(HashbenchError):
    """A hasher failed on one item (or, for an external program, on a batch)."""
