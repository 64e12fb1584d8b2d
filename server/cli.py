"""``tessera``: the one command line of the project.

Subcommands come from the SDK (``materialize``, ``codeloc``) and from the server
(``server``, ``dev``, ``migrate``); each imports its machinery only when it runs.
"""

from __future__ import annotations

import argparse
import sys

from codeloc import cli as codeloc_cli

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tessera",
        description="Tessera: software-defined assets across code locations.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    codeloc_cli.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
