"""The ``kreg`` command: ``list``, ``show``, ``plugins``, ``check`` and ``train``.

``list`` and ``show`` never import TensorFlow; ``check`` runs the contract checks;
``train`` trains an export with ``tf.distribute``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from kreg.errors import KregError
from kreg.names import KINDS
from kreg.ui.cli import catalog, checks, train
from kreg.ui.cli import plugins as plugin_commands


def parser() -> argparse.ArgumentParser:
    """The argument parser of the ``kreg`` command."""
    main = argparse.ArgumentParser(
        prog="kreg",
        description="Browse and check the registry of Keras losses, metrics, optimizers and "
        "schedules.",
    )
    commands = main.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="list registered components")
    listing.add_argument("pattern", nargs="?", help="fnmatch pattern, e.g. '*crossentropy*'")
    listing.add_argument("--kind", choices=KINDS)
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(run=catalog.command_list)
    show = commands.add_parser("show", help="show one component")
    show.add_argument("name")
    show.add_argument("--kind", choices=KINDS)
    show.add_argument("--json", action="store_true")
    show.set_defaults(run=catalog.command_show)
    plugins = commands.add_parser("plugins", help="list plugins, failures and conflicts")
    plugins.add_argument("--json", action="store_true")
    plugins.add_argument(
        "--check",
        action="store_true",
        help="import every plugin entry and run the structural checks (imports TensorFlow)",
    )
    plugins.set_defaults(run=plugin_commands.command_plugins)
    checking = commands.add_parser("check", help="run the contract checks (exit 1 on failure)")
    checking.add_argument("name", nargs="?", help="a registered name, e.g. huber or acme:scaled")
    checking.add_argument("--plugin", help="check every entry of these plugins (comma-separated)")
    checking.add_argument("--all", action="store_true", help="check every registered entry")
    checking.add_argument("--kind", choices=KINDS)
    checking.add_argument("--json", action="store_true")
    checking.add_argument("-v", "--verbose", action="store_true", help="print every report")
    checking.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=0,
        help="processes to check in (default: up to 4 of the CPUs for 64 entries or more)",
    )
    checking.set_defaults(run=checks.command_check)
    train.add_train_command(commands)
    return main


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kreg`` console script.

    Example:
        >>> main(["list", "--kind", "schedule", "exponential*"])  # doctest: +ELLIPSIS
        NAME...exponential_decay...
        0
    """
    arguments = parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter
    try:
        code: int = arguments.run(arguments)
        return code
    except KregError as error:
        print(f"kreg: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
