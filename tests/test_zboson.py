"""Chapter 5's Z line shape: the reader's selection (on hand-made events and on real CMS 2012
events), the tractable twin's exact likelihood against its own simulations, the realistic
simulator's physics (radiation spectrum, line shape, selection), and the sample's Z count."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
import uproot
from scipy.stats import chi2 as chi2_distribution

from hepml import zboson

PDG = np.array([zboson.PDG_MZ, zboson.PDG_GZ, 1.0, 0.05])


@pytest.fixture(scope="module")
def bank():
    return zboson.decay_bank(1 << 18, seed=1)


# ------------------------------------------------------------------ the reader
def _write_events(path, events):
    """A file in the dataset's layout from lists of (pt, eta, phi, charge) muons."""
    fields = {"Muon_pt": 0, "Muon_eta": 1, "Muon_phi": 2, "Muon_charge": 3}
    branches = {k: ak.values_astype(ak.Array([[m[i] for m in e] for e in events]), np.int32 if k == "Muon_charge" else np.float32)
                for k, i in fields.items()}
    branches["Muon_mass"] = ak.values_astype(ak.zeros_like(branches["Muon_pt"]) + 0.10566, np.float32)
    with uproot.recreate(path) as f:
        f.mktree("Events", {k: v.type.content for k, v in branches.items()}, counter_name=lambda _: "nMuon")
        f["Events"].extend(branches)


def test_reader_applies_the_documented_selection(tmp_path):
    # two back-to-back 45.6 GeV muons at eta = 0 have m = 91.2 GeV
    z = [(45.6, 0.0, 0.0, 1), (45.6, 0.0, np.pi, -1)]
    events = [
        z,                                                    # selected
        [(45.6, 0.0, 0.0, 1), (45.6, 0.0, np.pi, 1)],         # same charge
        z + [(5.0, 1.0, 1.0, 1)],                             # three muons
        [(45.6, 2.45, 0.0, 1), (45.6, 2.45, np.pi, -1)],      # beyond |eta| = 2.4
        [(19.0, 0.0, 0.0, 1), (110.0, 0.0, np.pi, -1)],       # a muon below 20 GeV (m = 91.5 GeV)
        [(60.0, 0.0, 0.0, 1), (60.0, 0.0, np.pi, -1)],        # m = 120 GeV, outside the window
        [(40.0, 0.3, 1.0, -1), (40.0, -0.3, 1.0 - np.pi, 1)],  # selected, m = 2 * 40 * cosh(0.3)
    ]
    _write_events(tmp_path / "z.root", events)
    masses = zboson.read_dimuon_masses(tmp_path / "z.root", step_size=3, progress=False)
    assert masses == pytest.approx([91.2, 80 * np.cosh(0.3)], abs=2e-3)
    assert len(zboson.read_dimuon_masses(tmp_path / "z.root", max_events=3, progress=False)) == 1
    assert zboson.histogram(masses).sum() == 2


def test_reader_on_real_cms_2012_events(shared_data):
    real = shared_data / "cms-opendata" / "Run2012BC_DoubleMuParked_Muons_1000evts_rntuple_v1-0-0-0.root"
    masses = zboson.read_dimuon_masses(real, progress=False)
    assert len(masses) == 81  # of 1000 real events: the parked dimuon data are rich in Z bosons
    assert ((masses > 70) & (masses < 110)).all()
    assert 89.5 < np.median(masses) < 92.0


def test_sample_holds_a_few_thousand_z_candidates():
    import data_fetchers

    path = data_fetchers.get("cms-dimuon-2012", "sample", quiet=True).path
    masses = zboson.read_dimuon_masses(path, progress=False)
    assert 3000 <= len(masses) <= 5000
    assert 90.0 < np.median(masses) < 91.5


# ------------------------------------------------------------------ the tractable twin
@pytest.mark.parametrize("theta", [PDG, [90.5, 3.2, 1.8, 0.15], [92.0, 1.7, 0.6, 0.0]])
def test_twin_simulations_follow_the_exact_likelihood(theta):
    n_sims, n_events = 300, 4000
    counts = zboson.simulate(np.tile(theta, (n_sims, 1)), n_events, seed=3, realistic=False).sum(0)
    expected = zboson.twin_bin_probabilities(np.asarray(theta)) * n_sims * n_events
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2_distribution.sf(chi2, 39) > 1e-3, f"chi2 {chi2:.1f} for 39 degrees of freedom"


