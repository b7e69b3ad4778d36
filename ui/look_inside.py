"""Look inside: the probe, map and snapshots of the active model, cached per model and session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from core.inside.probe import Probe
from core.inside.projection import DigitMap, build_map, tsne_2d
from core.snapshots import Snapshot, read_snapshots
from ui.resources import mnist
from ui.state import ActiveModel

PROBES = "look_inside_probes"  # {model uid: Probe}
MAPS = "look_inside_maps"  # {model uid: (DigitMap, features)}


def probe_for(active: ActiveModel) -> Probe:
    """The active model's probe, compiled once per model (raises InsideError if unreadable)."""
    cache: dict[str, Probe] = st.session_state.setdefault(PROBES, {})
    if active.uid not in cache:
        probe = Probe(active.model)
        cache.clear()  # one model's compiled functions per session
        cache[active.uid] = probe
    return cache[active.uid]


def map_for(active: ActiveModel, probe: Probe) -> tuple[DigitMap, np.ndarray]:
    """The PCA map of 2,000 test digits and their features, once per model."""
    cache: dict[str, tuple[DigitMap, np.ndarray]] = st.session_state.setdefault(MAPS, {})
    if active.uid not in cache:
        data = mnist()
        built = build_map(probe, data.x_test, data.y_test)
        cache.clear()
        cache[active.uid] = built
    return cache[active.uid]


def add_tsne(active: ActiveModel, progress: st.delta_generator.DeltaGenerator, label: str) -> None:
    """Compute the t-SNE positions of the cached map, with a live progress bar."""
    digit_map, features = st.session_state[MAPS][active.uid]
    positions = tsne_2d(features, lambda done: progress.progress(done, text=label))
    st.session_state[MAPS][active.uid] = (
        DigitMap(digit_map.indices, digit_map.pca, positions, digit_map.true, digit_map.predicted),
        features,
    )


def picked_digit(event, digit_map: DigitMap) -> int | None:
    """The test index of the point clicked on the map, if any (traces 0-9 are the classes)."""
    points = event.selection.points if event and event.selection else []
    if not points or points[0].get("curve_number", 10) >= 10:
        return None
    rows = np.flatnonzero(digit_map.true == points[0]["curve_number"])
    return int(digit_map.indices[rows[points[0]["point_index"]]])


def run_snapshots(active: ActiveModel) -> list[Snapshot] | None:
    """Snapshots of the run that made the active model (None: it does not come from a run)."""
    return None if active.run_dir is None else read_snapshots(Path(active.run_dir))
