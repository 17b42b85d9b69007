"""Slider latency as a learner feels it: JupyterLab in headless Chromium, key press to new image.

    python benchmarks/browser_latency.py                 # every notebook, 24 moves per slider
    python benchmarks/browser_latency.py --notebooks 03 --moves 40
    python benchmarks/run.py --only browser              # the same, as a section of make bench

For every ``notebooks/NN_*.ipynb`` (found by pattern, so a new notebook joins automatically) this
opens the notebook in JupyterLab (a temporary copy, served on 127.0.0.1 with a random token by
``tests/test_browser.py``'s ``Lab``), runs all cells from the Run menu, waits until the kernel is
idle, then, for every slider of every slider panel (every ``.widget-slider`` in a panel), focuses
the slider's handle and presses ArrowRight / ArrowLeft ``--moves`` times (alternating, so the
slider stays in range; ``--pattern walk`` instead walks to one end and back).

Each move is timed in the page, not through Playwright: ``performance.now()`` in a capture-phase
``keydown`` listener, then a ``MutationObserver`` on the panel waits for a new ``<img>`` (a new
element or a new ``src``; an Output widget's image or an Image widget) and its ``load`` event.
That interval is the latency reported (p50, p95 and max per slider and over all moves). A
``data:`` image is usually complete as soon as it is inserted, before it is decoded, so the page
also records ``paint``: the first animation frame after the image's ``decode()``, about when the
learner sees it (column ``paint p95``). A thin wrapper around the page's WebSocket records the
kernel messages of each move (send/arrival times in the page and the kernel's own header
timestamps, millisecond resolution, same machine clock), which splits a move into:

    js      key press -> the slider's ``comm_msg`` leaves the page
    queue   -> the kernel starts handling it (its ``status: busy``; server + ZMQ + queue)
    kernel  -> the kernel sends the new picture (``display_data``, or an Image widget's update)
    wire    -> that message arrives in the page (ZMQ -> server -> WebSocket)
    dom     -> the new ``<img>`` is in the page (widget model, JupyterLab renderer)
    load    -> the image's ``load`` event

With ``psutil`` installed, the CPU time each side spent per move is recorded too (kernel process,
server process, all Chromium processes; 10 ms ticks, so read medians): unlike wall time, it
hardly grows when other work shares the cores.

Every wait is bounded and names what it waited for; the browser, the Playwright driver, the
server and its kernels are shut down on the way out, also on failure or Ctrl-C. Chromium is
Debian's ``/usr/bin/chromium`` (``CHROMIUM=/path`` overrides); no browser is ever downloaded.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TARGET_P95_MS = 100.0  # every slider's p95, key press to loaded picture
TARGET_P50_MS = 50.0  # all moves' median
MOVES = 24  # per slider; even, so an alternating slider ends where it started
MOVE_S = 30  # one move: key press to loaded image
IDLE_S = 30  # the kernel going idle after a move / after the notebook opened
SETTLE_MS = 60  # pause between moves, after the kernel reported idle

STAGES = ("js", "queue", "kernel", "wire", "dom", "load")


def _browser_test():
    """``tools/jupyterlab_browser.py``: the JupyterLab server and page helpers of the browser test."""
    sys.path.insert(0, str(ROOT / "tools"))
    import jupyterlab_browser

    return jupyterlab_browser


def unavailable():
    """Why the browser benchmark cannot run here, or None."""
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not (os.path.isfile(chromium) and os.access(chromium, os.X_OK)):
        return (f"Chromium not found at {chromium} (Debian: apt-get install chromium; "
                "or set CHROMIUM=/path/to/chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install -e '.[test]')"
    return None


# --------------------------------------------------------------------------------------------
# Page-side instrumentation
# --------------------------------------------------------------------------------------------

# Installed before JupyterLab loads: every WebSocket message in and out is logged (page time,
# channel, type, msg_id, parent msg_id, kernel header date, size) while window.__wsOn is set.
# Both the JSON and the binary v1.kernel.websocket.jupyter.org framings are understood.
WS_HOOK_JS = r"""
(() => {
  const Orig = window.WebSocket;
  const log = [];
  window.__wsLog = log;
  window.__wsOn = false;
  const dec = new TextDecoder();
  function parse(data) {
    try {
      let channel, header, parent, content = null, size;
      if (typeof data === 'string') {
        size = data.length;
        const m = JSON.parse(data);
        channel = m.channel; header = m.header; parent = m.parent_header;
        if (size < 20000) content = m.content;
      } else if (data instanceof ArrayBuffer) {
        size = data.byteLength;
        const dv = new DataView(data);
        const n = Number(dv.getBigUint64(0, true));
        const off = [];
        for (let i = 0; i < n; i++) off.push(Number(dv.getBigUint64(8 * (i + 1), true)));
        const part = i => dec.decode(new Uint8Array(data, off[i], (i + 1 < n ? off[i + 1] : size) - off[i]));
        channel = part(0); header = JSON.parse(part(1)); parent = JSON.parse(part(2));
        if (n > 4 && (n > 5 ? off[5] : size) - off[4] < 20000) content = JSON.parse(part(4));
      } else {
        return {unparsed: true};
      }
      const out = {channel, msg_type: header.msg_type, msg_id: header.msg_id, date: header.date,
                   parent: parent && parent.msg_id, size};
      if (header.msg_type === 'status' && content) out.state = content.execution_state;
      if (header.msg_type === 'comm_msg' && content && content.data)
        out.method = content.data.method, out.keys = Object.keys(content.data.state || {});
      return out;
    } catch (e) { return {error: String(e)}; }
  }
  class Hooked extends Orig {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', ev => {
        if (window.__wsOn) log.push(Object.assign({dir: 'in', t: performance.now()}, parse(ev.data)));
      });
    }
    send(data) {
      if (window.__wsOn) log.push(Object.assign({dir: 'out', t: performance.now()}, parse(data)));
      return super.send(data);
    }
  }
  window.WebSocket = Hooked;
})();
"""

# window.__bench.arm(panel, timeout_ms) returns a Promise that resolves, once the key press that
# follows has produced a new loaded <img> in the panel, with the page-side times of the move.
BENCH_JS = r"""
(() => {
  // the panel's figure: an <img> in an Output widget, or an Image widget
  const IMG = '.widget-output img, img.widget-image';
  let state = null;
  document.addEventListener('keydown', () => {
    if (state && state.t0 === null) state.t0 = performance.now();
  }, true);
  window.__bench = {
    arm(panel, timeoutMs) {
      const old = panel.querySelector(IMG);
      const oldSrc = old && old.getAttribute('src');
      window.__wsLog.length = 0;
      window.__wsOn = true;
      state = {t0: null};
      const st = state;
      // kernel clock (ms since epoch) -> page clock (performance.now())
      st.epoch = performance.timeOrigin;
      st.clockSkew = Date.now() - (performance.timeOrigin + performance.now());
      return new Promise((resolve, reject) => {
        let observer = null, seen = false;
        const timer = setTimeout(() => {
          if (observer) observer.disconnect();
          reject(new Error(`no new loaded image ${timeoutMs} ms after arming ` +
                           `(key pressed: ${st.t0 !== null}, new img seen: ${seen})`));
        }, timeoutMs);
        const finish = img => {
          st.load = performance.now();
          const src = img.getAttribute('src') || '';
          const comma = src.indexOf(',');
          st.bytes = src.startsWith('data:') ? Math.floor((src.length - comma - 1) * 3 / 4) : null;
          st.width = img.naturalWidth; st.height = img.naturalHeight;
          const paint = () => requestAnimationFrame(() => {
            st.paint = performance.now();
            clearTimeout(timer);
            state = null;
            resolve(st);
          });
          img.decode().then(() => { st.decoded = performance.now(); paint(); }, paint);
        };
        const check = () => {
          if (seen || st.t0 === null) return;
          const img = panel.querySelector(IMG);
          if (!img || (img === old && img.getAttribute('src') === oldSrc)) return;
          seen = true;
          st.src = performance.now();
          observer.disconnect();
          if (img.complete && img.naturalWidth > 0) finish(img);
          else {
            img.addEventListener('load', () => finish(img), {once: true});
            img.addEventListener('error', () => {
              clearTimeout(timer); reject(new Error('the new image failed to load'));
            }, {once: true});
          }
        };
        observer = new MutationObserver(check);
        observer.observe(panel, {subtree: true, childList: true, attributes: true,
                                 attributeFilter: ['src']});
      });
    },
    // Resolves when the kernel reports idle for the request that carried the move.
    idle(parentId, timeoutMs) {
      return new Promise((resolve, reject) => {
        const t = performance.now();
        const poll = () => {
          if (window.__wsLog.some(m => m.dir === 'in' && m.msg_type === 'status' &&
                                       m.state === 'idle' && m.parent === parentId)) {
            window.__wsOn = false; resolve(performance.now() - t);
          } else if (performance.now() - t > timeoutMs) {
            window.__wsOn = false;
            reject(new Error(`kernel not idle ${timeoutMs} ms after the move's image arrived`));
          } else setTimeout(poll, 10);
        };
        poll();
      });
    },
    log() { return window.__wsLog.slice(); },
  };
})();
"""


def _kernel_ms(date, move):
    """A kernel header date (ISO, UTC) on the page's performance.now() clock, in ms."""
    from datetime import datetime

    if not date:
        return None
    epoch_ms = datetime.fromisoformat(date.replace("Z", "+00:00")).timestamp() * 1e3
    return epoch_ms - move["clockSkew"] - move["epoch"]