def test_twin_likelihood_detects_a_shifted_mass():
    """The same test has power: 50 MeV off in m_Z is rejected with 1.2 million events."""
    counts = zboson.simulate(np.tile(PDG, (300, 1)), 4000, seed=3, realistic=False).sum(0)
    shifted = PDG + np.array([0.05, 0, 0, 0])
    expected = zboson.twin_bin_probabilities(shifted) * counts.sum()
    assert chi2_distribution.sf(((counts - expected) ** 2 / expected).sum(), 39) < 1e-6


def test_grid_likelihood_equals_the_pointwise_one():
    counts = zboson.simulate(PDG[None], 3000, seed=5, realistic=False)[0]
    axes = [np.linspace(91.0, 91.4, 4), np.linspace(2.2, 2.8, 3), np.linspace(0.8, 1.2, 5), np.linspace(0.0, 0.1, 3)]
    mesh = np.stack(np.meshgrid(*axes, indexing="ij"), -1)
    assert np.allclose(zboson.twin_log_likelihood_grid(counts, axes), zboson.twin_log_likelihood(mesh, counts), atol=1e-6)


def test_twin_maximum_likelihood_recovers_the_parameters():
    from scipy.optimize import minimize

    theta = np.array([91.3, 2.7, 1.3, 0.08])
    counts = zboson.simulate(np.tile(theta, (200, 1)), 4000, seed=7, realistic=False).sum(0)
    fit = minimize(lambda t: -zboson.twin_log_likelihood(t, counts), PDG, method="Nelder-Mead",
                   options=dict(xatol=1e-6, fatol=1e-6, maxiter=6000)).x
    assert (np.abs(fit - theta) < [0.01, 0.03, 0.03, 0.005]).all(), f"fit {fit} for true {theta}"


# ------------------------------------------------------------------ the realistic simulator
def test_simulate_returns_exactly_n_events_and_is_deterministic(bank):
    theta = np.random.default_rng(0).uniform(zboson.PRIOR_LOW, zboson.PRIOR_HIGH, (70, 4))
    a = zboson.simulate(theta, 1000, seed=11, bank=bank)
    assert a.shape == (70, 40) and (a.sum(1) == 1000).all()
    assert np.array_equal(a, zboson.simulate(theta, 1000, seed=11, bank=bank))
    assert not np.array_equal(a, zboson.simulate(theta, 1000, seed=12, bank=bank))


def test_radiation_spectrum_is_the_documented_one(bank):
    stages = zboson.simulation_stages(PDG, 200_000, seed=2, bank=bank)
    y = 1 - (stages["+ photon radiation"] / stages["produced"]) ** 2
    beta = zboson.fsr_beta()
    # P(y > y0) = integral of beta y^(beta-1) (1 + (1-y)^2) / 2 from y0 to 1
    for y0 in (0.01, 0.05, 0.2):
        grid = np.linspace(y0, 1, 200_001)
        expected = np.trapezoid(beta * grid ** (beta - 1) * (1 + (1 - grid) ** 2) / 2, grid)
        assert (y > y0).mean() == pytest.approx(expected, abs=0.004)
    # and, as measured against Pythia 8's photon shower (20 %, 13 %, 6 % of Z decays)
    assert (y > 0.01).mean() == pytest.approx(0.20, abs=0.02)


def test_line_shape_and_selection(bank):
    stages = zboson.simulation_stages(PDG, 300_000, seed=4, bank=bank)
    produced = stages["produced"]
    peak = produced[(produced > 86) & (produced < 96)]
    # the relativistic Breit-Wigner times the falling parton luminosity peaks just below m_Z
    assert -0.15 < np.median(peak) - zboson.PDG_MZ < 0.0
    observed = stages["+ selection (observed)"]
    selected = np.isfinite(observed)
    assert 0.45 < selected.mean() < 0.65  # pT > 20 GeV and |eta| < 2.4 on both muons
    in_window = observed[selected & (observed > 70) & (observed < 110)]
    # radiation and resolution pull the observed median down by 0.3-0.5 GeV
    assert -0.55 < np.median(in_window) - zboson.PDG_MZ < -0.25


def test_resolution_scale_widens_the_peak(bank):
    widths = []
    for s in (0.5, 1.0, 2.0):
        masses = zboson.simulation_stages([zboson.PDG_MZ, zboson.PDG_GZ, s, 0.0], 200_000, seed=6, bank=bank)["+ momentum resolution"]
        core = masses[(masses > 86) & (masses < 96)]
        widths.append(np.subtract(*np.percentile(core, [75, 25])))
    assert widths[0] < widths[1] < widths[2]
