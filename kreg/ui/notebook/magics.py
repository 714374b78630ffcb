"""``%%kcompile`` and ``%kreg``: IPython magics that parse, display and delegate.

Loading them (``%load_ext kreg``) imports no TensorFlow; the first cell that
trains does. Every user error is an IPython ``UsageError`` naming the line and
column, shown without a traceback, and raised before the model is touched.
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from kreg.errors import KregError
from kreg.training.options import STRATEGIES, RunOptions


@magics_class
class KregMagics(Magics):
    """The magics registered by ``%load_ext kreg``."""

    @magic_arguments()
    @argument("model", help="name of the Keras model variable")
    @argument("-o", "--output", help="store the Run in this variable")
    @argument("--dry-run", action="store_true", help="show the resolved cell; change nothing")
    @argument("--no-preflight", action="store_true", help="skip kreg.preflight's checks")
    @argument("--force", action="store_true", help="train even when preflight finds errors")
    @argument("--no-plot", action="store_true", help="progress line only, no live plot")
    @argument(
        "--keep",
        choices=("best",),
        help="compare(...): put the best run's model in the model's place",
    )
    @argument("--rank-by", metavar="METRIC", help="compare(...): rank runs by this (val_loss)")
    @argument("--strategy", default="auto", help=f"one of {', '.join(STRATEGIES)}")
    @argument("--mixed-precision", action="store_true", help="float16 on GPU, bfloat16 elsewhere")
    @argument("--jit", action="store_true", help="compile with XLA")
    @argument("--no-jit", action="store_true", help="never compile with XLA")
    @argument("--steps-per-execution", default="auto", help="auto or a whole number")
    @argument("--verbose", default="0", help="Keras's fit verbosity: 0, 1 or 2")
    @argument(
        "--export",
        metavar="PATH",
        help="after the run, write it to the folder PATH for `kreg train` (see Run.export)",
    )
    @cell_magic
    def kcompile(self, line: str, cell: str) -> None:
        """Compile (and train, when the cell sets ``x``) a Keras model from ``key = value`` lines.

        Example (in a notebook)::

            %%kcompile model -o run
            loss = huber(delta=1.5)
            optimizer = adam(learning_rate=exponential_decay(
                initial_learning_rate=0.01, decay_steps=1000, decay_rate=0.9))
            metrics = [mae, rmse]
            x = x_train
            y = y_train
            epochs = 5
        """
        arguments = parse_argstring(self.kcompile, line)
        from kreg.cell.alternatives import compared_keys
        from kreg.cell.parse import parse_cell
        from kreg.ui.comparison import run_comparison
        from kreg.ui.notebook.runner import run_kcompile

        try:
            options = _options(arguments)
            cell_tree = parse_cell(cell, first_line=2)
            if compared_keys(cell_tree):
                run_comparison(
                    self.shell.user_ns,
                    arguments.model,
                    cell_tree,
                    options,
                    output=arguments.output,
                    dry_run=arguments.dry_run,
                    plot=not arguments.no_plot,
                    keep_best=arguments.keep == "best",
                    rank_by=arguments.rank_by,
                )
                return
            if arguments.keep or arguments.rank_by:
                raise UsageError(
                    "--keep and --rank-by rank the runs of compare(...), and this cell has none"
                )
            run_kcompile(
                self.shell.user_ns,
                arguments.model,
                cell_tree,
                options,
                output=arguments.output,
                dry_run=arguments.dry_run,
                plot=not arguments.no_plot,
            )
        except KregError as error:  # CellError included: it names the line and column
            raise UsageError(str(error)) from None

    @line_magic
    def kreg(self, line: str) -> Any:
        """``%kreg list [PATTERN] [--kind K] | show NAME | check NAME|--all|--plugin P | plugins``.

        Example (in a notebook)::

            %kreg list *crossentropy*
            %kreg check huber
        """
        from kreg.ui.cli import parser

        try:
            words = shlex.split(line)
        except ValueError as error:
            raise UsageError(f"%kreg: {error}") from None
        if not words:
            raise UsageError("%kreg list | show NAME | check NAME | plugins | ui MODEL | browse")
        if words[0] in ("ui", "browse"):
            return self._widget(words)
        try:
            arguments = parser().parse_args(words)
        except SystemExit:
            raise UsageError(
                "%kreg list [PATTERN] [--kind K] | show NAME | check NAME|--all|--plugin P | "
                "plugins | ui MODEL [X Y] | browse"
            ) from None
        try:
            return _line_command(arguments)
        except KregError as error:
            raise UsageError(str(error)) from None

    def _widget(self, words: list[str]) -> Any:
        """``%kreg ui MODEL [X Y]`` and ``%kreg browse``."""
        from kreg.ui.widgets import Browser, CompileWidget

        if words[0] == "browse":
            return Browser()
        if len(words) not in (2, 4):
            raise UsageError("%kreg ui MODEL [X Y]: a model variable, optionally x and y")
        namespace = self.shell.user_ns
        missing = [name for name in words[1:] if name not in namespace]
        if missing:
            raise UsageError(f"%kreg ui: no variable named {missing[0]!r} in the notebook")
        values = [namespace[name] for name in words[1:]]
        widget = CompileWidget(*values, model_name=words[1])
        if len(words) == 4:
            widget.names.update(x=words[2], y=words[3])
            widget._refresh_views()
        return widget


def _options(arguments: Any) -> RunOptions:
    """The run options of the flags (:class:`RunOptions` checks their values)."""
    if arguments.jit and arguments.no_jit:
        raise UsageError("give --jit or --no-jit, not both")
    spe = arguments.steps_per_execution
    verbose = arguments.verbose
    return RunOptions(
        strategy=arguments.strategy,
        mixed_precision=arguments.mixed_precision,
        jit=True if arguments.jit else False if arguments.no_jit else None,
        steps_per_execution=int(spe) if spe.isdigit() else spe,
        verbose=int(verbose) if verbose.isdigit() else verbose,
        export=arguments.export,
        preflight=not arguments.no_preflight,
        force=arguments.force,
    )


def _line_command(arguments: argparse.Namespace) -> object:
    from kreg.registry.catalog import CATALOG
    from kreg.ui.describe import chosen_entries, entry_details, signature, summary_or_rejection
    from kreg.ui.tables import HTMLTable

    if arguments.command == "list":
        found = CATALOG.entries(arguments.kind, arguments.pattern)
        rows = [
            [e.name, e.kind, e.plugin, ", ".join(e.aliases[:4]), summary_or_rejection(e)]
            for e in found
        ]
        return HTMLTable(
            ["name", "kind", "provider", "aliases", "summary"], rows, f"{len(found)} entries"
        )
    if arguments.command == "show":
        entry = CATALOG.lookup(arguments.name, arguments.kind)
        details = {**entry_details(entry), "signature": signature(entry)}
        rows = [
            [key, ", ".join(v) if isinstance(v, list) else str(v)] for key, v in details.items()
        ]
        return HTMLTable(["field", "value"], rows, entry.qualified_name)
    if arguments.command == "plugins":
        rows = [
            [
                info.name,
                info.version or "-",
                info.status + (" (slow)" if info.slow else ""),
                f"{info.load_seconds:.2f} s",
                ", ".join(f"{k}: {v}" for k, v in info.counts.items()),
                "; ".join(x for x in (info.error, info.note) if x),
            ]
            for info in CATALOG.plugins()
        ]
        return HTMLTable(["plugin", "version", "status", "import", "entries", "notes"], rows)
    if arguments.command == "check":
        from kreg.registry.checking import check, check_many

        if arguments.name and not (arguments.all or arguments.plugin):
            return check(arguments.name, arguments.kind)
        found = chosen_entries(arguments.name, arguments.plugin, arguments.all, arguments.kind)
        reports = check_many(found)
        rows = [
            [
                r.subject,
                "ok" if r.ok else "FAILED",
                "; ".join(f"{c.name}: {c.message}" for c in r.failures),
            ]
            for r in reports
        ]
        passed = sum(r.ok for r in reports)
        return HTMLTable(["component", "result", "failures"], rows, f"{passed}/{len(rows)} passed")
    raise UsageError(f"%kreg {arguments.command} is not available in a notebook")


def load_ipython_extension(shell: Any) -> None:
    """Register ``%%kcompile``, ``%kreg`` and cell completion (``%load_ext kreg``)."""
    shell.register_magics(KregMagics)
    from kreg.ui.notebook.completer import install

    install(shell)
