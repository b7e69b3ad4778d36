"""Turn a TrainingRequest into a TrainingJob ready to submit, in whichever process trains it.

The same code serves every engine: the thread engine calls it in the app server, the Ray engine
in a worker. A request names everything by path, so a run is continued from its folder alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras

from core.build import build_model, ensure_compiled
from core.data import Mnist
from core.engine import TrainingRequest
from core.i18n import MessageError
from core.runs import MODEL_FILE, START_MODEL_FILE
from core.spec import NetworkSpec
from core.training.job import TrainingJob
from core.training.keras_state import seed_everything
from core.training.run_state import RunState, read_run_state


class ResumeError(MessageError):
    """A run that cannot be continued (no saved model, or not the learner's)."""


def job_for_request(
    request: TrainingRequest,
    mnist: Mnist,
    callbacks: Sequence[keras.callbacks.Callback] = (),
) -> TrainingJob:
    """A new TrainingJob for the request; raises MessageError in plain words if it cannot train."""
    request.config.check()
    run_dir = Path(request.run_dir)
    if request.resume:
        state = _state_to_resume(request, run_dir)
        model = keras.saving.load_model(run_dir / MODEL_FILE, safe_mode=True)
        return TrainingJob(
            model,
            request.config,
            mnist,
            run_dir,
            state.spec,
            state.name,
            request.owner,
            callbacks,
            resume=state,
        )
    if request.spec is not None:
        # Seeded before the weights are drawn, as the first epoch is: a seeded run repeats.
        seed_everything(request.config.seed)
        model = build_model(NetworkSpec.from_dict(request.spec))
        spec = dict(request.spec)
    elif request.model_path is not None:
        model = ensure_compiled(keras.saving.load_model(request.model_path, safe_mode=True))
        spec = {}
    else:
        raise ValueError("A training request needs a spec, a model_path or resume.")
    return TrainingJob(
        model, request.config, mnist, run_dir, spec, request.name, request.owner, callbacks
    )


def save_start_model(model: keras.Model, run_dir: Path) -> Path:
    """Save a model without a spec (an upload), compiled, as the file a request's model_path
    names; MessageError in plain words if Keras cannot save it."""
    path = Path(run_dir) / START_MODEL_FILE
    tmp = path.with_name(f".tmp-{path.name}")
    try:
        ensure_compiled(model)
        if not model.optimizer.built:  # saved with its slots, it loads without a mismatch
            model.optimizer.build(model.trainable_variables)
        model.save(tmp)
    except Exception as exc:  # a model Keras cannot write cannot travel to an engine either
        tmp.unlink(missing_ok=True)
        raise MessageError("train.failed_with", reason=f"{type(exc).__name__}: {exc}") from exc
    tmp.replace(path)
    return path


def _state_to_resume(request: TrainingRequest, run_dir: Path) -> RunState:
    try:
        state = read_run_state(run_dir)
    except (FileNotFoundError, ValueError):
        raise ResumeError("train.nothing_to_continue") from None
    if state.owner and state.owner != request.owner:
        raise ResumeError("train.nothing_to_continue")
    return state
