"""Our noise predictor (``helpers.denoiser``) against the tiny-diffusion recipe, on two moons.

The peer is the recipe of tanelp/tiny-diffusion, re-implemented here from its published settings:

* data: ``make_moons(8000, noise=0.03, random_state=42)``, then x <- (x + 0.3) 2 - 1 and
  y <- (y + 0.3) 3 - 1;
* schedule: linear betas from 1e-4 to 0.02 over T = 50 steps (and, as a second peer, T = 1000);
* network: sinusoidal embeddings of size 128 of t and of each coordinate (the coordinates scaled
  by 25), concatenated (384 features), Linear to 128 + GELU, three residual blocks
  x + GELU(Linear(x)), Linear to 2;
* training: the simple loss (mean squared error on eps), AdamW with lr 1e-3, batches of 256
  drawn by epoch, gradient norm clipped at 1, 150 epochs (4650 steps);
* sampling: DDPM ancestral sampling with the posterior variance beta_tilde_t, no noise at the
  last step.

Ours is ``helpers.denoiser.train_eps_model`` with its defaults (the recipe notebook 05 uses) on
the same data, with the schedule ``OURS_SCHEDULE`` and ``helpers.diffusion.ddpm_sample``.

Method. Every model is scored by the sliced Wasserstein-1 distance (256 fixed directions) and the
unbiased MMD^2 (Gaussian kernel, bandwidths fixed from the held-out set, see ``Scorer``)
between 2000 samples and 2000 held-out points (``make_moons`` with another seed, same transform),
in the peer's data units. The floor is two independent draws of the data; N(0, I) is the
no-learning reference. Each peer trains once, seeded, and is scored at checkpoints (1/4, 1/2
and all of its steps); its clock counts training steps only. Ours has a learning-rate schedule
tied to its number of steps, so each of its points is a separate run from scratch with that many
steps, N_full (calibrated to the peers' training time) times 1/32, 1/16, .., 1. The three
contestants' work alternates (peer T=50 up to a checkpoint, peer T=1000 up to it, ours' next run),
all on one torch thread, so a change in the machine's load falls on all of them. This gives one
curve of score against training seconds per model, from which

* ``at_equal_time``: each curve (SW1, and both MMDs) at the shorter of the stronger peer's and
  ours' final training times (interpolated linearly in log time; the stronger peer is the one
  with the lower final SW1);
* ``ours_time_to_peer_final_s``: the training seconds ours needs to reach the stronger peer's
  final SW1, and its ratio to that peer's time.
"""

from __future__ import annotations

import math
import os
import time

import numpy as np

N_TRAIN, N_EVAL = 8000, 2000
PEER = {"T": 50, "emb": 128, "input_scale": 25.0, "hidden": 128, "blocks": 3, "lr": 1e-3,
        "batch_size": 256, "epochs": 150, "clip": 1.0}
PEER_FRACTIONS = (0.25, 0.5, 1.0)
OURS_FRACTIONS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0)
OURS_T = 100  # ours: NoiseSchedule.cosine(OURS_T)
N_PROJECTIONS = 256
SEEDS = {"train": 42, "held_out": 43, "floor": 44, "directions": 0, "normal": 1}


def _torch():
    import torch

    return torch


def moons(n, random_state):
    """tiny-diffusion's two moons: make_moons(noise=0.03), then x (x+0.3) 2 - 1, y (y+0.3) 3 - 1."""
    from sklearn.datasets import make_moons

    x, _ = make_moons(n_samples=n, noise=0.03, random_state=random_state)
    return np.column_stack([(x[:, 0] + 0.3) * 2 - 1, (x[:, 1] + 0.3) * 3 - 1])


# --- the peer -----------------------------------------------------------------------------------

