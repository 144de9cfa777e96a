"""The Z boson line shape for chapter 5 (simulation-based inference): a reader, a fast simulator
of the selected dimuon mass spectrum, and the exact binned likelihood of its tractable twin.

Parameters theta = (m_Z [GeV], Gamma_Z [GeV], resolution scale s, background fraction f_b).

**The simulator** (``simulate(..., realistic=True)``), vectorised over simulations and events:

1. Production, 60 < m < 120 GeV: a fraction ``f_b`` of events is non-resonant, with
   dN/dm ~ exp(-m / 30 GeV); the others follow the relativistic Breit-Wigner with an
   s-dependent width, ``dN/ds ~ s / ((s - m_Z^2)^2 + s^2 Gamma_Z^2 / m_Z^2)``, the line shape in
   which LEP, and so the PDG, define m_Z and Gamma_Z, times the falling parton luminosity
   (m^-2.8 in dN/dm, see ``LUMINOSITY_POWER``).
2. Kinematics: the boson's transverse momentum and rapidity and the decay angles
   (1 + cos^2 theta* in the rest frame) come from a bank of decays at unit mass; massless muons'
   momenta scale with the mass, so one bank serves every theta (``decay_bank``).
3. Final-state radiation: the pair loses a fraction y of its squared mass to a photon (all of it
   taken from one muon, chosen at random), with the leading-logarithm spectrum
   beta y^(beta - 1) (1 + (1 - y)^2) / 2, beta = (2 alpha / pi) (ln(m^2 / m_mu^2) - 1).
4. Momentum resolution, per muon: sigma(pT) / pT = s (1 % + 0.01 % pT / GeV) (the book's sample
   uses s = 1, close to CMS's 1-2 % in the barrel at 45 GeV).
5. Selection, as in ``read_dimuon_masses``: both muons pT > 20 GeV and |eta| < 2.4, and
   70 < m < 110 GeV. Exactly ``n_events`` selected events are histogrammed in 1 GeV bins.

**The tractable twin** (``realistic=False``): no acceptance, no radiation, a non-relativistic
Breit-Wigner (Cauchy) line shape and a constant mass resolution sigma_m = s x 1 GeV. Its
binned likelihood is a multinomial whose bin probabilities are integrals of a Voigt profile
plus a Gaussian-smeared exponential (``twin_bin_probabilities``); the only approximation is
that the production range 60-120 GeV is ignored for the smeared tails, an error below 1e-7.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

WINDOW = (70.0, 110.0)  # GeV, the fitted mass window
BIN_EDGES = np.linspace(*WINDOW, 41)  # 1 GeV bins
PRODUCTION = (60.0, 120.0)  # GeV, masses produced by the simulator
PT_MIN, ETA_MAX = 20.0, 2.4  # the selection, both muons
BACKGROUND_SLOPE = 30.0  # GeV, exp(-m / BACKGROUND_SLOPE)
# dN/dm of q qbar -> Z falls as m^-2.8 times the line shape near the peak at 8 TeV (a fit of
# Pythia 8's gamma*/Z mass spectrum, 80-112 GeV, divided by the Breit-Wigner): the parton luminosity
LUMINOSITY_POWER = 2.8
TWIN_SIGMA_REF = 1.0  # GeV: the twin's mass resolution at s = 1
MUON_MASS = 0.10565837
ALPHA = 1 / 137.036
PARAMETER_NAMES = ("m_Z [GeV]", "Gamma_Z [GeV]", "resolution scale s", "background fraction f_b")  # tables
PARAMETER_LABELS = (r"$m_Z$ [GeV]", r"$\Gamma_Z$ [GeV]", r"resolution scale $s$", r"background fraction $f_b$")  # figures
PRIOR_LOW = np.array([90.0, 1.5, 0.5, 0.0])
PRIOR_HIGH = np.array([92.5, 3.5, 2.0, 0.2])
PDG_MZ, PDG_MZ_ERR = 91.1876, 0.0021  # PDG average
PDG_GZ, PDG_GZ_ERR = 2.4955, 0.0023


# ---------------------------------------------------------------------------------------------
# Reading the observation: one reader for the book's sample and the real CMS file
def read_dimuon_masses(path: Path | str, max_events: int | None = None, step_size: int = 500_000,
                       progress: bool = True) -> np.ndarray:
    """Masses [GeV] of selected Z candidates: events with exactly two muons, of opposite charge,
    both with pT > 20 GeV and |eta| < 2.4, and a mass inside ``WINDOW``. Reads chunk by chunk,
    so a cap of millions of events stays within a few hundred MB."""
    import awkward as ak
    import uproot
    import vector
    from tqdm import tqdm

    vector.register_awkward()
    tree = uproot.open(path)["Events"]
    stop = tree.num_entries if max_events is None else min(max_events, tree.num_entries)
    masses = []
    chunks = tree.iterate(["Muon_pt", "Muon_eta", "Muon_phi", "Muon_mass", "Muon_charge"],
                          step_size=step_size, entry_stop=stop)
    for arrays in tqdm(chunks, total=-(-stop // step_size), desc="reading events", disable=not progress):
        muons = ak.zip({"pt": arrays.Muon_pt, "eta": arrays.Muon_eta, "phi": arrays.Muon_phi,
                        "mass": arrays.Muon_mass, "charge": arrays.Muon_charge}, with_name="Momentum4D")
        two = muons[ak.num(muons) == 2]
        good = (two.charge[:, 0] != two.charge[:, 1]) & ak.all((two.pt > PT_MIN) & (abs(two.eta) < ETA_MAX), axis=1)
        pair = two[good]
        m = ak.to_numpy((pair[:, 0] + pair[:, 1]).mass).astype(np.float64)
        masses.append(m[(m > WINDOW[0]) & (m < WINDOW[1])])
    return np.concatenate(masses) if masses else np.zeros(0)


def histogram(masses: np.ndarray) -> np.ndarray:
    """Counts in the 40 bins of ``BIN_EDGES`` (what the simulator returns)."""
    return np.histogram(masses, BIN_EDGES)[0].astype(np.float32)


# ---------------------------------------------------------------------------------------------
# The simulator
def decay_bank(n: int = 1 << 20, seed: int = 0) -> np.ndarray:
    """Decays of a unit-mass boson into two massless muons: columns (pT_1, eta_1, pT_2, eta_2),
    pT in units of the boson mass. The boson has pT / m ~ Gamma(1.2, 12 GeV / 91 GeV) (median
    pT about 10 GeV at the Z) and rapidity ~ Normal(0, 1.8); cos theta* follows 1 + cos^2 theta*."""
    import vector

    rng = np.random.default_rng(seed)
    pt_over_m = rng.gamma(1.2, 12.0 / 91.0, n)
    rapidity = rng.normal(0.0, 1.8, n)
    phi = rng.uniform(-np.pi, np.pi, n)
    m_t = np.sqrt(1.0 + pt_over_m ** 2)  # transverse mass (vector has no rapidity coordinate)
    boson = vector.array({"pt": pt_over_m, "phi": phi, "pz": m_t * np.sinh(rapidity), "E": m_t * np.cosh(rapidity)})
    # cos theta* from (3/8)(1 + c^2) by inverting its CDF, c^3 + 3c = 8u - 4 (Cardano's formula)
    q = 4.0 * rng.random(n) - 2.0
    cos_theta = np.cbrt(q + np.sqrt(q * q + 1.0)) + np.cbrt(q - np.sqrt(q * q + 1.0))
    sin_theta = np.sqrt(1.0 - cos_theta ** 2)
    phi_star = rng.uniform(-np.pi, np.pi, n)
    p = 0.5 * np.stack([sin_theta * np.cos(phi_star), sin_theta * np.sin(phi_star), cos_theta])
    mu1 = vector.array({"px": p[0], "py": p[1], "pz": p[2], "E": np.full(n, 0.5)}).boost_p4(boson)
    mu2 = vector.array({"px": -p[0], "py": -p[1], "pz": -p[2], "E": np.full(n, 0.5)}).boost_p4(boson)
    return np.stack([mu1.pt, mu1.eta, mu2.pt, mu2.eta], axis=1).astype(np.float32)


def fsr_beta(mass: float = PDG_MZ) -> float:
    return 2 * ALPHA / np.pi * (np.log(mass ** 2 / MUON_MASS ** 2) - 1.0)


def _produce(theta: np.ndarray, n: int, rng: np.random.Generator, realistic: bool) -> np.ndarray:
    """True masses, shape (n_sims, n): resonance or background per event."""
    m_z, gamma, f_b = theta[:, 0:1], theta[:, 1:2], theta[:, 3:4]
    lo, hi = PRODUCTION
    shape = (len(theta), n)
    if realistic:
        # relativistic BW in s with running width times the parton luminosity, by rejection from
        # the fixed-width BW in s (invertible): their ratio,
        # s((s - m^2)^2 + m^2 G^2) / ((s - m^2)^2 + s^2 G^2 / m^2) (s / s_min)^(-k/2), is below
        # 1.01 s_min over the production range; accepted proposals are moved to the front
        n_prop = int(2.0 * n) + 32
        mg = m_z * gamma
        a_lo, a_hi = np.arctan((lo ** 2 - m_z ** 2) / mg), np.arctan((hi ** 2 - m_z ** 2) / mg)
        s = m_z ** 2 + mg * np.tan(a_lo + (a_hi - a_lo) * rng.random((len(theta), n_prop)))
        ratio = s * ((s - m_z ** 2) ** 2 + mg ** 2) / ((s - m_z ** 2) ** 2 + (s * gamma / m_z) ** 2)
        ratio *= (s / lo ** 2) ** (-LUMINOSITY_POWER / 2)
        keep = rng.random(s.shape) * (1.01 * lo ** 2) < ratio
        order = np.argsort(~keep, axis=1, kind="stable")[:, :n]
        m = np.sqrt(np.take_along_axis(s, order, axis=1))
        m[~np.take_along_axis(keep, order, axis=1)] = np.nan  # never seen with the 2x margin
    else:
        half = gamma / 2
        c_lo, c_hi = np.arctan((lo - m_z) / half), np.arctan((hi - m_z) / half)
        m = m_z + half * np.tan(c_lo + (c_hi - c_lo) * rng.random(shape))
    # background: exponential truncated to the production range (inverse CDF)
    e_lo, e_hi = np.exp(-lo / BACKGROUND_SLOPE), np.exp(-hi / BACKGROUND_SLOPE)
    m_bkg = -BACKGROUND_SLOPE * np.log(e_lo - (e_lo - e_hi) * rng.random(shape))
    is_bkg = rng.random(shape) < f_b
    return np.where(is_bkg, m_bkg, m), is_bkg


def _observe(m: np.ndarray, s: np.ndarray, rng: np.random.Generator, realistic: bool, bank: np.ndarray | None,
             stages: dict | None = None):
    """Observed masses (nan where an event is not selected); ``stages`` collects the masses
    after each step, for the lesson's figure."""
    if not realistic:
        return m + s * TWIN_SIGMA_REF * rng.standard_normal(m.shape)
    # float32 from here: twice as fast, and 1e-7 relative precision is far below the resolution
    m = m.astype(np.float32)
    s = np.float32(s)
    shape = m.shape
    pick = bank[rng.integers(0, len(bank), shape)]
    pt1, eta1, pt2, eta2 = pick[..., 0] * m, pick[..., 1], pick[..., 2] * m, pick[..., 3]
    y = rng.random(shape, dtype=np.float32) ** np.float32(1.0 / fsr_beta())
    y = np.where(rng.random(shape, dtype=np.float32) < (1 + (1 - y) ** 2) / 2, y, np.float32(0))  # splitting function
    first = rng.random(shape, dtype=np.float32) < 0.5
    pt1 = np.where(first, pt1 * (1 - y), pt1)
    pt2 = np.where(first, pt2, pt2 * (1 - y))
    if stages is not None:
        stages["produced"] = m
        stages["+ photon radiation"] = m * np.sqrt(1 - y)
    d1 = 1 + s * (np.float32(0.01) + np.float32(1e-4) * pt1) * rng.standard_normal(shape, dtype=np.float32)
    d2 = 1 + s * (np.float32(0.01) + np.float32(1e-4) * pt2) * rng.standard_normal(shape, dtype=np.float32)
    # massless muons: m^2 = 2 pT1 pT2 (cosh deta - cos dphi) scales with each pT
    m_obs = m * np.sqrt(np.clip((1 - y) * d1 * d2, 0, None))
    selected = (pt1 * d1 > PT_MIN) & (pt2 * d2 > PT_MIN) & (np.abs(eta1) < ETA_MAX) & (np.abs(eta2) < ETA_MAX)
    if stages is not None:
        stages["+ momentum resolution"] = m_obs
        stages["+ selection (observed)"] = np.where(selected, m_obs, np.nan)
    return np.where(selected, m_obs, np.nan)


