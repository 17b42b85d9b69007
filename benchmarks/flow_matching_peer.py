"""Our continuous-level noise predictor and probability-flow ODE (``helpers.denoiser.train_eps_fn``
+ ``helpers.score.pf_ode_sample``) against flow matching, on two moons, by training time and NFE.

The peer is the recipe of facebookresearch/flow_matching's standalone example
(``examples/standalone_flow_matching.ipynb``), re-implemented here from its published settings:

* convention (the example's): t runs from noise at t = 0 to data at t = 1. With z ~ N(0, I) and
  x_data a training point, the linear path is x_t = t x_data + (1 - t) z and the regression target
  is its velocity u = d x_t / dt = x_data - z;
* network: v_theta(t, x_t), an MLP on the d + 1 inputs (t, x_t): Linear to 64, ELU, two more
  64-unit ELU layers, Linear to d (torch's default initialisation), float32;
* training: mean squared error between v_theta(t, x_t) and u, t ~ U[0, 1), batches of 256,
  Adam with lr 1e-2 (constant), 10,000 steps;
* sampling: from x_0 = z ~ N(0, I), the midpoint method on the uniform grid t_k = k / steps,
  x <- x + h v(t + h/2, x + (h/2) v(t, x)), 8 steps (16 NFE).

Two departures, both forced by the comparison: the example draws a fresh ``make_moons(256,
noise=0.05)`` batch each step in sklearn's own units; here every model sees the diffusion
section's data (``diffusion_peer.moons``: tiny-diffusion's scale, noise 0.03), 8000 training
points drawn with replacement. And the peer's sampler is run at NFE / 2 steps for each NFE.

The like-for-like row reads the peer's velocity as an ``eps_fn`` and samples it with our Heun
``pf_ode_sample``. A variance-preserving point x = sqrt(alpha_bar) x_data + sqrt(1 - alpha_bar) z
at sigma = sqrt((1 - alpha_bar) / alpha_bar) is, rescaled, the flow's point with the same
x_data and z: xbar = x / sqrt(alpha_bar) = x_data + sigma z, and x_t = t x_data + (1 - t) z
= t xbar at t = 1 / (1 + sigma). Since x_t = t x_data + (1 - t) z and u = x_data - z,

    z = x_t - t u,    so    eps_hat(x, alpha_bar) = x_t - t v_theta(t, x_t).

(In the noise-at-1 convention s = 1 - t, v' = -v, this is eps_hat = x_s + (1 - s) v'.)

Ours is ``train_eps_fn`` with its defaults, so in float64 (notebook 06 trains the same network
in float32, ``dtype="float32"``), on the same data, sampled
with ``pf_ode_sample(..., solver="heun")`` on its default levels (Karras rho = 7, sigma from 80
down to 0.002).

Method. As ``diffusion_peer``: 2000 samples against the same 2000 held-out points, sliced W1 (256
fixed directions) and the unbiased MMD^2 at the same two bandwidths (``diffusion_peer.Scorer``);
the floor (another draw of ``make_moons``) and N(0, I). Every sampler of every model starts from
the same N(0, I) points (the seed ``SEEDS["sample"]``), so the samplers differ only in the map
they apply. The peer trains once, seeded, and is scored at checkpoints (1/8, 1/4, 1/2 and all of
its steps); its clock counts training steps only. Ours decays its learning rate over its run, so
each of its points is a separate run from scratch (``OURS_STEPS`` times 1/16, .., 1 by default).
Peer and ours alternate, all on one torch thread. Every point is scored at NFE 4, 8, 16 and 32.

One more reference row: the floor above pairs two ``make_moons`` sets, whose points sit at evenly
spaced angles and exactly half on each moon, so it is lower than any sampler of independent
points can reach. The i.i.d. floor draws 2000 points independently (uniformly from a 200,000
point ``make_moons`` set), ``N_IID`` times: its spread shows the noise of one SW1 value.

With the default budget the step counts are fixed, so for fixed seeds every score is
reproducible; only the seconds (and through them the equal-time interpolation) vary.
"""

from __future__ import annotations

import os
import time

import numpy as np

from diffusion_peer import N_EVAL, N_PROJECTIONS, N_TRAIN, Scorer, moons