def _sinusoidal(v, size, scale):
    """tiny-diffusion's embedding: [sin(s v w_i), cos(s v w_i)], w_i = 10000^(-i/(size/2 - 1))."""
    torch = _torch()
    half = size // 2
    w = torch.exp(-math.log(10000.0) / (half - 1) * torch.arange(half, dtype=torch.float32))
    arg = (v * scale)[:, None] * w[None, :]
    return torch.cat([torch.sin(arg), torch.cos(arg)], dim=-1)


def peer_net(emb=PEER["emb"], hidden=PEER["hidden"], blocks=PEER["blocks"],
             input_scale=PEER["input_scale"]):
    """The peer's noise predictor as a torch module; called as net(x (n, 2), t (n,) in 0..T-1)."""
    torch = _torch()

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.ff = torch.nn.Linear(hidden, hidden)

        def forward(self, h):
            return h + torch.nn.functional.gelu(self.ff(h))

    class PeerNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.mlp = torch.nn.Sequential(torch.nn.Linear(3 * emb, hidden), torch.nn.GELU(),
                                           *[Block() for _ in range(blocks)],
                                           torch.nn.Linear(hidden, 2))

        def forward(self, x, t):
            feats = [_sinusoidal(x[:, 0], emb, input_scale), _sinusoidal(x[:, 1], emb, input_scale),
                     _sinusoidal(t.to(torch.float32), emb, 1.0)]
            return self.mlp(torch.cat(feats, dim=-1))

    return PeerNet()


def _peer_schedule(T):
    torch = _torch()
    betas = torch.linspace(1e-4, 0.02, T, dtype=torch.float32)
    return betas, torch.cumprod(1 - betas, 0)


def peer_training(x_train, T, checkpoints, seed=0):
    """Train the peer; yield ``(steps, train_seconds, net)`` at each step count in ``checkpoints``.

    A generator, so the benchmark can alternate its work with the other contestants'. The clock
    runs only inside the training steps.
    """
    torch = _torch()
    torch.manual_seed(seed)
    net = peer_net()
    opt = torch.optim.AdamW(net.parameters(), lr=PEER["lr"])
    gen = torch.Generator().manual_seed(seed + 1)
    x = torch.as_tensor(x_train, dtype=torch.float32)
    _, alpha_bar = _peer_schedule(T)
    bs, per_epoch = PEER["batch_size"], len(x) // PEER["batch_size"]
    step, seconds = 0, 0.0
    for stop in checkpoints:
        start = time.perf_counter()
        net.train()
        while step < stop:
            if step % per_epoch == 0:  # a fresh shuffle each epoch, the last partial batch dropped
                order = torch.randperm(len(x), generator=gen)
            x0 = x[order[(step % per_epoch) * bs:(step % per_epoch + 1) * bs]]
            t = torch.randint(0, T, (bs,), generator=gen)
            noise = torch.randn(x0.shape, generator=gen)
            ab = alpha_bar[t, None]
            loss = torch.nn.functional.mse_loss(net(ab.sqrt() * x0 + (1 - ab).sqrt() * noise, t),
                                                noise)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), PEER["clip"])
            opt.step()
            opt.zero_grad(set_to_none=True)
            step += 1
        seconds += time.perf_counter() - start
        net.eval()
        yield step, seconds, net


def peer_sample(net, T, n, seed):
    """The peer's DDPM ancestral sampling from x_T ~ N(0, I), no noise at the last step."""
    torch = _torch()
    betas, alpha_bar = _peer_schedule(T)
    ab_prev = torch.cat([torch.ones(1), alpha_bar[:-1]])
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=gen)
    with torch.no_grad():
        for i in range(T - 1, -1, -1):
            eps = net(x, torch.full((n,), i))
            # x0_hat, then the mean of q(x_{t-1} | x_t, x0_hat)
            x0_hat = (x - (1 - alpha_bar[i]).sqrt() * eps) / alpha_bar[i].sqrt()
            mean = (ab_prev[i].sqrt() * betas[i] * x0_hat
                    + (1 - betas[i]).sqrt() * (1 - ab_prev[i]) * x) / (1 - alpha_bar[i])
            if i > 0:
                var = betas[i] * (1 - ab_prev[i]) / (1 - alpha_bar[i])
                x = mean + var.clamp(min=1e-20).sqrt() * torch.randn(n, 2, generator=gen)
            else:
                x = mean
    return x.numpy().astype(np.float64)


