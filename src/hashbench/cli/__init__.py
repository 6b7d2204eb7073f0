"""The ``hashbench`` command line: one sub-command, one call into the library.

Each module in this package registers a group of sub-commands with ``register(subparsers)``
and keeps only argument parsing and printing; the work is done by library modules. Errors the
user can fix (:class:`hashbench.errors.UsageError`) become one line on stderr and exit code 2
(or the error's own :attr:`~hashbench.errors.HashbenchError.exit_code`: a cluster that went
away exits 4); ``--debug`` (before or after the sub-command) shows the traceback. A closed stdout pipe ends the
command quietly with exit code 141. ``--workers`` means the same in every command (see
:mod:`hashbench.cli.options`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import HashbenchError

__all__ = ["main", "build_parser"]

# Modules of this package that add sub-commands, in the order --help lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "run",
    "hash",
    "datasets",
    "transforms",
    "report",
    "impostors",
)

DESCRIPTION = """\
Measure perceptual-hash matchers on benign images: how often they find altered copies of
known images, how often they wrongly match distinct images, and how fast.

Every command works offline. Run `hashbench COMMAND --help` for what it does and an example.
"""

EPILOG = """\
examples:
  hashbench run                                      the main job: the embedded default benchmark
  hashbench hashers                                  list the hashers and their libraries
  hashbench hash photos/ --hasher pdq,phash --out hashes.parquet
"""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples in descriptions and epilogs as written."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hashbench", description=DESCRIPTION, epilog=EPILOG, formatter_class=HelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"hashbench {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    _accept_debug_anywhere(sub)
    return parser


def _accept_debug_anywhere(sub: argparse._SubParsersAction) -> None:
    """Let ``--debug`` follow the sub-command too (``hashbench run --debug``), at every depth.

    SUPPRESS as the default keeps a sub-parser from resetting a ``--debug`` given before the
    sub-command to False.
    """
    for parser in set(sub.choices.values()):
        if "--debug" not in parser._option_string_actions:
            parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                _accept_debug_anywhere(action)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except HashbenchError as exc:  # UsageError and every other deliberate error
        if args.debug:
            raise
        print(f"hashbench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("hashbench: interrupted", file=sys.stderr)
        return 130


def _quiet_broken_pipe() -> int:
    """The reader of stdout went away (``hashbench transforms --json | head``): not an error.

    stdout is pointed at /dev/null so the interpreter's final flush does not raise again; exit
    code 141 (128 + SIGPIPE) is what a shell reports for a program killed by a closed pipe.
    """
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