PEER = {"hidden": 64, "layers": 3, "activation": "ELU", "lr": 1e-2, "batch_size": 256,
        "steps": 10_000, "sampler": "midpoint", "sampler_steps": 8}
PEER_FRACTIONS = (1 / 8, 1 / 4, 1 / 2, 1.0)
OURS_FRACTIONS = (1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0)
# ours' longest run, 4 times its default 2000 steps: about the peer's 10,000 steps in seconds
# (measured 1.2-1.9 ms per step for ours, 1.2-1.5 ms for the peer, one thread, 2 shared cores)
OURS_STEPS = 8000
NFES = (4, 8, 16, 32)
TARGET_NFES = (8, 16, 32)
AIM_FLOOR_RATIO = 1.5
N_IID = 10
SEEDS = {"train": 42, "held_out": 43, "floor": 44, "iid": 45, "sample": 7, "normal": 1}
SAMPLERS = ("ours_heun", "peer_midpoint", "peer_heun")


def _torch():
    import torch

    return torch


# --- the peer -----------------------------------------------------------------------------------

def peer_net(d=2, hidden=PEER["hidden"], layers=PEER["layers"]):
    """v_theta as a torch module, called as net(t (n, 1), x_t (n, d)): an ELU MLP on (t, x_t)."""
    torch = _torch()

    class VelocityNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            sizes = [d + 1] + [hidden] * layers
            body = []
            for n_in, n_out in zip(sizes[:-1], sizes[1:]):
                body += [torch.nn.Linear(n_in, n_out), torch.nn.ELU()]
            self.mlp = torch.nn.Sequential(*body, torch.nn.Linear(hidden, d))

        def forward(self, t, x_t):
            return self.mlp(torch.cat([t, x_t], dim=1))

    return VelocityNet()


def peer_training(x_train, checkpoints, seed=0):
    """Train the peer; yield ``(steps, train_seconds, net)`` at each step count in ``checkpoints``.

    A generator, so the benchmark can alternate its work with ours. The clock runs only inside
    the training steps.
    """
    torch = _torch()
    torch.manual_seed(seed)
    net = peer_net(x_train.shape[1])
    opt = torch.optim.Adam(net.parameters(), lr=PEER["lr"])
    gen = torch.Generator().manual_seed(seed + 1)
    x = torch.as_tensor(x_train, dtype=torch.float32)
    bs = PEER["batch_size"]
    step, seconds = 0, 0.0
    for stop in checkpoints:
        start = time.perf_counter()
        net.train()
        while step < stop:
            x_data = x[torch.randint(len(x), (bs,), generator=gen)]  # x_data ~ the training set
            z = torch.randn(x_data.shape, generator=gen)             # z ~ N(0, I)
            t = torch.rand(bs, 1, generator=gen)                     # t ~ U[0, 1)
            x_t = t * x_data + (1 - t) * z                           # the linear path
            # u = d x_t / dt = x_data - z
            loss = torch.nn.functional.mse_loss(net(t, x_t), x_data - z)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
        seconds += time.perf_counter() - start
        net.eval()
        yield step, seconds, net


def peer_midpoint_sample(net, z, steps):
    """The peer's own sampler: midpoint steps on t_k = k / steps from x = z at t = 0 to t = 1."""
    torch = _torch()
    x = torch.as_tensor(z, dtype=torch.float32)
    h = 1.0 / steps
    with torch.no_grad():
        for k in range(steps):
            t = torch.full((len(x), 1), k * h)
            # x <- x + h v(t + h/2, x + (h/2) v(t, x))
            x_mid = x + 0.5 * h * net(t, x)
            x = x + h * net(t + 0.5 * h, x_mid)
    return x.numpy().astype(np.float64)


def peer_eps_fn(net):
    """The peer's velocity read as an ``eps_fn`` for ``helpers.score``: at sigma, with
    t = 1 / (1 + sigma) and x_t = t x / sqrt(alpha_bar), eps_hat = x_t - t v_theta(t, x_t)."""
    from helpers.noise_schedule import sigma_from_alpha_bar

    torch = _torch()

    def eps_fn(x, alpha_bar):
        t = 1.0 / (1.0 + sigma_from_alpha_bar(alpha_bar))
        x_t = torch.as_tensor(t * np.asarray(x) / np.sqrt(alpha_bar), dtype=torch.float32)
        with torch.no_grad():
            v = net(torch.full((len(x_t), 1), t), x_t)
        return (x_t - t * v).numpy().astype(np.float64)

    return eps_fn