# --- ours ---------------------------------------------------------------------------------------

def ours_schedule():
    from helpers.diffusion import NoiseSchedule

    return NoiseSchedule.cosine(OURS_T)


def train_ours(x_train, steps, seed=0, **kwargs):
    from helpers.denoiser import train_eps_model

    return train_eps_model(x_train, ours_schedule(), steps=steps, seed=seed, progress=False,
                           **kwargs)


def ours_sample(model, n, seed):
    from helpers.diffusion import ddpm_sample

    return ddpm_sample(model, model.schedule, n, d=2, rng=seed)


# --- scoring ------------------------------------------------------------------------------------

class Scorer:
    """SW1 and MMD^2 of a sample against the held-out set, with fixed directions and bandwidths.

    ``mmd`` uses the median heuristic's bandwidth on the held-out set (about 2.8, the size of the
    whole picture: it sees the overall shape, not the moons' width of about 0.1); ``mmd_local``
    a tenth of it, which also sees how sharp the moons are.
    """

    def __init__(self, held_out):
        from scipy.spatial.distance import pdist

        self.held_out = held_out
        self.bandwidth = float(np.median(pdist(held_out)))

    def __call__(self, x):
        from helpers.metrics import mmd, sliced_wasserstein_1

        return {"sw1": sliced_wasserstein_1(x, self.held_out, n_projections=N_PROJECTIONS,
                                            rng=SEEDS["directions"]),
                "mmd": mmd(x, self.held_out, bandwidth=self.bandwidth),
                "mmd_local": mmd(x, self.held_out, bandwidth=self.bandwidth / 10)}


def _interp_log_time(points, t, key="sw1"):
    ts = np.log([p["train_s"] for p in points])
    return float(np.interp(np.log(t), ts, [p[key] for p in points]))


def _time_to_reach(points, target):
    """Seconds at which a curve first reaches SW1 <= ``target`` (log-time interpolation).

    If its first point already does, that point's time: an upper bound.
    """
    prev = None
    for p in points:
        if p["sw1"] <= target:
            if prev is None:
                return p["train_s"]
            w = (prev["sw1"] - target) / (prev["sw1"] - p["sw1"])
            return float(np.exp(np.log(prev["train_s"]) + w * (np.log(p["train_s"])
                                                              - np.log(prev["train_s"]))))
        prev = p
    return None


