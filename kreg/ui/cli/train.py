"""``kreg train``: train an export (``run.export``, ``%%kcompile --export``) with tf.distribute."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from kreg.training.options import STRATEGIES


def add_train_command(commands: Any) -> None:
    """``kreg train PATH``: train an export with ``tf.distribute`` (``train_export``)."""
    training = commands.add_parser(
        "train",
        help="train an exported run (run.export / %%%%kcompile --export) with tf.distribute",
    )
    training.add_argument("path", help="the export folder")
    training.add_argument(
        "--data", help="an .npz with x and y, a tf.data save folder, or module:function"
    )
    training.add_argument("--strategy", choices=STRATEGIES, default="auto")
    training.add_argument("--epochs", type=int, help="total epochs (default: the export's)")
    training.add_argument("--batch-size", type=int, help="global batch size, split per replica")
    training.add_argument(
        "--checkpoint-dir", help="save every epoch here; a restarted run resumes from the last"
    )
    training.add_argument("--output", help="where the chief writes model.keras and history.json")
    training.add_argument(
        "--cpu-devices", type=int, help="split the CPU into N logical devices (for mirrored)"
    )
    training.add_argument("--steps-per-execution", type=int)
    training.add_argument("--seed", type=int, default=0, help="the same on every worker")
    training.add_argument("--verbose", type=int, choices=(0, 1, 2), default=2)
    training.add_argument("--json", action="store_true", help="print the summary as JSON")
    training.add_argument("--force", action="store_true", help="train despite preflight errors")
    training.add_argument("--no-preflight", action="store_true", help="skip kreg.preflight")
    training.set_defaults(run=command_train)


def command_train(arguments: argparse.Namespace) -> int:
    """Run ``kreg train``; print the summary (``--json``: as JSON)."""
    from kreg.training.distributed import train_export

    summary = train_export(
        arguments.path,
        data=arguments.data,
        strategy=arguments.strategy,
        epochs=arguments.epochs,
        batch_size=arguments.batch_size,
        checkpoint_dir=arguments.checkpoint_dir,
        output=arguments.output,
        cpu_devices=arguments.cpu_devices,
        steps_per_execution=arguments.steps_per_execution,
        seed=arguments.seed,
        verbose=arguments.verbose,
        log=lambda line: print(line, file=sys.stderr if arguments.json else sys.stdout, flush=True),
        preflight=not arguments.no_preflight,
        force=arguments.force,
    )
    if arguments.json:
        print(json.dumps(summary))
    return 0
