"""``make bench``: measure the notebooks, the sliders, naive Monte Carlo, the VAE and diffusion.

    python benchmarks/run.py                       # everything (a few minutes)
    python benchmarks/run.py --only notebooks      # notebooks + sliders only
    python benchmarks/run.py --only mc,vae --vae-budget 10
    python benchmarks/run.py --only diffusion      # ours vs tiny-diffusion on two moons
    python benchmarks/run.py --only flowmatch      # ours vs flow matching on two moons, by NFE
    python benchmarks/run.py --only flowseeds      # the same race over 5 training seeds, every sampler
    python benchmarks/run.py --only digits         # notebook 07: bits per pixel, longer budgets

Writes ``benchmarks/results/latest.json`` (every raw number, the machine's load, the targets and
whether each is met) and prints one table. Timings are wall-clock on the machine as it is: the
load average before and after the run is recorded, so a run taken while other work shared the
cores can be recognised (column ``cpu``: CPU seconds, which load inflates much less).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import browser_latency  # noqa: E402
import diffusion_peer  # noqa: E402
import digits_bits  # noqa: E402
import flow_matching_peer  # noqa: E402
import flow_matching_seeds  # noqa: E402
import naive_mc  # noqa: E402
import notebooks  # noqa: E402
import vae_peer  # noqa: E402

RESULTS = BENCH / "results" / "latest.json"
GiB = 1024**3
TARGETS = {"notebooks_total_s": 60.0, "notebook_s": 15.0, "slider_p95_ms": 60.0, "kernel_peak_bytes": 1 * GiB,
           "browser_p95_ms": browser_latency.TARGET_P95_MS,
           "browser_p50_ms": browser_latency.TARGET_P50_MS}
SECTIONS = ("notebooks", "mc", "vae", "diffusion", "flowmatch", "flowseeds", "digits", "browser")


def _reference_ms(repeats=7):
    """Median time of a fixed small job (one 80-dpi line plot rendered to PNG), in ms.

    The same job on the same machine takes the same time; a larger number than a clean run's
    says the cores were shared while the benchmark ran.
    """
    import numpy as np
    from matplotlib.figure import Figure

    from helpers.plots.figure import figure_png

    xs = np.linspace(0, 10, 1000)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fig = Figure(figsize=(4, 3), dpi=80)
        ax = fig.subplots()
        ax.plot(xs, np.sin(xs))
        ax.set(xlabel="x", ylabel="y", title="reference")
        figure_png(fig)
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def _machine():
    return {"cpus": os.cpu_count(), "load_avg": list(os.getloadavg()), "python": platform.python_version(),
            "platform": platform.platform(), "reference_ms": _reference_ms()}


def run(sections, vae_budget, n_updates, ours=None, diffusion_budget=None,
        flowmatch_budget=None, notebook_runs=2):
    out = {"when": datetime.datetime.now().isoformat(timespec="seconds"), "machine_before": _machine(),
           "targets": {"notebooks_total_s": TARGETS["notebooks_total_s"],
                       "notebook_s": TARGETS["notebook_s"],
                       "slider_p95_ms": TARGETS["slider_p95_ms"],
                       "kernel_peak_bytes": TARGETS["kernel_peak_bytes"],
                       "browser_p95_ms": TARGETS["browser_p95_ms"],
                       "browser_p50_ms": TARGETS["browser_p50_ms"],
                       "vae": "ours >= peer in held-out log-likelihood at equal wall time",
                       "diffusion": diffusion_peer.TARGET,
                       "flowmatch": flow_matching_peer.TARGET,
                       "flowseeds": "ours' median sliced W1 over 5 training seeds <= flow "
                                    "matching's with its best sampler, at 8, 16 and 32 NFE, "
                                    "at equal training CPU time; aim: within 1.5x the floor at 32",
                       "digits": digits_bits.TARGET,
                       "digits_likelihood": digits_bits.LIKELIHOOD_TARGET}}
    if "notebooks" in sections:
        runs = []
        for k in range(notebook_runs):   # all notebooks, then all again: noise spreads over both
            for path in notebooks.notebook_paths():
                print(f"running {path.name} (run {k + 1} of {notebook_runs}) ...",
                      file=sys.stderr, flush=True)
                runs.append(notebooks.run_notebook(path, n_updates=n_updates,
                                                   measure_sliders=k == 0))
        out["notebook_runs"] = notebook_runs
        out["notebooks"] = notebooks.fastest_of(runs)
    if "mc" in sections:
        print("naive Monte Carlo at 1e7 samples ...", file=sys.stderr, flush=True)
        out["naive_mc"] = naive_mc.run()
    if "vae" in sections:
        print(f"VAE vs classic peer, {vae_budget:g} s each ...", file=sys.stderr, flush=True)
        try:
            out["vae"] = vae_peer.run(budget_s=vae_budget, ours=ours)
        except ImportError as exc:  # helpers.vae not there yet
            out["vae"] = {"skipped": f"{exc}"}
    if "diffusion" in sections:
        print("diffusion vs tiny-diffusion on two moons (peers at T = 50 and 1000) ...",
              file=sys.stderr, flush=True)
        try:
            out["diffusion"] = diffusion_peer.run(budget_s=diffusion_budget)
        except ImportError as exc:  # helpers.denoiser or helpers.diffusion not there yet
            out["diffusion"] = {"skipped": f"{exc}"}
    if "flowmatch" in sections:
        print("diffusion vs flow matching's standalone example on two moons, NFE 4-32 ...",
              file=sys.stderr, flush=True)
        try:
            out["flowmatch"] = flow_matching_peer.run(budget_s=flowmatch_budget)
        except ImportError as exc:  # helpers.denoiser's train_eps_fn or helpers.score not there yet
            out["flowmatch"] = {"skipped": f"{exc}"}
    if "flowseeds" in sections:
        print("the same race over 5 training seeds per side, every sampler on both (3-6 min) ...",
              file=sys.stderr, flush=True)
        import tempfile

        with tempfile.TemporaryDirectory(prefix="bench-flowseeds-") as cache:  # trained anew
            out["flowseeds"] = flow_matching_seeds.run(n_seeds=5, cache=cache)
    if "digits" in sections:
        print("notebook 07's VAE and diffusion model at 1, 3 and 9 times its steps ...",
              file=sys.stderr, flush=True)
        out["digits"] = digits_bits.run()
    if "browser" in sections:
        print("sliders in JupyterLab + headless Chromium ...", file=sys.stderr, flush=True)
        reason = browser_latency.unavailable()
        out["browser"] = {"skipped": reason} if reason else browser_latency.run()
    out["machine_after"] = _machine()
    out["verdict"] = verdict(out)
    return out


def verdict(res):
    v = {}
    if "notebooks" in res:
        nbs = res["notebooks"]
        total = sum(r["time_s"] for r in nbs)
        v["notebooks_total_s"] = {"value": total, "met": total <= TARGETS["notebooks_total_s"]}
        slowest = max(r["time_s"] for r in nbs)
        v["notebook_s"] = {"value": slowest, "met": slowest <= TARGETS["notebook_s"]}
        peak = max(r["peak_rss_bytes"] for r in nbs)
        v["kernel_peak_bytes"] = {"value": peak, "met": peak <= TARGETS["kernel_peak_bytes"]}
        p95 = [s["p95_ms"] for r in nbs for s in r["sliders"]]
        if p95:
            v["slider_p95_ms"] = {"value": max(p95), "met": max(p95) <= TARGETS["slider_p95_ms"]}
    if "overall" in res.get("browser", {}):
        p95 = max(s["p95_ms"] for s in res["browser"]["sliders"])  # the slowest slider's
        v["browser_p95_ms"] = {"value": p95, "met": p95 <= TARGETS["browser_p95_ms"]}
        p50 = res["browser"]["overall"]["p50_ms"]
        v["browser_p50_ms"] = {"value": p50, "met": p50 <= TARGETS["browser_p50_ms"]}
    v.update(diffusion_peer.verdict(res.get("diffusion", {})))
    v.update(flow_matching_peer.verdict(res.get("flowmatch", {})))
    if "results" in res.get("flowseeds", {}):
        seeds = flow_matching_seeds.verdict(res["flowseeds"])
        v["flowseeds_median_by_nfe"] = {
            "value": {k: (x["ours"], x["peer_best"]) for k, x in seeds["by_nfe"].items()},
            "met": seeds["target_met"]}
        v["flowseeds_ratio_to_floor_32"] = {"value": seeds["aim_ratio_to_floor_32"],
                                           "met": seeds["aim_met"]}
    v.update(digits_bits.verdict(res.get("digits", {})))
    vae = res.get("vae", {})
    if "ll_at_equal_time" in vae:
        ll = vae["ll_at_equal_time"]
        v["vae_ll_at_equal_time"] = {"value": ll, "met": ll["ours"] >= ll["peer"]}
    return v


def _mark(ok):
    return "ok" if ok else "MISSED"


def table(res):
    lines = []
    m0, m1 = res["machine_before"], res["machine_after"]
    lines.append(f"benchmarks {res['when']}  cpus={m0['cpus']}  load avg before "
                 f"{m0['load_avg'][0]:.1f}, after {m1['load_avg'][0]:.1f}; reference plot "
                 f"{m0['reference_ms']:.0f} / {m1['reference_ms']:.0f} ms"
                 + ("  (UNDER LOAD: timings inflated)" if max(m0["load_avg"][0], m1["load_avg"][0])
                    > 0.75 * m0["cpus"] else ""))
    v = res["verdict"]
    if "notebooks" in res:
        lines.append("")
        n_runs = res.get("notebook_runs", 1)
        lines.append(f"notebooks: the fastest of {n_runs} runs each, fresh kernel per run (every "
                     "run's total in the last column)" if n_runs > 1 else
                     "notebooks: one run each, in a fresh kernel")
        lines.append(f"{'notebook':<34}{'kernel start':>13}{'cells':>9}{'total':>9}{'peak RSS':>11}"
                     f"{'kernel cpu':>12}   runs")
        for r in res["notebooks"]:
            cpu = r.get("kernel_cpu_s")
            lines.append(f"{r['notebook']:<34}{r['kernel_start_s']:>11.1f} s{r['cells_s']:>7.1f} s"
                         f"{r['time_s']:>7.1f} s{r['peak_rss_bytes'] / 2**20:>7.0f} MiB"
                         + (f"{cpu:>10.1f} s" if cpu is not None else f"{'':>12}")
                         + "   " + " / ".join(f"{t:.1f}" for t in r.get("runs_s", [r["time_s"]]))
                         + ("" if r["time_s"] <= TARGETS["notebook_s"] else "  MISSED"))
        t = v["notebooks_total_s"]
        pk = v["kernel_peak_bytes"]
        lines.append(f"{'all notebooks':<34}{'':>13}{'':>9}{t['value']:>7.1f} s"
                     f"{pk['value'] / 2**20:>7.0f} MiB")
        each = v["notebook_s"]
        lines.append(f"  target: total <= {TARGETS['notebooks_total_s']:.0f} s "
                     f"[{_mark(t['met'])}], each <= {TARGETS['notebook_s']:.0f} s "
                     f"[{_mark(each['met'])}], peak per kernel <= 1 GiB [{_mark(pk['met'])}]")
        if n_runs > 1:
            first = sum(r["runs_s"][0] for r in res["notebooks"])
            lines.append(f"  the first run alone: {first:.1f} s in all")
        lines.append("")
        lines.append(f"{'slider (notebook / panel)':<48}{'p50':>9}{'p95':>9}{'max':>9}"
                     f"{'cpu p95':>10}   range")
        for r in res["notebooks"]:
            for s in r["sliders"]:
                name = f"{r['notebook'][:2]} {s['panel'].split(':', 1)[1]}: {s['slider']}"
                lines.append(f"{name:<48}{s['p50_ms']:>6.0f} ms{s['p95_ms']:>6.0f} ms"
                             f"{s['max_ms']:>6.0f} ms{s['cpu_p95_ms']:>7.0f} ms"
                             f"   {s['lo']:.3g}..{s['hi']:.3g}"
                             + ("" if s["p95_ms"] <= TARGETS["slider_p95_ms"] else "  MISSED"))
        if "slider_p95_ms" in v:
            lines.append(f"  target: every slider p95 <= {TARGETS['slider_p95_ms']:.0f} ms "
                         f"[{_mark(v['slider_p95_ms']['met'])}] (plot_fn + PNG render, "
                         f"{res['notebooks'][0]['sliders'][0]['n'] if res['notebooks'][0]['sliders'] else 50}"
                         " updates across each range)")
    if "naive_mc" in res:
        mc = res["naive_mc"]
        lines.append("")
        lines.append(f"naive MC (eq. 2.3), L = {mc['n_samples']:.0e}, d = {mc['d']}, k = {mc['k']}: "
                     f"{mc['samples_per_s'] / 1e6:.2f} M samples/s ({mc['wall_s']:.1f} s wall, "
                     f"{mc['cpu_s']:.1f} s cpu), peak traced memory "
                     f"{mc['peak_traced_bytes'] / 2**20:.0f} MiB; estimate {mc['estimate']:.3f} "
                     f"vs exact {mc['exact']:.3f}")
    if "browser" in res:
        lines.append("")
        lines.append(browser_latency.table(res["browser"]))
    vae = res.get("vae")
    if vae:
        lines.append("")
        if "skipped" in vae:
            lines.append(f"VAE vs peer: skipped ({vae['skipped']})")
        else:
            oc = vae["ours_config"]
            lines.append(f"VAE vs classic peer, c = {vae['c']}, held-out IWAE log p(x), k = {vae['k']} "
                         f"(nats per digit), budget {vae['budget_s']:g} s each")
            lines.append(f"{'model':<52}{'steps':>7}{'train s':>9}{'log p(x)':>10}")
            for key, label in (("ours", f"ours: z={oc.get('z_dim')} h={oc.get('hidden')} "
                                        f"{oc.get('activation')} {oc.get('decoder_mean')} mean "
                                        f"lr={oc.get('lr')}"),
                               ("peer", "peer: 400 ReLU, z=20, Adam 1e-3, sigmoid mean")):
                for p in vae[key]:
                    lines.append(f"{label:<52}{p['steps']:>7}{p['train_s']:>9.1f}{p['ll']:>10.2f}")
            eq = vae["ll_at_equal_time"]
            ratio = vae["time_ratio"]
            lines.append(f"  at equal wall time {vae['equal_time_s']:.1f} s: ours {eq['ours']:.2f}, "
                         f"peer {eq['peer']:.2f} [{_mark(v['vae_ll_at_equal_time']['met'])}]")
            lines.append("  time to reach the peer's final value, ours / peer: "
                         + (f"{ratio:.2f}" if ratio is not None else
                            f"not reached by ours within {vae['ours'][-1]['train_s']:.1f} s"))
    if "diffusion" in res:
        lines.append("")
        lines.append(diffusion_peer.table(res["diffusion"]))
    if "flowmatch" in res:
        lines.append("")
        lines.append(flow_matching_peer.table(res["flowmatch"]))
    if "flowseeds" in res:
        lines.append("")
        lines.append(flow_matching_seeds.table(res["flowseeds"]))
    if "digits" in res:
        lines.append("")
        lines.append(digits_bits.table(res["digits"]))
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(SECTIONS),
                    help=f"comma-separated subset of {','.join(SECTIONS)}")
    ap.add_argument("--vae-budget", type=float, default=30.0, help="training seconds per model")
    ap.add_argument("--diffusion-budget", type=float, default=None,
                    help="training seconds per diffusion peer (default: its full 150 epochs)")
    ap.add_argument("--flowmatch-budget", type=float, default=None,
                    help="training seconds of the flow-matching peer and of ours' longest run "
                         "(default: the peer's full 10,000 steps, ours' 8000)")
    ap.add_argument("--ours", default="", help="overrides of helpers.vae.RECOMMENDED for our VAE, "
                    "e.g. lr=3e-3,decoder_mean=identity")
    ap.add_argument("--updates", type=int, default=50, help="slider updates per slider")
    ap.add_argument("--notebook-runs", type=int, default=2,
                    help="fresh-kernel runs of each notebook; the table shows the fastest "
                         "(other tenants of a shared machine only ever slow a run down)")
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args(argv)
    sections = [s for s in args.only.split(",") if s]
    bad = set(sections) - set(SECTIONS)
    if bad:
        ap.error(f"unknown sections {sorted(bad)}")
    t0 = time.perf_counter()
    ours = {}
    for item in filter(None, args.ours.split(",")):
        key, value = item.split("=", 1)
        ours[key] = json.loads(value) if value[:1].isdigit() or value[:1] in "[-" else value
    if args.notebook_runs < 1:
        ap.error(f"--notebook-runs must be at least 1, got {args.notebook_runs}")
    res = run(sections, args.vae_budget, args.updates, ours, args.diffusion_budget,
              args.flowmatch_budget, notebook_runs=args.notebook_runs)
    res["bench_wall_s"] = time.perf_counter() - t0
    res["table"] = table(res)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")
    print(res["table"])
    print(f"\n(written to {os.path.relpath(args.out)}; bench took {res['bench_wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