def run(budget_s=None, ours=None, seed=0):
    """Both peers and ours on two moons; returns every point and the comparison.

    Parameters
    ----------
    budget_s : float or None
        None: each peer trains its full 150 epochs (4650 steps). A number: each peer's steps are
        cut to fill about that many training seconds (calibrated by a short run).
    ours : dict or None
        Overrides of ``train_eps_model``'s defaults for ours (e.g. {"lr": 3e-3}).
    """
    torch = _torch()
    from helpers.nets import torch_threads

    ours = dict(ours or {})
    x_train = moons(N_TRAIN, SEEDS["train"])
    held_out = moons(N_EVAL, SEEDS["held_out"])
    score = Scorer(held_out)
    out = {"budget_s": budget_s, "peer_config": dict(PEER), "ours_T": OURS_T,
           "ours_config": ours, "n_eval": N_EVAL, "n_projections": N_PROJECTIONS,
           "bandwidth": score.bandwidth, "load_avg_before": list(os.getloadavg()),
           "floor": score(moons(N_EVAL, SEEDS["floor"])),
           "normal": score(np.random.default_rng(SEEDS["normal"]).standard_normal((N_EVAL, 2)))}
    full = PEER["epochs"] * (N_TRAIN // PEER["batch_size"])
    with torch_threads(1):
        # warm-up: first-call costs (torch.optim's import of torch._dynamo) stay off the clocks;
        # and the calibration: seconds per step of each contestant
        per_step = {}
        for T in (50, 1000):
            gen = peer_training(x_train, T, (20, 120), seed=seed)
            _, s0, _ = next(gen)
            _, s1, _ = next(gen)
            per_step[T] = (s1 - s0) / 100
        train_ours(x_train, 20, seed=seed, **ours)
        per_step["ours"] = train_ours(x_train, 100, seed=seed, **ours).train_s / 100
        peer_steps = full if budget_s is None else max(
            16, int(budget_s / max(per_step[50], per_step[1000])))
        peer_time = peer_steps * (per_step[50] + per_step[1000]) / 2
        ours_steps = max(16, int(round(peer_time / per_step["ours"])))
        out.update(peer_steps=peer_steps, ours_full_steps=ours_steps,
                   calibration_s_per_step={str(k): v for k, v in per_step.items()})

        checkpoints = [max(1, int(round(f * peer_steps))) for f in PEER_FRACTIONS]
        peers = {T: peer_training(x_train, T, checkpoints, seed=seed) for T in (50, 1000)}
        curves = {"peer_T50": [], "peer_T1000": [], "ours": []}
        ours_runs = [max(1, int(round(f * ours_steps))) for f in OURS_FRACTIONS]
        # alternate: ours' first run(s) beside the peers' first checkpoint, then one each
        plan = [ours_runs[:len(ours_runs) - len(checkpoints) + 1]] + [[s] for s in ours_runs[
            len(ours_runs) - len(checkpoints) + 1:]]
        for k, ours_batch in enumerate(plan):
            for T in (50, 1000):
                steps, secs, net = next(peers[T])
                curves[f"peer_T{T}"].append({"steps": steps, "train_s": secs,
                                             **score(peer_sample(net, T, N_EVAL, seed=seed + 7)),
                                             "load_avg_1min": os.getloadavg()[0]})
            for steps in ours_batch:
                model = train_ours(x_train, steps, seed=seed, **ours)
                curves["ours"].append({"steps": steps, "train_s": model.train_s,
                                       **score(ours_sample(model, N_EVAL, seed=seed + 7)),
                                       "load_avg_1min": os.getloadavg()[0]})
            print(f"  checkpoint {k + 1}/{len(plan)}: " + ", ".join(
                f"{name} {c[-1]['sw1']:.3f} ({c[-1]['train_s']:.1f} s)"
                for name, c in curves.items()), flush=True)
    out.update(curves)
    finals = {name: curves[name][-1]["sw1"] for name in ("peer_T50", "peer_T1000")}
    stronger = min(finals, key=finals.get)
    t_equal = min(curves[stronger][-1]["train_s"], curves["ours"][-1]["train_s"])
    t_ours = _time_to_reach(curves["ours"], finals[stronger])
    out.update(stronger_peer=stronger, equal_time_s=t_equal,
               at_equal_time={key: {name: _interp_log_time(c, t_equal, key)
                                    for name, c in curves.items()}
                              for key in ("sw1", "mmd", "mmd_local")},
               peer_final_sw1=finals[stronger], peer_time_s=curves[stronger][-1]["train_s"],
               ours_time_to_peer_final_s=t_ours,
               ours_time_is_upper_bound=curves["ours"][0]["sw1"] <= finals[stronger],
               time_ratio=None if t_ours is None else t_ours / curves[stronger][-1]["train_s"],
               load_avg_after=list(os.getloadavg()))
    return out


if __name__ == "__main__":
    import json
    import sys

    res = run(budget_s=float(sys.argv[1]) if len(sys.argv) > 1 else None)
    print(json.dumps({k: v for k, v in res.items()}, indent=1))


# --- for benchmarks/run.py ----------------------------------------------------------------------

TARGET = ("at equal training time ours has a lower sliced W1 than the stronger tiny-diffusion "
          "peer, and reaches that peer's final sliced W1 in at most half its training time")
MAX_TIME_RATIO = 0.5


def verdict(res):
    """The two targets, each ``{"value", "met"}``; empty if the section was skipped."""
    if "at_equal_time" not in res:
        return {}
    sw = res["at_equal_time"]["sw1"]
    ratio = res["time_ratio"]
    return {"diffusion_sw1_at_equal_time": {"value": sw,
                                            "met": sw["ours"] < sw[res["stronger_peer"]]},
            "diffusion_time_ratio": {"value": ratio,
                                     "met": ratio is not None and ratio <= MAX_TIME_RATIO}}


def table(res):
    """The section's lines for ``make bench``'s table."""
    if "skipped" in res:
        return f"diffusion vs tiny-diffusion: skipped ({res['skipped']})"
    mark = lambda ok: "ok" if ok else "MISSED"  # noqa: E731
    v = verdict(res)
    lines = [f"diffusion vs tiny-diffusion on two moons: {res['n_eval']} samples against "
             f"{res['n_eval']} held-out points, sliced W1 ({res['n_projections']} directions), "
             f"MMD^2 at h = {res['bandwidth']:.2f} and {res['bandwidth'] / 10:.2f}",
             f"{'model':<52}{'steps':>7}{'train s':>9}{'SW1':>8}{'MMD':>10}{'MMD loc':>10}"]
    oc = res["ours_config"]
    labels = {"ours": f"ours: cosine T={res['ours_T']}, EpsNet "
                      + ", ".join(f"{k}={v}" for k, v in oc.items()) if oc else
                      f"ours: cosine T={res['ours_T']}, train_eps_model defaults",
              "peer_T50": "peer: tiny-diffusion, linear T=50",
              "peer_T1000": "peer: tiny-diffusion, linear T=1000"}
    for key in ("ours", "peer_T50", "peer_T1000"):
        for p in res[key]:
            lines.append(f"{labels[key][:51]:<52}{p['steps']:>7}{p['train_s']:>9.1f}"
                         f"{p['sw1']:>8.3f}"
                         f"{p['mmd']:>10.5f}{p['mmd_local']:>10.5f}")
    for key, label in (("floor", "floor: another draw of the data"), ("normal", "N(0, I)")):
        p = res[key]
        lines.append(f"{label:<52}{'':>7}{'':>9}{p['sw1']:>8.3f}{p['mmd']:>10.5f}"
                     f"{p['mmd_local']:>10.5f}")
    eq = res["at_equal_time"]
    lines.append(f"  at equal training time {res['equal_time_s']:.1f} s, SW1: ours "
                 f"{eq['sw1']['ours']:.3f}, peer T=50 {eq['sw1']['peer_T50']:.3f}, peer T=1000 "
                 f"{eq['sw1']['peer_T1000']:.3f} [{mark(v['diffusion_sw1_at_equal_time']['met'])}]")
    ratio = res["time_ratio"]
    lines.append(f"  time to reach the stronger peer's ({res['stronger_peer']}) final SW1 "
                 f"{res['peer_final_sw1']:.3f}, ours / peer: "
                 + (f"{'<= ' if res['ours_time_is_upper_bound'] else ''}"
                    f"{res['ours_time_to_peer_final_s']:.1f} s / {res['peer_time_s']:.1f} s = "
                    f"{ratio:.2f}" if ratio is not None else "not reached")
                 + f" (target <= {MAX_TIME_RATIO}) [{mark(v['diffusion_time_ratio']['met'])}]")
    lines.append(f"  load average (1 min) before {res['load_avg_before'][0]:.1f}, after "
                 f"{res['load_avg_after'][0]:.1f}; one torch thread each, runs interleaved")
    return "\n".join(lines)