# --- ours ---------------------------------------------------------------------------------------

def train_ours(x_train, steps, seed=0, **kwargs):
    from helpers.denoiser import train_eps_fn

    return train_eps_fn(x_train, steps=steps, seed=seed, progress=False, **kwargs)


def heun_sample(eps_fn, nfe, seed):
    """``pf_ode_sample`` with Heun at ``nfe`` calls; it starts from seed's N(0, I) points."""
    from helpers.score import pf_ode_sample

    return pf_ode_sample(eps_fn, N_EVAL, nfe=nfe, d=2, solver="heun", rng=seed)


def start_points(seed):
    """The N(0, I) points that ``pf_ode_sample(..., rng=seed)`` starts from (before its scaling
    by sqrt(1 + sigma_max^2)), for the peer's own sampler."""
    return np.random.default_rng(seed).standard_normal((N_EVAL, 2))


# --- scoring ------------------------------------------------------------------------------------

def _by_nfe(score, sample):
    """{nfe: score of sample(nfe)} for each NFE in ``NFES`` (keys are strings, for JSON)."""
    return {str(nfe): score(sample(nfe)) for nfe in NFES}


def _interp_log_time(points, t, nfe, key="sw1"):
    ts = np.log([p["train_s"] for p in points])
    return float(np.interp(np.log(t), ts, [p["by_nfe"][str(nfe)][key] for p in points]))


def iid_floor(score, seed=SEEDS["iid"], n_draws=N_IID):
    """Scores of ``n_draws`` sets of N_EVAL points drawn independently from the data's law."""
    pool = moons(200_000, seed)
    rng = np.random.default_rng(seed)
    draws = [score(pool[rng.integers(len(pool), size=N_EVAL)]) for _ in range(n_draws)]
    return {key: {"mean": float(np.mean([s[key] for s in draws])),
                  "min": float(np.min([s[key] for s in draws])),
                  "max": float(np.max([s[key] for s in draws]))} for key in draws[0]}


