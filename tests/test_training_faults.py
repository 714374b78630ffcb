"""Training faults in ``%%kcompile``: which weights the model keeps, and that nothing is left over.

Four faults, each at steps chosen by a seeded random generator: a KeyboardInterrupt (a kernel
interrupt), a NaN loss, an exception raised by a callback, and out of memory inside a step.
The weights kreg leaves are compared exactly with plain Keras trained for the same number of
steps from the same initial weights (``steps_per_execution=1``, ``shuffle=False``). After each
fault: the global dtype policy and the distribution strategy are the ones from before, and the
next ``%%kcompile`` in the same shell trains.

The contract (``kreg.training.fit.fit``): between steps (interrupt, a callback's exception) the
model keeps its last completed step; inside a step (NaN loss, out of memory, any error of the step
itself) the weights and optimizer variables are put back to the end of the last completed epoch
(or the start of training), because such a step has written NaN or may have applied part of
its updates.
"""

from __future__ import annotations

import functools
import random
import textwrap
from types import SimpleNamespace

import numpy as np
import pytest
from IPython.core.error import UsageError

import kreg
from tests import reliability

AREA = "training faults"
BATCH, STEPS, EPOCHS = 16, 4, 3  # 64 samples: 4 steps per epoch, 12 steps in all
TOTAL = STEPS * EPOCHS
RANDOM = random.Random(20240611)
OOM_MESSAGE = (
    "OOM when allocating tensor with shape[16,4] and type float on "
    "/job:localhost/replica:0/task:0/device:GPU:0 by allocator GPU_0_bfc"
)
CELL = """
    loss = mse
    optimizer = adam(learning_rate=0.01)
    x = x_train
    y = {y}
    epochs = 3
    batch_size = 16
    shuffle = False
    callbacks = [{callbacks}]
"""
NEXT_CELL = """
    loss = mse
    optimizer = adam(learning_rate=0.01)
    x = x_train
    y = y_train
    epochs = 1
    batch_size = 16
    shuffle = False
"""


def sample(population: range, count: int, *always: int) -> list[int]:
    """``count`` steps from ``population`` chosen by the seeded generator, plus ``always``."""
    return sorted({*always, *RANDOM.sample(population, count)})