def simulation_stages(theta, n: int, seed: int = 0, bank: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Masses of ``n`` produced events for one ``theta`` after each step of the realistic
    simulator (nan: not selected), in the order the simulator applies them."""
    rng = np.random.default_rng(seed)
    theta = np.atleast_2d(np.asarray(theta, dtype=np.float64))
    m, _ = _produce(theta, n, rng, True)
    stages: dict[str, np.ndarray] = {}
    _observe(m, theta[:, 2:3], rng, True, decay_bank() if bank is None else bank, stages)
    return {k: np.asarray(v[0], dtype=np.float64) for k, v in stages.items()}


def simulate(theta, n_events: int, seed: int | np.random.Generator = 0, realistic: bool = True,
             bank: np.ndarray | None = None, batch: int = 64, progress: bool = False):
    """Histograms (n_sims, 40) of exactly ``n_events`` selected events for each row of ``theta``
    (n_sims, 4): the realistic simulator, or its tractable twin (``realistic=False``)."""
    from tqdm import tqdm

    theta = np.atleast_2d(np.asarray(theta, dtype=np.float64))
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if realistic and bank is None:
        bank = decay_bank()
    out = np.zeros((len(theta), len(BIN_EDGES) - 1), dtype=np.float32)
    for start in tqdm(range(0, len(theta), batch), desc="simulations", unit_scale=batch, disable=not progress,
                      mininterval=2):
        rows = theta[start:start + batch]
        # events produced per selected one: at worst (f_b = 0.2, wide Z) 1 / 0.45 with the
        # acceptance, 1 / 0.87 without; a row with too few is redone with more
        per_event = 2.4 if realistic else 1.25
        need = np.arange(len(rows))
        while len(need):
            n_prop = int(n_events * per_event) + 64
            m, _ = _produce(rows[need], n_prop, rng, realistic)
            obs = _observe(m, rows[need, 2:3], rng, realistic, bank)
            inside = (obs > WINDOW[0]) & (obs < WINDOW[1])
            enough = inside.sum(axis=1) >= n_events
            for i in np.flatnonzero(enough):
                values = obs[i][inside[i]][:n_events]
                out[start + need[i]] = np.histogram(values, BIN_EDGES)[0]
            need = need[~enough]
            per_event *= 1.5  # rare: too few selected events in a row; retry those rows with more
    return out


# ---------------------------------------------------------------------------------------------
# The tractable twin's exact likelihood
_GL_X, _GL_W = np.polynomial.legendre.leggauss(8)


def twin_components(m_z, gamma, s) -> tuple[np.ndarray, np.ndarray]:
    """The twin's signal and background probabilities per bin (..., 40), each normalised to the
    production range, for broadcastable arrays of m_Z, Gamma_Z and s: a Voigt profile (Cauchy of
    FWHM Gamma_Z convolved with a Gaussian of sigma s x 1 GeV) and an exponential convolved with
    the same Gaussian (the exponentially modified Gaussian, written with erfc), each integrated
    over the bins by 8-point Gauss-Legendre quadrature (the integrands are smooth on the bin
    scale: the narrowest has FWHM 0.75 GeV)."""
    from scipy.special import erfc, voigt_profile

    m_z, gamma, s = (np.asarray(v, dtype=np.float64)[..., None, None] for v in (m_z, gamma, s))
    sigma = s * TWIN_SIGMA_REF
    lo, hi = BIN_EDGES[:-1, None], BIN_EDGES[1:, None]
    x = 0.5 * (lo + hi) + 0.5 * (hi - lo) * _GL_X  # (40, 8) nodes
    w = 0.5 * (hi - lo) * _GL_W
    half = gamma / 2
    cauchy_norm = (np.arctan((PRODUCTION[1] - m_z) / half) - np.arctan((PRODUCTION[0] - m_z) / half)) / np.pi
    signal = (voigt_profile(x - m_z, sigma, half) * w).sum(-1) / cauchy_norm[..., 0]
    k = 1.0 / BACKGROUND_SLOPE
    z = x - PRODUCTION[0]
    emg = 0.5 * k * np.exp(-k * z + 0.5 * (k * sigma) ** 2) * erfc((k * sigma ** 2 - z) / (np.sqrt(2) * sigma))
    background = (emg * w).sum(-1) / (1 - np.exp(-k * (PRODUCTION[1] - PRODUCTION[0])))
    return signal, background


def twin_bin_probabilities(theta: np.ndarray) -> np.ndarray:
    """Exact bin probabilities (..., 40) of the twin for parameters (..., 4), given that the event
    lands in the window (the observation holds a fixed number of events)."""
    theta = np.asarray(theta, dtype=np.float64)
    signal, background = twin_components(theta[..., 0], theta[..., 1], theta[..., 2])
    f_b = theta[..., 3, None]
    p = (1 - f_b) * signal + f_b * background
    return p / p.sum(-1, keepdims=True)


def twin_log_likelihood(theta: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Multinomial log-likelihood (up to a constant) of ``counts`` (40,) for parameters (..., 4)."""
    return (np.asarray(counts) * np.log(twin_bin_probabilities(theta))).sum(-1)


def twin_log_likelihood_grid(counts: np.ndarray, axes: list[np.ndarray]) -> np.ndarray:
    """The same on the product grid of four 1-D ``axes`` (m_Z, Gamma_Z, s, f_b), shape
    (n_m, n_Gamma, n_s, n_f): the Voigt integrals are computed once per (m_Z, Gamma_Z, s), the
    background once per s, and f_b only mixes them."""
    m, g, s = np.meshgrid(axes[0], axes[1], axes[2], indexing="ij")
    signal, _ = twin_components(m, g, s)
    _, background = twin_components(axes[0][0], axes[1][0], axes[2])
    counts = np.asarray(counts, dtype=np.float64)
    out = np.empty(m.shape + (len(axes[3]),))
    for j, f_b in enumerate(axes[3]):
        p = (1 - f_b) * signal + f_b * background
        out[..., j] = (counts * np.log(p)).sum(-1) - counts.sum() * np.log(p.sum(-1))
    return out