def run(budget_s=None, ours=None, seed=0):
    """The flow-matching peer and ours on two moons; returns every point and the comparison.

    Parameters
    ----------
    budget_s : float or None
        None: the peer trains its full 10,000 steps and ours' longest run is ``OURS_STEPS``
        (fixed step counts: reproducible scores). A number: each model's longest run is cut or
        extended to about that many training seconds (calibrated by a short run).
    ours : dict or None
        Overrides of ``train_eps_fn``'s defaults for ours (e.g. {"lr": 3e-3}).
    """
    from helpers.nets import torch_threads

    ours = dict(ours or {})
    x_train = moons(N_TRAIN, SEEDS["train"])
    score = Scorer(moons(N_EVAL, SEEDS["held_out"]))
    out = {"budget_s": budget_s, "peer_config": dict(PEER), "ours_config": ours,
           "n_eval": N_EVAL, "n_projections": N_PROJECTIONS, "bandwidth": score.bandwidth,
           "nfes": list(NFES), "load_avg_before": list(os.getloadavg()),
           "floor": score(moons(N_EVAL, SEEDS["floor"])), "iid_floor": iid_floor(score),
           "normal": score(np.random.default_rng(SEEDS["normal"]).standard_normal((N_EVAL, 2)))}
    sample_seed = seed + SEEDS["sample"]
    z = start_points(sample_seed)
    with torch_threads(1):
        # warm-up: first-call costs (torch.optim's import of torch._dynamo) stay off the clocks;
        # and the calibration: seconds per step of each contestant
        gen = peer_training(x_train, (20, 220), seed=seed)
        _, s0, _ = next(gen)
        _, s1, _ = next(gen)
        train_ours(x_train, 20, seed=seed, **ours)
        per_step = {"peer": (s1 - s0) / 200,
                    "ours": train_ours(x_train, 200, seed=seed, **ours).train_s / 200}
        if budget_s is None:
            peer_steps, ours_steps = PEER["steps"], OURS_STEPS
        else:
            peer_steps = max(16, int(budget_s / per_step["peer"]))
            ours_steps = max(16, int(budget_s / per_step["ours"]))
        out.update(peer_steps=peer_steps, ours_full_steps=ours_steps,
                   calibration_s_per_step=per_step)

        checkpoints = [max(1, int(round(f * peer_steps))) for f in PEER_FRACTIONS]
        peer = peer_training(x_train, checkpoints, seed=seed)
        ours_runs = [max(1, int(round(f * ours_steps))) for f in OURS_FRACTIONS]
        curves = {name: [] for name in SAMPLERS}
        # alternate: ours' first run(s) beside the peer's first checkpoint, then one each
        split = len(ours_runs) - len(checkpoints) + 1
        plan = [ours_runs[:split]] + [[s] for s in ours_runs[split:]]
        for k, ours_batch in enumerate(plan):
            steps, secs, net = next(peer)
            load = os.getloadavg()[0]
            curves["peer_midpoint"].append({
                "steps": steps, "train_s": secs, "load_avg_1min": load,
                "by_nfe": _by_nfe(score, lambda nfe: peer_midpoint_sample(net, z, nfe // 2))})
            curves["peer_heun"].append({
                "steps": steps, "train_s": secs, "load_avg_1min": load,
                "by_nfe": _by_nfe(score, lambda nfe: heun_sample(peer_eps_fn(net), nfe,
                                                                 sample_seed))})
            for steps in ours_batch:
                model = train_ours(x_train, steps, seed=seed, **ours)
                curves["ours_heun"].append({
                    "steps": steps, "train_s": model.train_s, "load_avg_1min": os.getloadavg()[0],
                    "by_nfe": _by_nfe(score, lambda nfe: heun_sample(model, nfe, sample_seed))})
            print(f"  checkpoint {k + 1}/{len(plan)}: " + ", ".join(
                f"{name} {c[-1]['by_nfe']['16']['sw1']:.3f} at 16 NFE ({c[-1]['train_s']:.1f} s)"
                for name, c in curves.items()), flush=True)
    out.update(curves)
    t_equal = min(curves["peer_midpoint"][-1]["train_s"], curves["ours_heun"][-1]["train_s"])
    out.update(equal_time_s=t_equal,
               at_equal_time={str(nfe): {key: {name: _interp_log_time(curves[name], t_equal, nfe,
                                                                      key)
                                               for name in SAMPLERS}
                                         for key in ("sw1", "mmd", "mmd_local")}
                              for nfe in NFES},
               load_avg_after=list(os.getloadavg()))
    return out


if __name__ == "__main__":
    import json
    import sys

    res = run(budget_s=float(sys.argv[1]) if len(sys.argv) > 1 else None)
    print(json.dumps(res, indent=1))


# --- for benchmarks/run.py ----------------------------------------------------------------------

TARGET = ("at equal training time ours (Heun) has a sliced W1 no worse than the flow-matching "
          "peer's, by its own midpoint sampler and by our Heun, at every NFE in 8, 16, 32; "
          "aim: ours' final run within 1.5x the floor at 32 NFE")


def verdict(res):
    """The target and the aim, each ``{"value", "met"}`` (the aim also ``"aim": True``); empty if
    the section was skipped."""
    if "at_equal_time" not in res:
        return {}
    sw = {nfe: res["at_equal_time"][str(nfe)]["sw1"] for nfe in TARGET_NFES}
    ratio = res["ours_heun"][-1]["by_nfe"]["32"]["sw1"] / res["floor"]["sw1"]
    return {"flowmatch_sw1_at_equal_time_by_nfe": {
                "value": {str(nfe): s for nfe, s in sw.items()},
                "met": all(s["ours_heun"] <= min(s["peer_midpoint"], s["peer_heun"])
                           for s in sw.values())},
            "flowmatch_sw1_over_floor_32nfe": {"value": ratio, "met": ratio <= AIM_FLOOR_RATIO,
                                               "aim": True}}


def table(res):
    """The section's lines for ``make bench``'s table."""
    if "skipped" in res:
        return f"flow matching vs ours: skipped ({res['skipped']})"
    mark = lambda ok: "ok" if ok else "MISSED"  # noqa: E731
    v = verdict(res)
    nfes = res["nfes"]
    oc = res["ours_config"]
    labels = {"ours_heun": "ours: train_eps_fn "
                           + (", ".join(f"{k}={v}" for k, v in oc.items()) if oc else "defaults")
                           + ", Heun",
              "peer_midpoint": "peer: flow matching, its midpoint (NFE/2 steps)",
              "peer_heun": "peer: its velocity as eps_fn, our Heun"}
    lines = [f"flow matching (facebookresearch/flow_matching standalone example) vs ours on two "
             f"moons: {res['n_eval']} samples against the diffusion section's {res['n_eval']} "
             f"held-out points, sliced W1 ({res['n_projections']} directions) at each NFE, MMD^2 "
             f"at h = {res['bandwidth']:.2f} and {res['bandwidth'] / 10:.2f} at 32 NFE",
             f"{'model / sampler':<48}{'steps':>6}{'train s':>8}"
             + "".join(f"{f'SW1@{n}':>8}" for n in nfes) + f"{'MMD@32':>10}{'MMDloc@32':>10}"]
    for key in SAMPLERS:
        for p in res[key]:
            lines.append(f"{labels[key][:47]:<48}{p['steps']:>6}{p['train_s']:>8.1f}"
                         + "".join(f"{p['by_nfe'][str(n)]['sw1']:>8.3f}" for n in nfes)
                         + f"{p['by_nfe']['32']['mmd']:>10.5f}"
                         f"{p['by_nfe']['32']['mmd_local']:>10.5f}")
    iid = res["iid_floor"]
    for label, p in (("floor: another make_moons draw", res["floor"]),
                     (f"i.i.d. floor: mean of {N_IID} draws",
                      {k: s["mean"] for k, s in iid.items()}),
                     ("N(0, I)", res["normal"])):
        lines.append(f"{label:<48}{'':>6}{'':>8}" + f"{p['sw1']:>8.3f}" * len(nfes)
                     + f"{p['mmd']:>10.5f}{p['mmd_local']:>10.5f}")
    lines.append(f"  (i.i.d. floor SW1 over its {N_IID} draws: {iid['sw1']['min']:.3f} to "
                 f"{iid['sw1']['max']:.3f}: the noise of one SW1 value of 2000 points)")
    lines.append(f"  against NFE at equal training time {res['equal_time_s']:.1f} s (interpolated "
                 f"in log time), SW1 / MMD loc:")
    lines.append(f"  {'NFE':>5}" + "".join(f"{name:>22}" for name in SAMPLERS)
                 + "   ours <= both peers")
    for nfe in nfes:
        eq = res["at_equal_time"][str(nfe)]
        sw = eq["sw1"]
        ok = sw["ours_heun"] <= min(sw["peer_midpoint"], sw["peer_heun"])
        lines.append(f"  {nfe:>5}" + "".join(f"{sw[name]:>12.3f} / {eq['mmd_local'][name]:>7.4f}"
                                              for name in SAMPLERS)
                     + ("" if nfe not in TARGET_NFES else f"   {'yes' if ok else 'NO'}"))
    t = v["flowmatch_sw1_at_equal_time_by_nfe"]
    lines.append(f"  target: ours' SW1 <= the peer's (both samplers) at NFE "
                 f"{', '.join(map(str, TARGET_NFES))} [{mark(t['met'])}]")
    ratio = v["flowmatch_sw1_over_floor_32nfe"]["value"]
    ours32 = res["ours_heun"][-1]["by_nfe"]["32"]["sw1"]
    lines.append(f"  aim: ours' final run at 32 NFE within {AIM_FLOOR_RATIO}x the floor: "
                 f"{ours32:.3f} / {res['floor']['sw1']:.3f} = {ratio:.2f}x ["
                 + ("aim met" if ratio <= AIM_FLOOR_RATIO else "aim not met")
                 + f"]; against the i.i.d. floor's mean {iid['sw1']['mean']:.3f}: "
                 f"{ours32 / iid['sw1']['mean']:.2f}x")
    lines.append(f"  load average (1 min) before {res['load_avg_before'][0]:.1f}, after "
                 f"{res['load_avg_after'][0]:.1f}; one torch thread each, runs interleaved")
    return "\n".join(lines)