@functools.cache
def helpers(keras):
    """The fault injectors (Keras classes, so built once Keras is imported)."""
    import tensorflow as tf

    class Poison(keras.layers.Layer):
        """Adds a non-trainable scalar (0, or NaN while a step is poisoned) to its input."""

        def build(self, input_shape):
            self.poison = self.add_weight(shape=(), initializer="zeros", trainable=False)

        def call(self, inputs):
            return inputs + keras.ops.cast(self.poison, inputs.dtype)

    class StepCounter(keras.callbacks.Callback):
        """Counts global steps: ``self.step`` is the 0-based index of the current step."""

        def on_train_begin(self, logs=None):
            self.step, self.done = -1, 0

        def on_train_batch_begin(self, batch, logs=None):
            self.step = self.done

        def on_train_batch_end(self, batch, logs=None):
            self.done += 1

    class Recorder(StepCounter):
        """Keeps the weights and optimizer variables after every step (``states[n]``)."""

        def __init__(self):
            super().__init__()
            self.states = []

        def _keep(self):
            optimizer = self.model.optimizer
            if not optimizer.built:  # plain Keras builds it in the first step: its start values
                optimizer = type(optimizer).from_config(optimizer.get_config())
                optimizer.build(self.model.trainable_variables)
            slots = [np.array(keras.ops.convert_to_numpy(v)) for v in optimizer.variables]
            self.states.append((self.model.get_weights(), slots))

        def on_train_begin(self, logs=None):
            super().on_train_begin(logs)
            self.states = []
            self._keep()

        def on_train_batch_end(self, batch, logs=None):
            super().on_train_batch_end(batch, logs)
            self._keep()

    class InterruptAt(StepCounter):
        """Raises KeyboardInterrupt, as a kernel interrupt does, after global step ``at``."""

        def __init__(self, at):
            super().__init__()
            self.at = at

        def on_train_batch_end(self, batch, logs=None):
            super().on_train_batch_end(batch, logs)
            if self.step == self.at:
                raise KeyboardInterrupt

    class Exploder(StepCounter):
        """A user callback with a bug: raises ValueError in ``hook`` at global step ``at``."""

        def __init__(self, hook, at):
            super().__init__()
            self.hook, self.at = hook, at

        def _maybe(self, hook, where):
            if hook == self.hook and where == self.at:
                raise ValueError(f"boom in {hook} at {where}")

        def on_train_batch_begin(self, batch, logs=None):
            super().on_train_batch_begin(batch, logs)
            self._maybe("on_train_batch_begin", self.step)

        def on_train_batch_end(self, batch, logs=None):
            super().on_train_batch_end(batch, logs)
            self._maybe("on_train_batch_end", self.step)

        def on_epoch_end(self, epoch, logs=None):
            self._maybe("on_epoch_end", epoch)

    class PoisonAt(StepCounter):
        """Makes global step ``at`` produce NaN through the model's Poison layer."""

        def __init__(self, at):
            super().__init__()
            self.at = at

        def _set(self, value):
            for layer in self.model.layers:
                if isinstance(layer, Poison):
                    layer.poison.assign(value)

        def on_train_batch_begin(self, batch, logs=None):
            super().on_train_batch_begin(batch, logs)
            if self.step == self.at:
                self._set(float("nan"))

        def on_train_batch_end(self, batch, logs=None):
            super().on_train_batch_end(batch, logs)
            self._set(0.0)

    class FailingStep:
        """Stands in for ``model.train_function``: raises ResourceExhaustedError on call ``at``.

        The step raises before it runs, as TensorFlow does when the allocation for the
        forward pass fails.
        """

        def __init__(self, function, at):
            self.function, self.at, self.calls = function, at, 0

        def __call__(self, iterator):
            self.calls += 1
            if self.calls == self.at + 1:
                raise tf.errors.ResourceExhaustedError(None, None, OOM_MESSAGE)
            return self.function(iterator)

    class OutOfMemoryAt(keras.callbacks.Callback):
        """Makes the step at global index ``at`` fail with out-of-memory (see FailingStep)."""

        def __init__(self, at):
            super().__init__()
            self.at = at

        def on_train_begin(self, logs=None):
            self.model.train_function = FailingStep(self.model.train_function, self.at)

    class PyFunctionOOM(keras.layers.Layer):
        """Passes its input through ``tf.py_function``, which raises OOM on call ``at``."""

        def __init__(self, at=-1, **kwargs):
            super().__init__(**kwargs)
            self.at, self.calls = at, 0

        def call(self, inputs):
            def check(value):
                self.calls += 1
                if self.calls == self.at + 1:
                    raise tf.errors.ResourceExhaustedError(None, None, OOM_MESSAGE)
                return value

            result = tf.py_function(check, [inputs], inputs.dtype)
            result.set_shape(inputs.shape)
            return result

    return SimpleNamespace(**{k: v for k, v in locals().items() if isinstance(v, type)})


