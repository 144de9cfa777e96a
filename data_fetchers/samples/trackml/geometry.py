"""The TrackML detector geometry, as a few numbers per layer derived from the real detectors.csv.

The real ``detectors.csv`` lists 18,728 modules. They are placed by simple rules, so each layer is
summarised by a handful of parameters, derived by ``derive()`` from the real file and kept in
``geometry.json`` (written by ``python -m data_fetchers.samples.trackml.geometry
path/to/detectors.csv``; nothing is typed by hand). ``build()`` turns them back into every
module, in the real file's columns; a test checks, on the real file, that every rebuilt module
sits where the real one does.

* **Barrel layers** (volumes 8, 13, 17): ``n_phi`` staves times the listed ``z`` positions; the
  module radius repeats ``r_pattern`` along z (overlapping neighbours), and each module plane is
  turned by ``tilt`` about the z axis. Local axes: v along z, w the plane's normal, u = v x w.
* **Endcap disks** (volumes 7, 9, 12, 14, 16, 18): rings of ``n_phi`` trapezoidal modules at a
  radius, whose z repeats ``z_pattern`` around the ring (front and back of the disk). Local axes: v radial (outwards), w along the
  beam (``w_z``), u = v x w.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

GEOMETRY_FILE = Path(__file__).with_name("geometry.json")
BARREL_VOLUMES = (8, 13, 17)
DIMENSIONS = ["module_t", "module_minhu", "module_maxhu", "module_hv", "pitch_u", "pitch_v"]
COLUMNS = ["volume_id", "layer_id", "module_id", "cx", "cy", "cz", "rot_xu", "rot_xv", "rot_xw", "rot_yu",
           "rot_yv", "rot_yw", "rot_zu", "rot_zv", "rot_zw", *DIMENSIONS]


def _wrap(angle):
    return (np.asarray(angle) + np.pi) % (2 * np.pi) - np.pi


def _phi_grid(phi: np.ndarray) -> tuple[float, int]:
    """(phi of the first module, number of modules) of an evenly spaced ring, checked."""
    n = len(phi)
    step = 2 * np.pi / n
    phi0 = float(np.sort(_wrap(phi))[0])
    offsets = _wrap(phi - phi0) / step
    if np.abs(offsets - np.round(offsets)).max() > 1e-3:
        raise ValueError("modules are not evenly spaced in phi")
    return phi0, n


def _pattern(values: np.ndarray, index: np.ndarray) -> list[float]:
    """The shortest repeating pattern of ``values`` along ``index`` (value = pattern[index % period])."""
    order = np.argsort(index, kind="stable")
    values, index = np.asarray(values)[order], np.asarray(index)[order]
    for period in range(1, len(np.unique(index)) + 1):
        pattern = [float(np.median(values[index % period == k])) for k in range(period)]
        if np.allclose(values, np.asarray(pattern)[index % period], atol=1e-3):
            return pattern
    raise ValueError("no repeating pattern")


def derive(detectors: pd.DataFrame) -> list[dict]:
    """Per-layer parameters of the real detectors.csv (see the module docstring)."""
    d = detectors.assign(r=np.hypot(detectors.cx, detectors.cy), phi=np.arctan2(detectors.cy, detectors.cx))
    layers = []
    for (volume, layer), m in d.groupby(["volume_id", "layer_id"]):
        dims = m[DIMENSIONS]
        entry = {"volume_id": int(volume), "layer_id": int(layer)}
        if volume in BARREL_VOLUMES:
            if (dims.nunique() > 1).any():
                raise ValueError(f"layer {volume}/{layer}: modules of different sizes")
            zs = np.unique(m.cz.round(3))
            phi0, n_phi = _phi_grid(m[np.isclose(m.cz, zs[0])].phi.to_numpy())
            z_index = np.searchsorted(zs, m.cz.round(3))
            normal = np.arctan2(m.rot_yw, m.rot_xw)
            entry.update(kind="barrel", z=[float(z) for z in zs], n_phi=n_phi, phi0=phi0,
                         r_pattern=_pattern(m.r.to_numpy(), z_index),
                         tilt=float(np.median(_wrap(normal - m.phi))), **{k: float(dims[k].iloc[0]) for k in DIMENSIONS})
        else:
            rings = []
            for r, ring in m.groupby(m.r.round(0)):
                if (ring[DIMENSIONS].nunique() > 1).any():
                    raise ValueError(f"layer {volume}/{layer}, ring {r}: modules of different sizes")
                phi0, n_phi = _phi_grid(ring.phi.to_numpy())
                index = np.round(_wrap(ring.phi - phi0) / (2 * np.pi / n_phi)).astype(int) % n_phi
                rings.append({"r": float(ring.r.median()), "n_phi": n_phi, "phi0": phi0,
                              "z_pattern": _pattern(ring.cz.to_numpy(), np.asarray(index)),
                              **{k: float(ring[k].iloc[0]) for k in DIMENSIONS}})
            entry.update(kind="disk", w_z=float(np.sign(m.rot_zw.iloc[0])), rings=rings)
        layers.append(entry)
    return layers


def _frames(centres: np.ndarray, v_axis: np.ndarray, w_axis: np.ndarray) -> dict:
    u_axis = np.cross(v_axis, w_axis)
    return {f"rot_{c}{a}": axis[:, i] for a, axis in zip("uvw", (u_axis, v_axis, w_axis)) for i, c in enumerate("xyz")} | \
        {"cx": centres[:, 0], "cy": centres[:, 1], "cz": centres[:, 2]}


def build(layers: list[dict] | None = None) -> pd.DataFrame:
    """Every module of the detector, in the columns of detectors.csv, from the layer parameters."""
    if layers is None:
        layers = json.loads(GEOMETRY_FILE.read_text())
    frames = []
    for L in layers:
        if L["kind"] == "barrel":
            iphi = np.tile(np.arange(L["n_phi"]), len(L["z"]))
            iz = np.repeat(np.arange(len(L["z"])), L["n_phi"])
            z = np.asarray(L["z"])[iz]
            phi = L["phi0"] + iphi * 2 * np.pi / L["n_phi"]
            r = np.asarray(L["r_pattern"])[iz % len(L["r_pattern"])]
            centres = np.column_stack([r * np.cos(phi), r * np.sin(phi), z])
            normal = phi + L["tilt"]
            w_axis = np.column_stack([np.cos(normal), np.sin(normal), np.zeros_like(phi)])
            v_axis = np.tile([0.0, 0.0, 1.0], (len(phi), 1))
            part = pd.DataFrame(_frames(centres, v_axis, w_axis))
            for k in DIMENSIONS:
                part[k] = L[k]
        else:
            parts = []
            for ring in L["rings"]:
                iphi = np.arange(ring["n_phi"])
                phi = ring["phi0"] + iphi * 2 * np.pi / ring["n_phi"]
                centres = np.column_stack([ring["r"] * np.cos(phi), ring["r"] * np.sin(phi),
                                           np.asarray(ring["z_pattern"])[iphi % len(ring["z_pattern"])]])
                v_axis = np.column_stack([np.cos(phi), np.sin(phi), np.zeros_like(phi)])
                w_axis = np.tile([0.0, 0.0, L["w_z"]], (len(phi), 1))
                ring_part = pd.DataFrame(_frames(centres, v_axis, w_axis))
                for k in DIMENSIONS:
                    ring_part[k] = ring[k]
                parts.append(ring_part)
            part = pd.concat(parts, ignore_index=True)
        part.insert(0, "module_id", np.arange(1, len(part) + 1))
        part.insert(0, "layer_id", L["layer_id"])
        part.insert(0, "volume_id", L["volume_id"])
        frames.append(part)
    modules = pd.concat(frames, ignore_index=True)[COLUMNS]
    return modules.astype({"volume_id": np.int64, "layer_id": np.int64, "module_id": np.int64})


def barrel_radii(layers: list[dict] | None = None) -> np.ndarray:
    """The mean radius of each barrel layer, innermost first (10 layers), from the parameters."""
    if layers is None:
        layers = json.loads(GEOMETRY_FILE.read_text())
    return np.array(sorted(float(np.mean(L["r_pattern"])) for L in layers if L["kind"] == "barrel"))


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m data_fetchers.samples.trackml.geometry path/to/detectors.csv", file=sys.stderr)
        return 2
    layers = derive(pd.read_csv(argv[0]))
    GEOMETRY_FILE.write_text(json.dumps(layers, indent=1) + "\n")
    print(f"wrote {GEOMETRY_FILE} ({len(layers)} layers, {len(build(layers)):,} modules)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
