"""Chapter 3's shared code: what lesson 3.1 writes out and explains, saved here for lesson 3.2.

In d2l's manner, a function is taught where it is first written, in lesson 3.1
(``notebooks/03-gnn-tracking/01-gnn-tracking.ipynb``), and the cells mark it ``#@save``; lesson 3.2
imports it from here instead of copying it. ``tests/test_shared_lesson_code.py`` checks that each
saved definition here has exactly the source the lesson shows, so the two cannot drift apart.
The saved functions take every physics choice (thresholds, cuts, widths, epochs) as an argument:
a default here would silently ignore what an instructor sets in lesson 3.2's parameters cell.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

with warnings.catch_warnings():
    # torch_geometric imports tqdm.auto, which warns "IProgress not found" without ipywidgets
    warnings.filterwarnings("ignore", message="IProgress not found")
    from torch_geometric.data import Data
    from torch_geometric.nn import MessagePassing


# ---------------------------------------------------------------- saved from lesson 3.1
def sample_label(ax, mode):  #@save
    """Who made the events: this book's simulation (sample mode) or the TrackML challenge's (full mode)."""
    text = "TrackML-format sample (this book's simulation)" if mode == "sample" else "TrackML events (ACTS simulation)"
    ax.set_title(text, fontsize=12, loc="left")


BARREL_LAYERS = [(8, 2), (8, 4), (8, 6), (8, 8), (13, 2), (13, 4), (13, 6), (13, 8), (17, 2), (17, 4)]  #@save


def select_hits(event, pt_min):  #@save
    """Barrel hits of particles above pt_min [GeV], one per particle and layer, no noise."""
    hits = event["hits"].merge(event["truth"][["hit_id", "particle_id", "weight"]], on="hit_id")
    particles = event["particles"].set_index("particle_id")
    hits["pt"] = np.hypot(particles.px, particles.py).reindex(hits.particle_id).fillna(0).to_numpy()
    layer = pd.Series(range(len(BARREL_LAYERS)), index=pd.MultiIndex.from_tuples(BARREL_LAYERS))
    hits["layer"] = layer.reindex(pd.MultiIndex.from_arrays([hits.volume_id, hits.layer_id])).fillna(-1).astype(int).to_numpy()
    hits["r"] = np.hypot(hits.x, hits.y)
    hits["phi"] = np.arctan2(hits.y, hits.x)
    sel = hits[(hits.layer >= 0) & (hits.particle_id != 0) & (hits.pt > pt_min)]
    sel = sel.sort_values("r").drop_duplicates(["particle_id", "layer"])
    return sel.sort_values(["layer", "phi"]).reset_index(drop=True)


def build_graph(hits, phi_slope_max, z0_max):  #@save
    """Edges (source, target, is_true) between hits of adjacent layers that pass the cuts."""
    sources, targets = [], []
    for layer in range(len(BARREL_LAYERS) - 1):
        inner = np.flatnonzero(hits.layer.to_numpy() == layer)
        outer = np.flatnonzero(hits.layer.to_numpy() == layer + 1)
        if not len(inner) or not len(outer):
            continue
        r_in, phi_in, z_in = (hits[c].to_numpy()[inner] for c in ("r", "phi", "z"))
        r_out, phi_out, z_out = (hits[c].to_numpy()[outer] for c in ("r", "phi", "z"))
        window = phi_slope_max * (r_out.max() - r_in.min())
        # outer hits sorted by phi, three copies (phi - 2pi, phi, phi + 2pi) to wrap around
        order = np.argsort(phi_out)
        phis = np.concatenate([phi_out[order] - 2 * np.pi, phi_out[order], phi_out[order] + 2 * np.pi])
        lo, hi = np.searchsorted(phis, phi_in - window), np.searchsorted(phis, phi_in + window)
        i = np.repeat(np.arange(len(inner)), hi - lo)
        j = order[(np.concatenate([np.arange(a, b) for a, b in zip(lo, hi)]) if len(i) else np.zeros(0, int)) % len(outer)]
        dr = r_out[j] - r_in[i]
        dphi = (phi_out[j] - phi_in[i] + np.pi) % (2 * np.pi) - np.pi
        z0 = z_in[i] - r_in[i] * (z_out[j] - z_in[i]) / dr
        keep = (np.abs(dphi / dr) < phi_slope_max) & (np.abs(z0) < z0_max)
        sources.append(inner[i[keep]]); targets.append(outer[j[keep]])
    src, dst = np.concatenate(sources), np.concatenate(targets)
    pid = hits.particle_id.to_numpy()
    return src, dst, pid[src] == pid[dst]


def n_true_edges(hits):  #@save
    """The true connections: consecutive hits of one particle on adjacent layers."""
    h = hits.sort_values(["particle_id", "layer"])
    same = h.particle_id.to_numpy()[1:] == h.particle_id.to_numpy()[:-1]
    return int(np.sum(same & (np.diff(h.layer.to_numpy()) == 1)))


class InteractionNetwork(MessagePassing):  #@save
    """Edge classifier: encode hits and hit pairs, then `iterations` rounds of (each edge from its
    two hits; each hit from the sums of its inner and of its outer edges), then score each edge."""
    def __init__(self, hidden, iterations, node_features=4, edge_features=4):
        super().__init__(aggr="add")
        mlp = lambda n_in, n_out=hidden: nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, n_out))
        self.node_encoder, self.edge_encoder = mlp(node_features), mlp(edge_features)
        self.edge_network, self.node_network = mlp(3 * hidden), mlp(3 * hidden)
        self.classifier = mlp(3 * hidden, 1)
        self.iterations = iterations

    def forward(self, x, edge_index, edge_attr):
        h, e = self.node_encoder(x), self.edge_encoder(edge_attr)
        inner, outer = edge_index
        n = len(h)
        for _ in range(self.iterations):
            e = e + self.edge_network(torch.cat([h[inner], h[outer], e], dim=1))
            from_inner = self.propagate(edge_index, e=e, size=(n, n))          # summed at each edge's outer hit
            from_outer = self.propagate(edge_index.flip(0), e=e, size=(n, n))  # summed at each edge's inner hit
            h = h + self.node_network(torch.cat([h, from_inner, from_outer], dim=1))
        return self.classifier(torch.cat([h[inner], h[outer], e], dim=1)).squeeze(1)

    def message(self, e):
        return e  # what travels along an edge: its hidden vector


def to_graph(hits, src, dst, y):  #@save
    """The event as a torch_geometric graph."""
    x = np.column_stack([hits.r / 1000, np.cos(hits.phi), np.sin(hits.phi), hits.z / 1000]).astype(np.float32)
    dphi = (hits.phi.to_numpy()[dst] - hits.phi.to_numpy()[src] + np.pi) % (2 * np.pi) - np.pi
    dr, dz = hits.r.to_numpy()[dst] - hits.r.to_numpy()[src], hits.z.to_numpy()[dst] - hits.z.to_numpy()[src]
    edge_attr = np.column_stack([dr / 100, dphi * 10, dz / 100, dphi / dr * 1000]).astype(np.float32)
    return Data(x=torch.from_numpy(x), edge_index=torch.from_numpy(np.stack([src, dst])).long(),
                edge_attr=torch.from_numpy(edge_attr), y=torch.from_numpy(y.astype(np.float32)))


def edge_scores(model, graph):  #@save
    """The probability of each edge of ``graph`` to be true."""
    device = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        return torch.sigmoid(model(graph.x.to(device), graph.edge_index.to(device), graph.edge_attr.to(device))).cpu().numpy()


def train(model, train_graphs, val_graphs, epochs, lr, rng):  #@save
    """Train one event per step, in an order drawn from ``rng``; keep the weights of the epoch with
    the lowest validation loss; returns the history."""
    device = next(model.parameters()).device
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.BCEWithLogitsLoss()
    history, best = [], (np.inf, None)
    for epoch in tqdm(range(1, epochs + 1), desc="training", unit="epoch", mininterval=2):
        model.train()
        losses = []
        for i in rng.permutation(len(train_graphs)):
            g = train_graphs[i].to(device)
            optimiser.zero_grad()
            loss = loss_fn(model(g.x, g.edge_index, g.edge_attr), g.y)
            loss.backward(); optimiser.step(); losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            val = np.mean([loss_fn(model(g.x.to(device), g.edge_index.to(device), g.edge_attr.to(device)), g.y.to(device)).item() for g in val_graphs])
        history.append({"epoch": epoch, "training loss": np.mean(losses), "validation loss": val})
        if val < best[0]:
            best = (val, {k: v.detach().clone() for k, v in model.state_dict().items()})
    if best[1] is not None:
        model.load_state_dict(best[1])
    return pd.DataFrame(history).set_index("epoch")


def geometric_scores(hits, src, dst, phi_slope_max, z0_max):  #@save
    """Classical, pairwise: how straight and beam-pointing an edge is, from the cuts alone."""
    r, phi, z = (hits[c].to_numpy() for c in ("r", "phi", "z"))
    dr = r[dst] - r[src]
    dphi = (phi[dst] - phi[src] + np.pi) % (2 * np.pi) - np.pi
    z0 = z[src] - r[src] * (z[dst] - z[src]) / dr
    return 1 - 0.5 * (np.abs(dphi / dr) / phi_slope_max + np.abs(z0) / z0_max)


def triplet_scores(hits, src, dst, sigma_phi=2e-4, sigma_z=0.05):  #@save
    """Classical, triplets: how well an edge continues its best neighbour (an edge sharing its
    outer hit as inner hit, or its inner hit as outer hit) in dphi/dr and dz/dr."""
    r, phi, z = (hits[c].to_numpy() for c in ("r", "phi", "z"))
    dr = r[dst] - r[src]
    edges = pd.DataFrame({"src": src, "dst": dst, "edge": np.arange(len(src)),
                          "slope_phi": ((phi[dst] - phi[src] + np.pi) % (2 * np.pi) - np.pi) / dr,
                          "slope_z": (z[dst] - z[src]) / dr})
    pairs = edges.merge(edges, left_on="dst", right_on="src", suffixes=("", "_next"))  # consecutive edges
    chi = (np.abs(pairs.slope_phi - pairs.slope_phi_next) / sigma_phi
           + np.abs(pairs.slope_z - pairs.slope_z_next) / sigma_z).to_numpy()
    best = pd.concat([pd.Series(chi, index=pairs.edge), pd.Series(chi, index=pairs.edge_next)]).groupby(level=0).min()
    return -best.reindex(np.arange(len(src))).fillna(1e3).to_numpy()  # no neighbour at all: very unlikely