@pytest.fixture(scope="module")
def setup(ip, keras):
    """Data, the initial weights, and plain Keras's weights after every step from them."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(STEPS * BATCH, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]], "float32")).astype("float32")
    make = functools.partial(_model, keras, helpers(keras).Poison)
    keras.utils.set_random_seed(0)
    initial = make().get_weights()
    twin = make(initial)
    twin.compile(
        loss=keras.losses.MeanSquaredError(),
        optimizer=keras.optimizers.Adam(learning_rate=0.01),
        steps_per_execution=1,
        jit_compile="auto",
    )
    recorder = helpers(keras).Recorder()
    history = twin.fit(
        x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0, callbacks=[recorder]
    )
    assert len(recorder.states) == TOTAL + 1
    return SimpleNamespace(
        x=x, y=y, make=make, states=recorder.states, losses=history.history["loss"]
    )


def _model(keras, poison, weights=None, extra=()):
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(4), *extra, poison(), keras.layers.Dense(1)]
    )
    if weights is not None:
        model.set_weights(weights)
    return model


def kcompile(ip, line: str, callbacks: str = "", y: str = "y_train"):
    body = textwrap.dedent(CELL.format(y=y, callbacks=callbacks)).strip("\n")
    return ip.run_cell_magic("kcompile", f"{line} --no-plot --steps-per-execution 1", body)


def assert_state(model, state, what: str) -> None:
    """Weights and optimizer variables (iteration count included) equal ``state`` exactly."""
    weights, slots = state
    for index, (ours, theirs) in enumerate(zip(model.get_weights(), weights, strict=True)):
        assert np.array_equal(ours, theirs), f"{what}: weight {index} differs"
    variables = model.optimizer.variables
    assert len(variables) == len(slots), what
    for variable, theirs in zip(variables, slots):
        ours = np.asarray(keras_numpy(variable))
        assert np.array_equal(ours, theirs), f"{what}: optimizer variable {variable.path}"


def keras_numpy(variable):
    import keras

    return keras.ops.convert_to_numpy(variable)


def assert_clean(ip, keras, policy: str = "float32", train_next: bool = True) -> None:
    """No policy or strategy left behind; the next cell in the same shell trains."""
    import tensorflow as tf

    assert keras.mixed_precision.global_policy().name == policy
    assert not tf.distribute.has_strategy()
    assert type(tf.distribute.get_strategy()).__name__ == "_DefaultDistributionStrategy"
    if train_next:
        ip.run_cell_magic(
            "kcompile", "model -o after --no-plot", textwrap.dedent(NEXT_CELL).strip("\n")
        )
        after = ip.user_ns["after"]
        assert after.stopped is None and after.error is None
        assert len(after.history["loss"]) == 1 and np.isfinite(after.history["loss"][0])
        assert all(np.isfinite(w).all() for w in ip.user_ns["model"].get_weights())


def fresh(ip, setup, **names) -> None:
    ip.user_ns.update(model=setup.make(setup.states[0][0]), x_train=setup.x, y_train=setup.y)
    ip.user_ns.update(names)


INTERRUPT_STEPS = sample(range(4, TOTAL), 3, 0, STEPS - 1)


def test_interrupt_keeps_the_last_completed_step_exactly(ip, keras, setup):
    """KeyboardInterrupt after step k: plain Keras trained k + 1 steps has the same state."""
    for at in INTERRUPT_STEPS:
        with reliability.case(AREA):
            fresh(ip, setup, stopper=helpers(keras).InterruptAt(at))
            kcompile(ip, "model -o run", "stopper")
            run, done = ip.user_ns["run"], at + 1
            assert run.error.__class__ is KeyboardInterrupt and run is kreg.last_run
            assert_state(ip.user_ns["model"], setup.states[done], f"interrupt after step {at}")
            assert run.steps_completed == done
            assert run.epochs_completed == at // STEPS
            assert run.history.get("loss", []) == setup.losses[: at // STEPS]
            assert run.stopped.startswith(f"interrupted in epoch {at // STEPS + 1}, after")
            assert f"and {done - STEPS * (at // STEPS)} more step(s)" in run.stopped
            assert "last completed step" in run.stopped
            assert_clean(ip, keras, train_next=at == INTERRUPT_STEPS[-1])


NAN_STEPS = sample(range(STEPS, TOTAL), 3, 1, STEPS)


def test_nan_puts_back_the_last_completed_epoch_exactly(ip, keras, setup):
    """A NaN loss at step k: the state of plain Keras after the epochs before k's epoch.

    In the first epoch the NaN comes from the data (one NaN label in batch k); later epochs see
    the same data, so there the NaN comes from a layer that adds NaN during step k.
    """
    for at in NAN_STEPS:
        with reliability.case(AREA):
            epochs = at // STEPS
            if epochs == 0:
                broken = setup.y.copy()
                broken[at * BATCH + 3] = np.nan
                fresh(ip, setup, y_nan=broken)
                kcompile(ip, "model -o run", y="y_nan")
            else:
                fresh(ip, setup, poisoner=helpers(keras).PoisonAt(at))
                kcompile(ip, "model -o run", "poisoner")
            run = ip.user_ns["run"]
            assert_state(ip.user_ns["model"], setup.states[epochs * STEPS], f"NaN at step {at}")
            assert run.error is None and run.steps_completed == epochs * STEPS
            assert run.epochs_completed == epochs
            assert run.history.get("loss", []) == setup.losses[:epochs]
            assert run.stopped.startswith(
                f"the loss became NaN at epoch {epochs + 1}, step {at % STEPS + 1}: lower the "
                "learning rate"
            )
            where = f"the end of epoch {epochs}" if epochs else "where training started"
            assert f"the model and its optimizer were put back to {where}" in run.stopped.lower()
            assert_clean(ip, keras, train_next=at == NAN_STEPS[-1])


def test_over_the_copy_limit_a_nan_keeps_the_weights_and_says_why(ip, keras, setup, monkeypatch):
    """No epoch-end copy of a state over KREG_SAFETY_COPY_GB: nothing to put back, and said."""
    monkeypatch.setenv("KREG_SAFETY_COPY_GB", "0")
    with reliability.case(AREA):
        broken = setup.y.copy()
        broken[1 * BATCH + 3] = np.nan  # in step 2 of epoch 1
        fresh(ip, setup, y_nan=broken)
        kcompile(ip, "model -o run", y="y_nan")
        run = ip.user_ns["run"]
        assert run.stopped.startswith("the loss became NaN at epoch 1, step 2")
        assert "keeps the weights the failing step left" in run.stopped
        assert "over the 0 GB kreg copies at each epoch end" in run.stopped
        weights = ip.user_ns["model"].get_weights()
        assert any(not np.isfinite(w).all() for w in weights)  # not put back: NaN, as said
        assert run.steps_completed == 2 and run.epochs_completed == 0
        assert_clean(ip, keras, train_next=False)  # this model holds NaN now, as said
        fresh(ip, setup)
        assert_clean(ip, keras)


CALLBACK_FAULTS = [
    *[("on_train_batch_end", at) for at in sample(range(TOTAL), 3)],
    ("on_train_batch_begin", RANDOM.randrange(1, TOTAL)),
    ("on_epoch_end", 1),  # the second epoch's end: the view never recorded it
]


def test_a_callback_exception_is_reported_and_keeps_the_last_completed_step(ip, keras, setup):
    """ValueError from a user callback: a UsageError naming it; the run is still stored."""
    for hook, at in CALLBACK_FAULTS:
        with reliability.case(AREA):
            fresh(ip, setup, exploder=helpers(keras).Exploder(hook, at))
            with pytest.raises(UsageError) as caught:
                kcompile(ip, "model -o run", "exploder")
            message = str(caught.value)
            if hook == "on_epoch_end":
                done, epochs, where = (at + 1) * STEPS, at + 1, f"at the end of epoch {at + 1}"
            elif hook == "on_train_batch_begin":
                done, epochs = at, at // STEPS
                where = f"before step {at % STEPS + 1} of epoch {at // STEPS + 1}"
            else:  # the step ran; its epoch ended only if a later step did
                done, epochs = at + 1, at // STEPS
                where = f"after step {at % STEPS + 1} of epoch {at // STEPS + 1}"
            assert message.startswith(
                f"the callback Exploder raised ValueError in {hook} {where}: boom in {hook} at "
                f"{at}. The model keeps the weights of its last completed step ({done} step(s)"
            ), message
            assert "The partial run is in `run` and kreg.last_run" in message
            run = ip.user_ns["run"]
            assert run is kreg.last_run and isinstance(run.error, ValueError)
            assert_state(ip.user_ns["model"], setup.states[done], f"{hook} at {at}")
            assert run.steps_completed == done and run.epochs_completed == epochs
            assert run.history.get("loss", []) == setup.losses[:epochs]
            if hook == "on_train_batch_end":  # the view's last line counts the same steps
                assert (run.view.last_epoch, run.view.last_step) == (at // STEPS, at % STEPS + 1)
            assert_clean(ip, keras, train_next=(hook, at) == CALLBACK_FAULTS[-1])


def test_a_failing_keras_callback_is_named_too(ip, keras, setup, tmp_path):
    """ModelCheckpoint cannot write (its folder is a file): Keras's own frames name it."""
    with reliability.case(AREA):
        (tmp_path / "file").write_text("not a folder")
        checkpoint = keras.callbacks.ModelCheckpoint(str(tmp_path / "file" / "m.keras"))
        fresh(ip, setup, checkpoint=checkpoint)
        with pytest.raises(UsageError, match=r"^the callback ModelCheckpoint raised \w+Error"):
            kcompile(ip, "model -o run", "checkpoint")
        assert_state(ip.user_ns["model"], setup.states[STEPS], "ModelCheckpoint failure")
        assert ip.user_ns["run"].epochs_completed == 1
        assert_clean(ip, keras, train_next=False)


