"""Argument types shared by every sub-command, so one option means one thing everywhere.

``--workers`` rule (every command): N >= 1 worker processes; 0 means "all the CPUs this process
may use" (the same as leaving it out); a negative count is refused. Counts and sizes that cannot
be negative are parsed by :func:`non_negative_int` / :func:`positive_int`, so a bad value is one
line from argparse (exit 2) rather than a traceback deep in the library.
"""

from __future__ import annotations

import argparse

from ..cpus import default_workers

__all__ = ["WORKERS_HELP", "add_workers", "non_negative_int", "positive_int", "workers_count"]

WORKERS_HELP = "worker processes; 0 or left out: all the CPUs available (here {n})"


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def workers_count(text: str) -> int:
    """``--workers``: a count >= 1, with 0 meaning every available CPU (see the module docstring)."""
    n = _int(text)
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (all CPUs) or a positive count, got {n}")
    return n or default_workers()


def non_negative_int(text: str) -> int:
    """A count that may be 0 but not negative (a radius, a number of rows to show)."""
    n = _int(text)
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {n}")
    return n


def positive_int(text: str) -> int:
    """A count that must be at least 1 (images to make, a quality level)."""
    n = _int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def add_workers(parser: argparse.ArgumentParser, default_text: str | None = None) -> None:
    """Add the one ``--workers`` option; ``default_text`` replaces the help's default clause."""
    help_text = WORKERS_HELP.format(n=default_workers())
    if default_text:
        help_text = f"worker processes; 0: all the CPUs available (here {default_workers()}); default: {default_text}"
    parser.add_argument("--workers", type=workers_count, default=None, metavar="N", help=help_text)