def _stages(move, log):
    """The move's timeline split at its kernel messages, in ms; {} if they cannot be found."""
    t0 = move["t0"]
    sent = next((m for m in log if m.get("dir") == "out" and m.get("msg_type") == "comm_msg"
                 and m.get("method") == "update" and "value" in m.get("keys", ())), None)
    if sent is None:
        return {}, None
    pid = sent["msg_id"]
    mine = [m for m in log if m.get("dir") == "in" and m.get("parent") == pid]
    busy = next((m for m in mine if m.get("msg_type") == "status" and m.get("state") == "busy"),
                None)
    disp = [m for m in mine if m.get("msg_type") in ("display_data", "execute_result")
            or (m.get("msg_type") == "comm_msg" and m.get("method") == "update"
                and m.get("size", 0) > 1000)]  # an Image widget's new value
    if busy is None or not disp:
        return {}, pid
    disp = disp[-1]
    k_busy, k_disp = _kernel_ms(busy["date"], move), _kernel_ms(disp["date"], move)
    marks = [t0, sent["t"], k_busy, k_disp, disp["t"], move["src"], move["load"]]
    st = {name: b - a for name, a, b in zip(STAGES, marks, marks[1:])}
    st["ws_bytes"] = disp.get("size")
    return st, pid


class _CPU:
    """CPU seconds used by the kernel, the server and Chromium (all its processes), if psutil is
    installed: what a move costs each side, which other work on the machine inflates far less
    than wall time."""

    def __init__(self, lab):
        try:
            import psutil
        except ImportError:
            self.procs = None
            return
        self.psutil = psutil
        server = psutil.Process(lab.proc.pid)
        kernels = [p for p in server.children(recursive=True)
                   if "ipykernel" in " ".join(p.cmdline())]
        chromium = [p for p in psutil.Process().children(recursive=True)
                    if "chrom" in p.name().lower()]
        self.procs = {"server": [server], "browser": chromium}
        if kernels:
            self.procs["kernel"] = kernels

    def read(self):
        if self.procs is None:
            return None
        out = {}
        for side, procs in self.procs.items():
            total = 0.0
            for p in procs:
                try:
                    t = p.cpu_times()
                    total += t.user + t.system
                except (self.psutil.NoSuchProcess, self.psutil.AccessDenied):
                    pass
            out[side] = total
        return out