OOM_STEPS = sample(range(TOTAL), 3, STEPS)


def test_out_of_memory_in_a_step_names_the_device_and_a_smaller_batch(ip, keras, setup):
    """Simulated out-of-memory (no GPU here: the step raises ResourceExhaustedError itself).

    A real OOM reaches ``model.fit`` as ``tf.errors.ResourceExhaustedError`` from the step's
    function; here a stand-in for ``model.train_function`` raises it at step k. kreg puts the
    model and optimizer back to the end of the last completed epoch.
    """
    for at in OOM_STEPS:
        with reliability.case(AREA):
            fresh(ip, setup, oom=helpers(keras).OutOfMemoryAt(at))
            with pytest.raises(UsageError) as caught:
                kcompile(ip, "model -o run", "oom")
            message, epochs = str(caught.value), at // STEPS
            assert message.startswith(
                f"out of memory on GPU:0 (ResourceExhaustedError) in step {at % STEPS + 1} of "
                f"epoch {epochs + 1}: use a smaller batch_size (now 16; try batch_size = 8) or "
                "add --mixed-precision"
            ), message
            where = f"the end of epoch {epochs}" if epochs else "where training started"
            assert f"The model and its optimizer were put back to {where}" in message
            run = ip.user_ns["run"]
            assert_state(ip.user_ns["model"], setup.states[epochs * STEPS], f"OOM at {at}")
            assert run.steps_completed == epochs * STEPS and run.epochs_completed == epochs
            assert run.history.get("loss", []) == setup.losses[:epochs]
            assert_clean(ip, keras, train_next=at == OOM_STEPS[-1])


