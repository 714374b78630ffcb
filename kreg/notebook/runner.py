"""What one ``%%kcompile`` cell does, in order, so that a failure changes nothing.

1. find the model; 2. choose the strategy; 3. resolve the cell (components are
built inside the strategy's scope); 4. ``--dry-run`` stops here; 5. rebuild the
model in scope (strategy or mixed precision) if needed; 6. compile and fit;
7. only then replace the user's variable, and store the :class:`~kreg.train.Run`.
A fault during training (a callback's exception, out of memory, a failed step)
still does 7 with the partial Run, then is reported as an error.
"""

from __future__ import annotations

from difflib import get_close_matches
from typing import Any

from kreg.cellparse import Cell
from kreg.errors import KregError


def run_kcompile(shell: Any, model_name: str, cell: Cell, options: Any, arguments: Any) -> Any:
    """Run a parsed ``%%kcompile`` cell in ``shell``; return the Run (None for --dry-run)."""
    namespace = shell.user_ns
    model = _model(namespace, model_name)
    import keras

    from kreg import train
    from kreg.spec import resolve_cell

    try:
        placement = train.place(options.strategy, model)
    except train.TrainingSetupError as error:
        raise KregError(str(error)) from None
    with placement.strategy.scope():
        spec = resolve_cell(cell, namespace)
    if arguments.dry_run:
        _show_dry_run(spec, model_name, placement, options)
        return None
    if getattr(arguments, "export", None):
        from kreg.export import check_exportable

        check_exportable(spec)  # before training: say now, not after an hour of it
    previous_policy = keras.mixed_precision.global_policy()
    notes = []
    fault = None
    try:
        target = model
        policy = None
        if options.mixed_precision:
            import tensorflow as tf

            on_gpu = bool(tf.config.list_logical_devices("GPU"))
            policy = "mixed_float16" if on_gpu else "mixed_bfloat16"
            keras.mixed_precision.set_global_policy(policy)
        if policy is not None or train.needs_rebuild(model, placement):
            try:
                target = train.rebuild(model, placement, dtype=policy)
            except Exception as error:
                raise KregError(
                    f"{model_name} must be rebuilt for {placement.name} / "
                    f"{policy or 'its precision'} but cannot be cloned ({type(error).__name__}: "
                    f"{error}); build it inside `with strategy.scope():` yourself"
                ) from None
            notes.append(
                f"{model_name} was rebuilt in the {placement.name} strategy's scope"
                + (f" with the {policy} policy" if policy else "")
                + f" (weights copied); `{model_name}` now names the new model"
            )
            if policy == "mixed_float16":
                spec.compile_args["optimizer"] = keras.optimizers.LossScaleOptimizer(
                    spec.compile_args.get("optimizer", keras.optimizers.RMSprop())
                )
        run = train.train(
            target, spec, options, placement, model_name=model_name, announce=_announce
        )
    except train.TrainingFault as error:  # the partial run is stored below, then reported
        fault, run = error, error.run
    except KregError:  # CellError included: already says what and where
        raise
    except Exception as error:
        raise KregError(
            f"Keras refused the configuration: {type(error).__name__}: {error}"
        ) from error
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)
    if target is not model:
        namespace[model_name] = target
    run.notes[:0] = notes
    for note in notes:
        print(f"kreg: {note}")
    if run.stopped and fault is None:
        print(f"kreg: stopped early: {run.stopped}")
    import kreg

    kreg.last_run = run
    if arguments.output:
        namespace[arguments.output] = run
    if fault is not None:
        where = f"`{arguments.output}` and kreg.last_run" if arguments.output else "kreg.last_run"
        raise KregError(
            f"{fault} The partial run is in {where}; its .error holds the exception and traceback."
        ) from fault
    if getattr(arguments, "export", None):
        folder = run.export(arguments.export)
        print(f"kreg: exported to {folder}; train it anywhere with `kreg train {folder}`")
    return run


def _model(namespace: dict[str, Any], name: str) -> Any:
    if name not in namespace:
        variables = [k for k in namespace if isinstance(k, str) and not k.startswith("_")]
        close = get_close_matches(name, variables, n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise KregError(f"%%kcompile {name}: no variable named {name!r} in the notebook.{hint}")
    model = namespace[name]
    import keras

    if not isinstance(model, keras.Model):
        raise KregError(
            f"%%kcompile {name}: {name!r} is a {type(model).__name__}, not a keras.Model; "
            "build the model first (e.g. keras.Sequential([...]))"
        )
    return model


def _announce(line: str) -> None:
    print(f"kreg: {line}")


class DryRun:
    """What a ``--dry-run`` cell would do: Markdown in a notebook, plain text elsewhere."""

    def __init__(self, spec: Any, model_name: str, placement: Any) -> None:
        self.spec, self.model_name, self.placement = spec, model_name, placement

    def _lines(self, code: str) -> list[str]:
        lines = [f"dry run: nothing was compiled. Placement: {self.placement.describe()}.", ""]
        lines += [f"- {key} = {code_of}" for key, code_of in self.spec.code.items()]
        lines += [f"- note: {note}" for note in self.spec.notes]
        return [*lines, "", "Plain Keras equivalent:", "", code]

    def __repr__(self) -> str:
        return "\n".join(self._lines(self.spec.to_code(self.model_name)))

    def _repr_markdown_(self) -> str:
        code = f"```python\n{self.spec.to_code(self.model_name)}\n```"
        return "\n".join(self._lines(code))


def _show_dry_run(spec: Any, model_name: str, placement: Any, options: Any) -> None:
    from IPython.display import display

    display(DryRun(spec, model_name, placement))