# --------------------------------------------------------------------------------------------
# Driving JupyterLab
# --------------------------------------------------------------------------------------------

def _open_and_run(tb, page, lab, ipynb):
    """Open ``ipynb`` in a fresh workspace, clear it, Run All, wait (bounded) for idle."""
    cells = json.loads(ipynb.read_text())["cells"]
    open_ms = tb.OPEN_S * 1000
    page.goto(f"{lab.url}/lab/workspaces/bench-{ipynb.stem}/tree/{ipynb.name}"
              f"?reset&token={lab.token}", timeout=open_ms)
    try:
        page.wait_for_function(
            f"() => document.querySelectorAll('{tb.NB} .jp-Cell').length === {len(cells)}",
            timeout=open_ms)
        page.wait_for_function(tb.KERNEL_IDLE_JS, timeout=open_ms)
    except Exception as exc:
        raise RuntimeError(f"{ipynb.name}: did not open with an idle kernel within "
                           f"{tb.OPEN_S} s: {exc}") from None
    tb.menu(page, "Edit", "Clear Outputs of All Cells")
    tb.menu(page, "Run", "Run All Cells")
    t0 = time.monotonic()
    try:  # per-cell deadline (tools/notebook_runner.CELL_TIMEOUT_S); failures name the cell
        tb.wait_for_run_all(page, ipynb.name, cells)
        page.wait_for_timeout(500)  # late display messages and widget views
        tb.wait_for_run_all(page, ipynb.name, cells)
    except BaseException as exc:  # pytest.fail raises an OutcomeException (a BaseException)
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise RuntimeError(str(exc)) from None
    text = page.inner_text(f"{tb.NB} .jp-Notebook")
    bad = [t for t in tb.WIDGET_FAILURE_TEXT if t in text]
    if bad:
        raise RuntimeError(f"{ipynb.name}: widget failed to render: {bad}")
    prompts = page.eval_on_selector_all(f"{tb.NB} .jp-CodeCell .jp-InputPrompt",
                                        "els => els.map(e => e.textContent.trim())")
    code = [c for c in cells if c["cell_type"] == "code"]
    unrun = [i for i, (c, p) in enumerate(zip(code, prompts))
             if "".join(c["source"]).strip() and not any(ch.isdigit() for ch in p)]
    if unrun:  # Run All stops at a failing cell
        err = page.locator(f"{tb.NB} [data-mime-type='application/vnd.jupyter.stderr']")
        first = err.first.inner_text()[-600:] if err.count() else ""
        raise RuntimeError(f"{ipynb.name}: code cells {unrun} did not run in JupyterLab "
                           f"(an earlier cell failed?); prompts {prompts}\n{first}")
    return time.monotonic() - t0