def test_out_of_memory_wrapped_by_py_function_is_recognised(ip, keras, setup):
    """Simulated OOM raised inside the graph by ``tf.py_function`` (no GPU here).

    TensorFlow wraps it in an UnknownError whose text names ResourceExhaustedError; the
    failed step has already advanced the optimizer's iteration counter, which kreg puts back.
    """
    import tensorflow as tf

    with reliability.case(AREA):
        at = STEPS + 2  # the third step of the second epoch
        model = _model(keras, helpers(keras).Poison, extra=[helpers(keras).PyFunctionOOM(at)])
        recorder = helpers(keras).Recorder()
        ip.user_ns.update(model=model, recorder=recorder)
        with pytest.raises(UsageError, match=r"^out of memory on GPU:0 \(UnknownError\)"):
            kcompile(ip, "model -o run", "recorder")
        assert isinstance(ip.user_ns["run"].error, tf.errors.UnknownError)
        assert_state(model, recorder.states[STEPS], "py_function OOM")
        assert int(keras_numpy(model.optimizer.iterations)) == STEPS
        assert_clean(ip, keras)


MIXED = [
    ("interrupt", RANDOM.randrange(TOTAL)),
    ("callback", RANDOM.randrange(TOTAL)),
    ("oom", RANDOM.randrange(STEPS, TOTAL)),
    ("nan", RANDOM.randrange(STEPS)),
]


def test_faults_with_mixed_precision_restore_the_global_policy(ip, keras, setup):
    """--mixed-precision rebuilds the model; after every fault the float32 policy is back."""
    kinds = helpers(keras)
    for fault, at in MIXED:
        with reliability.case(AREA):
            recorder = kinds.Recorder()
            injector = {
                "interrupt": lambda at=at: kinds.InterruptAt(at),
                "callback": lambda at=at: kinds.Exploder("on_train_batch_end", at),
                "oom": lambda at=at: kinds.OutOfMemoryAt(at),
                "nan": lambda at=at: kinds.PoisonAt(at),
            }[fault]()
            fresh(ip, setup, recorder=recorder, injector=injector)
            if fault in ("callback", "oom"):
                with pytest.raises(UsageError):
                    kcompile(ip, "model --mixed-precision -o run", "recorder, injector")
            else:
                kcompile(ip, "model --mixed-precision -o run", "recorder, injector")
            model, run = ip.user_ns["model"], ip.user_ns["run"]
            assert model.layers[0].dtype_policy.name == "mixed_bfloat16" and run.model is model
            done = at + 1 if fault in ("interrupt", "callback") else at // STEPS * STEPS
            assert_state(model, recorder.states[done], f"{fault} at {at}, mixed precision")
            assert run.steps_completed == done
            if fault == "oom":
                assert "or add --mixed-precision" not in str(run.stopped)
            assert_clean(ip, keras, train_next=True)


def test_a_fault_under_mirrored_strategy_leaves_no_strategy_behind(ip, keras, setup):
    """A NaN in the second epoch under MirroredStrategy (one CPU device): restored, and gone."""
    with reliability.case(AREA):
        recorder = helpers(keras).Recorder()
        fresh(ip, setup, recorder=recorder, injector=helpers(keras).PoisonAt(STEPS + 1))
        kcompile(ip, "model --strategy mirrored -o run", "recorder, injector")
        run = ip.user_ns["run"]
        assert run.strategy.startswith("mirrored") and "NaN" in run.stopped
        assert_state(ip.user_ns["model"], recorder.states[STEPS], "NaN under mirrored")
        assert_clean(ip, keras)
