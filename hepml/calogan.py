"""Chapter 4's shared code: what lesson 4.1 writes out and explains, saved here for lesson 4.2.

In d2l's manner, a definition is taught where it is first written, in lesson 4.1
(``notebooks/04-calo-gan/01-calo-gan.ipynb``), and the cells mark it ``#@save``; lesson 4.2 imports
it from here instead of copying it. ``tests/test_shared_lesson_code.py`` checks that each saved
definition here has exactly the source the lesson shows, so the two cannot drift apart. The saved
definitions take every choice (the log floor, the widths, the iterations, the learning rate, the
seed) as an argument: a default here would silently ignore what an instructor sets in lesson 4.2's
parameters cell. The device is the networks' own (``ShowerScaling.to``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from hepml import calo


# ---------------------------------------------------------------- saved from lesson 4.1
class ShowerScaling:  #@save
    """The three steps, fitted on the training showers (MeV) and their incident energies E: it turns
    showers into the networks' inputs and holds what the generator needs to undo them. ``to(device)``
    moves its tensors to the networks' device."""

    def __init__(self, showers, E, binning, log_floor):
        self.binning, self.log_floor, self.device = binning, log_floor, torch.device("cpu")
        self.layer_slices = [binning.layer_slice(layer) for layer in binning.layers]
        self.levels = np.unique(E)  # the 15 incident energies
        self.energy_levels_mev = torch.tensor(self.levels, dtype=torch.float32)
        response = showers.sum(axis=1) / E
        self.response_mean = torch.tensor([response[E == e].mean() for e in self.levels], dtype=torch.float32)
        self.response_std = torch.tensor([response[E == e].std() for e in self.levels], dtype=torch.float32)
        r_mid, xy = binning.voxels.r_mid.to_numpy(), binning.voxels[["x", "y"]].to_numpy()
        self.ring_radius = [torch.tensor(r_mid[s], dtype=torch.float32) for s in self.layer_slices]
        self.angular_slices = [binning.layer_slice(layer) for layer in binning.layers_binned_in_alpha]
        self.voxel_xy = [torch.tensor(xy[s], dtype=torch.float32) for s in self.angular_slices]
        x, _, level = self.inputs(showers, E)
        raw = self.features(x, level)
        self.feature_mean, self.feature_std = raw.mean(dim=0), raw.std(dim=0) + 1e-3
        self.n_features = raw.shape[1]

    def to(self, device):
        """The same scaling, its tensors on ``device`` (where the networks are)."""
        self.device = torch.device(device)
        for name, value in vars(self).items():
            if isinstance(value, torch.Tensor):
                setattr(self, name, value.to(self.device))
            elif isinstance(value, list) and value and isinstance(value[0], torch.Tensor):
                setattr(self, name, [v.to(self.device) for v in value])
        return self

    def level(self, E):
        """The index (0-14) of each incident energy among the 15."""
        return torch.as_tensor(np.searchsorted(self.levels, E), device=self.device)

    def condition(self, E):
        """The conditioning input: log2 of the incident energy, mapped to [0, 1]."""
        return torch.tensor(((np.log2(E) - 8) / 14)[:, None], dtype=torch.float32, device=self.device)

    def inputs(self, showers, E):
        """(x = E_voxel / E_inc, the condition, the energy level) of showers in MeV, on the device."""
        x = torch.tensor(showers / E[:, None], dtype=torch.float32, device=self.device)
        return x, self.condition(E), self.level(E)

    def features(self, x, level):
        """What the critic sees of showers x = E_voxel / E_inc: log voxels, the layers' shares of the
        energy, the response in units of its spread at that energy, per layer the radial centre of
        energy and width (log mm), and the centre of energy (mm) in the layers binned in angle: the
        shape summaries it would otherwise have to learn to compute."""
        layers = torch.stack([x[:, s].sum(dim=1) for s in self.layer_slices], dim=1)
        total = layers.sum(dim=1, keepdim=True)
        response = (total - self.response_mean[level, None]) / self.response_std[level, None]
        radii = list(zip(self.layer_slices, self.ring_radius))
        centre = torch.stack([(x[:, s] * r).sum(dim=1) for s, r in radii], dim=1) / (layers + 1e-9)
        second = torch.stack([(x[:, s] * r ** 2).sum(dim=1) for s, r in radii], dim=1) / (layers + 1e-9)
        width = torch.sqrt(torch.clamp(second - centre ** 2, min=0) + 1e-6)
        centre_xy = [x[:, s] @ xy / (x[:, s].sum(dim=1, keepdim=True) + 1e-9)
                     for s, xy in zip(self.angular_slices, self.voxel_xy)]
        return torch.cat([torch.log(x + self.log_floor), layers / (total + 1e-9), response,
                          torch.log1p(centre), torch.log1p(width), *centre_xy], dim=1)

    def critic_input(self, x, level):
        """The features, standardised with the training showers' mean and spread."""
        return (self.features(x, level) - self.feature_mean) / self.feature_std