def _percentiles(ms):
    a = np.asarray(ms, dtype=float)
    return {"n": int(a.size), "p50_ms": float(np.percentile(a, 50)),
            "p95_ms": float(np.percentile(a, 95)), "max_ms": float(a.max())}


def _measure_slider(page, panel, slider, moves, pattern, label, cpu):
    handle = slider.locator(".noUi-handle").first
    readout = slider.locator(".widget-readout").first  # aria-valuenow is rounded to 0.1
    slider.scroll_into_view_if_needed()
    panel_el = panel.element_handle()
    rows = []
    direction = +1
    for i in range(moves):
        before = readout.inner_text().strip()
        now = float(handle.get_attribute("aria-valuenow"))
        lo = float(handle.get_attribute("aria-valuemin"))
        hi = float(handle.get_attribute("aria-valuemax"))
        if pattern == "alternate":
            direction = +1 if i % 2 == 0 else -1
        if now >= hi:
            direction = -1
        elif now <= lo:
            direction = +1
        key = "ArrowRight" if direction > 0 else "ArrowLeft"
        handle.focus()
        cpu0 = cpu.read()
        page.evaluate("([p, ms]) => { window.__move = window.__bench.arm(p, ms); }",
                      [panel_el, MOVE_S * 1000])
        page.keyboard.press(key)
        try:
            move = page.evaluate("() => window.__move")
        except Exception as exc:
            raise RuntimeError(f"{label}: move {i + 1} ({key} from {before}): {exc}") from None
        log = page.evaluate("() => window.__bench.log()")
        stages, pid = _stages(move, log)
        if pid is not None:
            try:
                page.evaluate("([id, ms]) => window.__bench.idle(id, ms)", [pid, IDLE_S * 1000])
            except Exception as exc:
                raise RuntimeError(f"{label}: move {i + 1}: {exc}") from None
        else:  # no kernel message recognised: let the kernel finish by time instead
            page.evaluate("() => { window.__wsOn = false; }")
            page.wait_for_timeout(300)
        cpu1 = cpu.read()
        page.wait_for_timeout(SETTLE_MS)
        after = readout.inner_text().strip()
        if after == before:
            raise RuntimeError(f"{label}: {key} at {before} did not move the slider")
        rows.append({"key": key, "from": before, "to": after,
                     "ms": move["load"] - move["t0"], "paint_ms": move["paint"] - move["t0"],
                     "bytes": move["bytes"], "size": [move["width"], move["height"]], **stages})
        if cpu0 and cpu1:
            rows[-1].update({f"cpu_{k}": 1e3 * (cpu1[k] - cpu0[k]) for k in cpu0})
    return rows


