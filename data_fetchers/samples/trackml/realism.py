"""The realism table of the `trackml-2018` sample: what chapter 3's graph and tracks rest on: where the hits are, how
many hits a particle leaves, the particles' momenta, and how many true edges the graph cuts keep.

``python -m data_fetchers realism trackml-2018`` measures it on the sample and on real data; the
machinery (the ``Figure`` record, the table, the command) is ``data_fetchers.realism``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from data_fetchers.realism import Figure, Realism


_VOLUMES = (7, 8, 9, 12, 13, 14, 16, 17, 18)
EDGE_CUTS = {"lesson's and HEP.TrkX's (0.0006 rad/mm, 200 mm)": (0.0006, 200.0),
             "loosest scanned (0.002 rad/mm, 300 mm)": (0.002, 300.0)}


def true_edge_efficiency(truth: pd.DataFrame, particles: pd.DataFrame, phi_slope_max: float, z0_max: float,
                         pt_min: float = 1.0) -> tuple[float, int]:
    """The fraction of true connections (consecutive barrel layers of one particle above pt_min,
    at the true hit positions, one hit per particle and layer) that pass graph cuts."""
    t = truth[truth.particle_id != 0]
    pt = pd.Series(np.hypot(particles.px, particles.py).to_numpy(), index=particles.particle_id.to_numpy())
    from .geometry import barrel_radii

    radii = barrel_radii()
    r = np.hypot(t.tx, t.ty).to_numpy()
    layer = np.argmin(np.abs(r[:, None] - radii), axis=1)
    on_layer = np.abs(r - radii[layer]) < 20
    t = pd.DataFrame({"particle_id": t.particle_id.to_numpy(), "r": r, "phi": np.arctan2(t.ty, t.tx).to_numpy(),
                      "z": t.tz.to_numpy(), "layer": layer, "pt": pt.reindex(t.particle_id).to_numpy()})
    t = t[on_layer & (t.pt > pt_min)].sort_values("r").drop_duplicates(["particle_id", "layer"])
    t = t.sort_values(["particle_id", "layer"])
    a, b = t.iloc[:-1], t.iloc[1:]
    pair = (a.particle_id.to_numpy() == b.particle_id.to_numpy()) & (np.diff(t.layer.to_numpy()) == 1)
    a, b = a[pair], b[pair]
    dr = b.r.to_numpy() - a.r.to_numpy()
    dphi = (b.phi.to_numpy() - a.phi.to_numpy() + np.pi) % (2 * np.pi) - np.pi
    z0 = a.z.to_numpy() - a.r.to_numpy() * (b.z.to_numpy() - a.z.to_numpy()) / dr
    passed = (np.abs(dphi / dr) < phi_slope_max) & (np.abs(z0) < z0_max)
    return float(passed.mean()), int(pair.sum())


def _particle_figures(particles: pd.DataFrame) -> dict[str, float]:
    p = particles[particles.nhits >= 4]
    pt = np.hypot(p.px, p.py).to_numpy()
    eta = np.arcsinh(p.pz.to_numpy() / pt)
    generation = (particles.particle_id.to_numpy().astype(np.int64) >> 24) & 0xFFF
    figures = {"hits per particle (particles with ≥ 4 hits)": float(p.nhits.mean()),
               "secondary particles (generation > 0), share": float((generation > 0).mean()),
               "median absolute η, particles with ≥ 4 hits": float(np.median(np.abs(eta))),
               "particles without any hit, share": float((particles.nhits == 0).mean())}
    for q in (25, 50, 75):
        figures[f"pT {q}th percentile, particles with ≥ 4 hits [GeV]"] = float(np.percentile(pt, q))
    return figures


def _hit_figures(hits: pd.DataFrame, cells: pd.DataFrame, n_noise: int) -> dict[str, float]:
    share = hits.volume_id.value_counts(normalize=True)
    figures = {f"share of hits in volume {v}": float(share.get(v, 0.0)) for v in _VOLUMES}
    figures["noise hits, share"] = n_noise / len(hits)
    r = np.hypot(hits.x, hits.y)
    figures["hits inside the detector (r < 1030 mm, abs(z) < 3000 mm), share"] = float(((r < 1030) & (hits.z.abs() < 3000)).mean())
    per_hit = cells.groupby("hit_id").size().reindex(hits.hit_id).to_numpy()
    for volume, name in ((8, "pixel"), (13, "short-strip")):
        figures[f"cells per hit, {name} barrel"] = float(per_hit[hits.volume_id.to_numpy() == volume].mean())
    return figures


def _trackml_sample(events: Path, n_events: int = 10) -> dict[str, float]:
    from hepml.trackml import event_ids, read_event

    tables = [read_event(events, e, parts=("hits", "cells", "particles", "truth")) for e in event_ids(events)[:n_events]]
    hits = pd.concat([t["hits"].assign(hit_id=t["hits"].hit_id + 10_000_000 * k) for k, t in enumerate(tables)])
    cells = pd.concat([t["cells"].assign(hit_id=t["cells"].hit_id + 10_000_000 * k) for k, t in enumerate(tables)])
    figures = _hit_figures(hits, cells, sum(int((t["truth"].particle_id == 0).sum()) for t in tables))
    figures.update(_particle_figures(pd.concat([t["particles"] for t in tables])))
    for name, cuts in EDGE_CUTS.items():
        kept = [true_edge_efficiency(t["truth"], t["particles"], *cuts) for t in tables]
        figures[f"true edges kept by the {name} cuts, pT > 1 GeV"] = float(
            sum(f * n for f, n in kept) / sum(n for _, n in kept))
    return figures


def _trackml_real(shared: Path) -> dict[str, float]:
    d = shared / "trackml"
    hits = pd.read_csv(d / "event000021000-hits.csv.gz")
    particles = pd.read_csv(d / "event000021000-particles.csv.gz")
    figures = _hit_figures(hits, pd.read_csv(d / "event000021000-cells.csv.gz"), len(hits) - int(particles.nhits.sum()))
    figures.update(_particle_figures(particles))
    truth = pd.read_csv(d / "event000001000-truth-barrel-partial.csv.gz")
    particles_1000 = pd.read_csv(d / "event000001000-particles.csv.gz")
    for name, cuts in EDGE_CUTS.items():
        figures[f"true edges kept by the {name} cuts, pT > 1 GeV"] = true_edge_efficiency(truth, particles_1000, *cuts)[0]
    return figures


REALISM = Realism(
    figures=[Figure(f"share of hits in volume {v}", 0.02) for v in _VOLUMES] + [
        Figure("noise hits, share", 0.02),
        Figure("hits inside the detector (r < 1030 mm, abs(z) < 3000 mm), share", 0.0, fmt="{:.4f}"),
        Figure("hits per particle (particles with ≥ 4 hits)", 0.6, fmt="{:.2f}"),
        Figure("pT 25th percentile, particles with ≥ 4 hits [GeV]", 0.15, relative=True),
        Figure("pT 50th percentile, particles with ≥ 4 hits [GeV]", 0.10, relative=True),
        Figure("pT 75th percentile, particles with ≥ 4 hits [GeV]", 0.15, relative=True),
        Figure("median absolute η, particles with ≥ 4 hits", 0.15, fmt="{:.2f}"),
        Figure("secondary particles (generation > 0), share", 0.06),
        Figure("particles without any hit, share", 0.04),
        Figure("cells per hit, pixel barrel", 1.5, fmt="{:.2f}"),
        Figure("cells per hit, short-strip barrel", 0.5, fmt="{:.2f}"),
    ] + [Figure(f"true edges kept by the {name} cuts, pT > 1 GeV", 0.005, fmt="{:.4f}") for name in EDGE_CUTS],
    measure_sample=_trackml_sample,
    measure_real=_trackml_real,
    real_source=("real TrackML events in ../shared/data/trackml: event 21000 (hits, cells, particles; throughput "
                 "phase) and event 1000 (particles and the barrel truth; accuracy phase)"),
    leaves_out=("200 pile-up collisions (the sample has 40, so an event has 5 times fewer hits); energy loss, photon "
                "conversions and delta rays; the real detector's exact material map"),
)