class Generator(nn.Module):  #@save
    """(z, c, energy level) -> showers as fractions of the incident energy (N, 368)."""

    def __init__(self, scaling, latent, hidden):
        super().__init__()
        self.scaling, self.latent = scaling, latent
        self.body = nn.Sequential(nn.Linear(latent + 1, hidden), nn.LeakyReLU(0.2),
                                  nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
                                  nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
                                  nn.Linear(hidden, scaling.binning.total + len(scaling.layer_slices) + 1))

    def forward(self, z, c, level):
        s, n = self.scaling, self.scaling.binning.total
        out = self.body(torch.cat([z, c], dim=1))
        layer_share = torch.softmax(out[:, n:n + len(s.layer_slices)], dim=1)
        response = torch.clamp(s.response_mean[level, None] + s.response_std[level, None] * out[:, -1:], min=0)
        shapes = [torch.softmax(out[:, sl], dim=1) * layer_share[:, k:k + 1] for k, sl in enumerate(s.layer_slices)]
        x = torch.cat(shapes, dim=1) * response
        # the challenge's 1 MeV threshold, in training too: energy spread thinly below it is lost
        return x * (x * s.energy_levels_mev[level, None] >= calo.EVALUATION_THRESHOLD_MEV)


def make_critic(scaling, hidden):  #@save
    n_inputs = scaling.n_features + 1  # the critic's features and the condition
    return nn.Sequential(nn.Linear(n_inputs, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
                         nn.Linear(hidden, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1))


def critic_score(critic, features, c):  #@save
    return critic(torch.cat([features, c], dim=1)).squeeze(1)


def generate(generator, E, batch=4096):  #@save
    """Showers in MeV for the incident energies E (numpy), with the 1 MeV threshold applied."""
    generator.eval()
    s, device, out = generator.scaling, next(generator.parameters()).device, []
    with torch.no_grad():
        for start in range(0, len(E), batch):
            e = E[start:start + batch]
            z = torch.randn(len(e), generator.latent, device=device)
            out.append(generator(z, s.condition(e), s.level(e)).cpu().numpy() * e[:, None])
    showers = np.concatenate(out)
    showers[showers < calo.EVALUATION_THRESHOLD_MEV] = 0
    return showers


def train_gan(generator, critic, showers, E, iterations, n_critic, batch, lr, gp_weight, seed,  #@save
              monitor_every=250, progress=True):
    """WGAN-GP training on the showers (MeV) and their incident energies E; returns the history,
    one row per monitored iteration. The learning rate decays to zero along a cosine: the last
    iterations refine instead of jumping around."""
    s, device = generator.scaling, next(generator.parameters()).device
    optimisers = [torch.optim.Adam(net.parameters(), lr=lr, betas=(0.5, 0.9)) for net in (generator, critic)]
    schedules = [torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=iterations) for opt in optimisers]
    opt_g, opt_c = optimisers
    history, running = [], []
    watch = np.random.default_rng(seed).choice(len(E), 2000, replace=False)
    watched_fractions = calo.layer_fractions(showers[watch], s.binning).mean(0)
    X, C, L = s.inputs(showers, E)
    for it in tqdm(range(1, iterations + 1), desc="GAN iterations", mininterval=5, disable=not progress):
        generator.train()
        for _ in range(n_critic):
            idx = torch.randint(0, len(X), (batch,), device=device)
            c, level = C[idx], L[idx]
            with torch.no_grad():
                fake = generator(torch.randn(batch, generator.latent, device=device), c, level)
            f_real, f_fake = s.critic_input(X[idx], level), s.critic_input(fake, level)
            w_estimate = critic_score(critic, f_real, c).mean() - critic_score(critic, f_fake, c).mean()
            mix = torch.rand(batch, 1, device=device)
            between = (mix * f_real + (1 - mix) * f_fake).requires_grad_(True)
            grad, = torch.autograd.grad(critic_score(critic, between, c).sum(), between, create_graph=True)
            penalty = ((grad.norm(dim=1) - 1) ** 2).mean()
            opt_c.zero_grad()
            (-w_estimate + gp_weight * penalty).backward()
            opt_c.step()
        idx = torch.randint(0, len(X), (batch,), device=device)
        c, level = C[idx], L[idx]
        fake = generator(torch.randn(batch, generator.latent, device=device), c, level)
        g_loss = -critic_score(critic, s.critic_input(fake, level), c).mean()
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        for schedule in schedules:
            schedule.step()
        running.append((w_estimate.item(), penalty.item(), g_loss.item()))
        if it % monitor_every == 0:
            w, gp, gl = np.mean(running, axis=0)
            running = []
            fake = generate(generator, E[watch])
            frac_gap = np.abs(calo.layer_fractions(fake, s.binning).mean(0) - watched_fractions).max()
            spread = np.median([(fake.sum(1) / E[watch])[E[watch] == e].std() / s.response_std[k].item()
                                for k, e in enumerate(s.levels)])
            history.append({"iteration": it, "Wasserstein estimate": w, "gradient penalty": gp, "generator loss": gl,
                            "largest layer-fraction gap": frac_gap, "response spread, generated / real": spread})
    return pd.DataFrame(history).set_index("iteration")