def _summarise(rows, **info):
    out = dict(info, **_percentiles([r["ms"] for r in rows]))
    out["paint_p95_ms"] = float(np.percentile([r["paint_ms"] for r in rows], 95))
    out["png_kb"] = float(np.median([r["bytes"] or r.get("ws_bytes") or 0 for r in rows])) / 1024
    out["size"] = rows[0]["size"]
    for s in STAGES + ("cpu_kernel", "cpu_server", "cpu_browser"):
        vals = [r[s] for r in rows if s in r]
        if vals:
            out[f"{s}_p50_ms"] = float(np.median(vals))
            out[f"{s}_p95_ms"] = float(np.percentile(vals, 95))
    return out


@contextlib.contextmanager
def _lab_and_chromium(tb):
    """``(lab, browser)``: JupyterLab on a temporary copy of the notebooks, headless Chromium.

    Both are shut down on the way out (also on an error or Ctrl-C): the browser and the
    Playwright driver, then the server and its kernels (``Lab.stop`` escalates to signals on
    the process group it started). A server still running afterwards is an error.
    """
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench-browser-") as tmp:
        lab = None
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=tb.CHROMIUM, headless=True,
                                             args=tb.CHROMIUM_ARGS)
                try:
                    lab = tb.Lab(Path(tmp))
                    lab.wait_ready()
                    yield lab, browser
                finally:
                    browser.close()
        finally:
            if lab is not None:
                lab.stop()
        if lab.proc.returncode is None or tb.port_open(lab.port):
            raise RuntimeError(f"JupyterLab (pid {lab.proc.pid}, port {lab.port}) is still "
                               "running after shut-down")


def run(notebooks=None, moves=MOVES, pattern="alternate", log=None):
    """Open each notebook in JupyterLab (headless Chromium) and time ``moves`` key presses per
    slider, key press to loaded ``<img>``; return the per-slider and overall numbers as a dict."""
    if log is None:
        log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    reason = unavailable()
    if reason:
        raise RuntimeError(reason)
    tb = _browser_test()
    paths = tb.notebook_paths(".ipynb")
    if notebooks:
        paths = [p for p in paths if any(p.name.startswith(n) for n in notebooks)]
        if not paths:
            raise RuntimeError(f"no notebook matches {notebooks}")
    res = {"moves_per_slider": moves, "pattern": pattern, "load_avg_before": list(os.getloadavg()),
           "notebooks": [], "sliders": []}
    all_rows = []
    with _lab_and_chromium(tb) as (lab, browser):
        for ipynb in paths:
            log(f"browser: {ipynb.name}: Run All ...")
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            try:
                page = context.new_page()
                page_errors = []
                page.on("pageerror", lambda e: page_errors.append(str(e)))
                page.add_init_script(WS_HOOK_JS)
                page.add_init_script(BENCH_JS)
                run_s = _open_and_run(tb, page, lab, ipynb)
                cpu = _CPU(lab)
                panels = page.locator(f"{tb.NB} .jp-OutputArea-output > .widget-vbox")
                n_sliders = 0
                for p in range(panels.count()):
                    panel = panels.nth(p)
                    sliders = panel.locator(".widget-hbox .widget-slider")
                    for k in range(sliders.count()):
                        slider = sliders.nth(k)
                        name = slider.locator("label").first.inner_text().strip()
                        label = f"{ipynb.name} panel {p} slider {name}"
                        rows = _measure_slider(page, panel, slider, moves, pattern, label,
                                               cpu)
                        s = _summarise(rows, notebook=ipynb.name, panel=p, slider=name)
                        log(f"browser:   panel {p} {name}: p50 {s['p50_ms']:.0f} ms, "
                            f"p95 {s['p95_ms']:.0f} ms")
                        res["sliders"].append(s)
                        all_rows += rows
                        n_sliders += 1
                if page_errors:
                    raise RuntimeError(f"{ipynb.name}: JavaScript errors: {page_errors}")
                res["notebooks"].append({"notebook": ipynb.name, "run_all_s": run_s,
                                         "panels": panels.count(), "sliders": n_sliders})
            finally:
                context.close()
                try:
                    lab.shut_down_kernels()
                except Exception:  # noqa: BLE001 - stopping the server ends them anyway
                    pass
    if not all_rows:
        raise RuntimeError("no slider found in any notebook")
    res["overall"] = _summarise(all_rows)
    res["load_avg_after"] = list(os.getloadavg())
    res["target_p95_ms"], res["target_p50_ms"] = TARGET_P95_MS, TARGET_P50_MS
    res["met"] = (max(s["p95_ms"] for s in res["sliders"]) <= TARGET_P95_MS
                  and res["overall"]["p50_ms"] <= TARGET_P50_MS)
    res["raw"] = [dict(r) for r in all_rows]
    return res


