"""The HiggsML challenge's derived features, from its documentation (Adam-Bourdarios et al.,
"Learning to discover: the Higgs boson machine learning challenge", 2014, its list of features): the DER_*
columns as functions of the PRI_* ones. The sample generator writes its DER_* columns with them,
and lesson 1.2 recomputes them after shifting the tau energy scale. Written here because no
library ships these formulas; vector does the four-momentum algebra."""

from __future__ import annotations

import numpy as np
import vector

MISSING = -999.0  # the challenge's value for an undefined feature


def derived(c: dict) -> dict:
    """The DER_* features from the PRI_* columns, with the challenge documentation's formulas."""
    def vec(pt, eta, phi):
        return vector.array({"pt": pt, "eta": eta, "phi": phi, "mass": np.zeros_like(pt)})

    tau = vec(c["PRI_tau_pt"], c["PRI_tau_eta"], c["PRI_tau_phi"])
    lep = vec(c["PRI_lep_pt"], c["PRI_lep_eta"], c["PRI_lep_phi"])
    met_x, met_y = c["PRI_met"] * np.cos(c["PRI_met_phi"]), c["PRI_met"] * np.sin(c["PRI_met_phi"])
    n_jets = c["PRI_jet_num"]
    one, two = n_jets >= 1, n_jets >= 2
    j1 = vec(np.where(one, c["PRI_jet_leading_pt"], 0), np.where(one, c["PRI_jet_leading_eta"], 0),
             np.where(one, c["PRI_jet_leading_phi"], 0))
    j2 = vec(np.where(two, c["PRI_jet_subleading_pt"], 0), np.where(two, c["PRI_jet_subleading_eta"], 0),
             np.where(two, c["PRI_jet_subleading_phi"], 0))

    out = {}
    dphi_met_lep = np.arctan2(met_y, met_x) - lep.phi
    out["DER_mass_transverse_met_lep"] = np.sqrt(np.maximum(2 * lep.pt * c["PRI_met"] * (1 - np.cos(dphi_met_lep)), 0))
    out["DER_mass_vis"] = (tau + lep).mass
    out["DER_pt_h"] = np.hypot(tau.px + lep.px + met_x, tau.py + lep.py + met_y)
    out["DER_deltaeta_jet_jet"] = np.where(two, np.abs(j1.eta - j2.eta), MISSING)
    out["DER_mass_jet_jet"] = np.where(two, (j1 + j2).mass, MISSING)
    out["DER_prodeta_jet_jet"] = np.where(two, j1.eta * j2.eta, MISSING)
    out["DER_deltar_tau_lep"] = tau.deltaR(lep)
    out["DER_pt_tot"] = np.hypot(tau.px + lep.px + met_x + np.where(one, j1.px, 0) + np.where(two, j2.px, 0),
                                 tau.py + lep.py + met_y + np.where(one, j1.py, 0) + np.where(two, j2.py, 0))
    out["DER_sum_pt"] = tau.pt + lep.pt + c["PRI_jet_all_pt"]
    out["DER_pt_ratio_lep_tau"] = lep.pt / tau.pt
    # centrality of the MET direction between the lepton and the tau (sqrt(2) when half-way)
    sign = np.sign(np.sin(tau.phi - lep.phi))
    a = np.sin(c["PRI_met_phi"] - lep.phi) * sign
    b = np.sin(tau.phi - c["PRI_met_phi"]) * sign
    with np.errstate(invalid="ignore", divide="ignore"):
        out["DER_met_phi_centrality"] = np.nan_to_num((a + b) / np.sqrt(a ** 2 + b ** 2))
        out["DER_lep_eta_centrality"] = np.where(
            two, np.exp(-4 / (j1.eta - j2.eta) ** 2 * (lep.eta - (j1.eta + j2.eta) / 2) ** 2), MISSING)
    return out
