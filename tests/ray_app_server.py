"""A second app server for the Ray tests: its own process and its own driver on the cluster.

Run as `python -m tests.ray_app_server ADDRESS NAMESPACE RUNS_DIR`; each line on stdin,
`submit OWNER EPOCHS`, queues a training of the engine tests' MLP there and answers one line of
JSON with its run folder and its place in the queue (0: started at once).
"""

from __future__ import annotations

import json
import sys
import threading

from core.engine import TrainingRequest
from core.engine.ray_engine import RayEngine, RaySettings
from core.presets import PRESETS
from core.runs import RunStore
from core.training import TrainConfig


def main() -> None:
    """Serve submit lines until stdin closes."""
    address, namespace, runs = sys.argv[1:4]
    # Made in a thread that then ends, as a Streamlit script run makes it (ui/resources.engine).
    made: list[RayEngine] = []
    maker = threading.Thread(target=lambda: made.append(RayEngine(RaySettings(address, namespace))))
    maker.start()
    maker.join()
    (engine,) = made
    store = RunStore(runs)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        _, owner, epochs = line.split()
        config = TrainConfig(epochs=int(epochs), batch_size=32, subset_size=1000)
        spec = PRESETS["mlp_dropout"].spec.to_dict()
        request = TrainingRequest(owner, str(store.new_run_dir(owner)), "mlp", config, spec=spec)
        handle = engine.submit(request)
        place = handle.snapshot().queue_position or 0
        print(json.dumps({"run_dir": handle.run_dir, "position": place}), flush=True)


if __name__ == "__main__":
    main()