def table(res):
    """The browser section of ``make bench``'s table."""
    if "skipped" in res:
        return f"browser slider latency: skipped ({res['skipped']})"
    lb, la = res["load_avg_before"], res["load_avg_after"]
    lines = [f"browser: key press -> new <img> loaded, JupyterLab in headless Chromium, "
             f"{res['moves_per_slider']} {res['pattern']} arrow-key moves per slider "
             f"(load avg {lb[0]:.1f} -> {la[0]:.1f})",
             f"{'slider (notebook / panel)':<26}{'p50':>8}{'p95':>8}{'max':>8}{'paint p95':>11}"
             f"{'PNG':>8}   wall p50: js+queue / kernel / wire / dom+load"
             f"   cpu p50: kernel / server / browser"]

    def row(name, s):
        split = ""
        if "kernel_p50_ms" in s:
            split = (f"   {s['js_p50_ms'] + s['queue_p50_ms']:>3.0f} / {s['kernel_p50_ms']:>3.0f} / "
                     f"{s['wire_p50_ms']:>2.0f} / {s['dom_p50_ms'] + s['load_p50_ms']:>2.0f} ms     ")
        if "cpu_browser_p50_ms" in s:
            split += (f"   {s.get('cpu_kernel_p50_ms', float('nan')):.0f} / "
                      f"{s['cpu_server_p50_ms']:.0f} / {s['cpu_browser_p50_ms']:.0f} ms")
        return (f"{name:<26}{s['p50_ms']:>5.0f} ms{s['p95_ms']:>5.0f} ms{s['max_ms']:>5.0f} ms"
                f"{s['paint_p95_ms']:>8.0f} ms{s['png_kb']:>5.0f} kB{split}")

    for s in res["sliders"]:
        miss = "  MISSED" if s["p95_ms"] > res["target_p95_ms"] else ""
        lines.append(row(f"{s['notebook'][:2]} panel {s['panel']}: {s['slider']}", s) + miss)
    o = res["overall"]
    lines.append(row(f"all {o['n']} moves", o))
    lines.append(f"  target: every slider's p95 <= {res['target_p95_ms']:.0f} ms and all moves' "
                 f"p50 <= {res.get('target_p50_ms', float('nan')):.0f} ms "
                 f"[{'ok' if res['met'] else 'MISSED'}]")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notebooks", default="", help="comma-separated name prefixes, e.g. 01,03")
    ap.add_argument("--moves", type=int, default=MOVES, help="arrow-key moves per slider")
    ap.add_argument("--pattern", choices=("alternate", "walk"), default="alternate")
    ap.add_argument("--out", default="", help="write the full result (every move) as JSON here")
    args = ap.parse_args(argv)
    res = run([n for n in args.notebooks.split(",") if n], args.moves, args.pattern)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(res, indent=1) + "\n")
    print(table(res))


if __name__ == "__main__":
    main()
