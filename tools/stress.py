"""Run every notebook many times over and catch a kernel that stops answering (``make stress``).

    python tools/stress.py                    # 20 passes over every notebooks/NN_*.ipynb
    python tools/stress.py --passes 5 --stall 45 --log-dir stress-logs

Each pass runs every notebook once, top to bottom, in a fresh kernel, through the same bounded
runner as ``make execute``, ``make bench`` and the tests (``tools/notebook_runner.py``). A
watchdog thread looks at the running cell; when one has run for ``--stall`` seconds (the slowest
real cell takes about 20 s), it records, before the cell's deadline fires:

- both processes' Python stacks (``py-spy dump``; installed by ``make stress``),
- the last IOPub messages this client received for the notebook, with their ages,
- whether the kernel still answers a *second* client (a ``kernel_info_request`` on a fresh
  connection), and whether that second connection releases the waiting cell.

A stalled cell whose kernel is still using CPU is only slow (a loaded machine); one whose kernel
sits idle while the client waits is a hang. The report ends with the package versions and
``passes, runs, hangs``; the exit status is 1 if any run hung or failed. Use it after upgrading any Jupyter package: ``make stress`` in the project's
environment, or ``make stress STRESS_VENV=.venv-ik6 STRESS_PINS='ipykernel==6.*'`` for another.
"""

from __future__ import annotations

import argparse
import collections
import importlib.metadata
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from notebook_runner import CELL_TIMEOUT_S, RESCUED, NotebookRunError, bounded_client  # noqa: E402
from project import NOTEBOOKS, notebook_paths  # noqa: E402

PACKAGES = ("ipykernel", "jupyter_client", "nbclient", "pyzmq", "tornado", "ipywidgets")


def versions():
    out = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def py_spy(pid):
    try:
        run = subprocess.run(["py-spy", "dump", "--pid", str(pid)], capture_output=True,
                             text=True, timeout=30)
        return run.stdout + run.stderr
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"py-spy unavailable: {err}"


class Watched:
    """One notebook run with the watchdog's view of it."""

    def __init__(self, path, stall_s, log_dir, kernel_log=None):
        self.path, self.stall_s, self.log_dir, self.kernel_log = path, stall_s, log_dir, kernel_log
        self.nb = nbformat.read(path, as_version=4)
        # --debug: the kernel logs every message it handles and every reply it sends
        self.client = bounded_client(self.nb, path.name, NOTEBOOKS, record_timing=False,
                                     extra_arguments=["--debug"] if kernel_log else [])
        self.client.on_cell_start = self._start
        self.client.on_cell_executed = self._done
        self.iopub = collections.deque(maxlen=25)
        process_message = self.client.process_message

        def logged(msg, cell, cell_index):
            self.iopub.append((time.monotonic(), msg["msg_type"],
                               msg.get("content", {}).get("execution_state", "")))
            return process_message(msg, cell, cell_index)

        self.client.process_message = logged
        self.cell, self.since, self.stalled = None, None, []
        self._stop = threading.Event()

    def _start(self, cell, cell_index):
        self.cell, self.since = cell_index, time.monotonic()

    def _done(self, cell, cell_index, execute_reply):
        if self.stalled and self.stalled[-1]["cell"] == cell_index:
            self.stalled[-1]["released_after_s"] = time.monotonic() - self.since
        self.cell = None

    def _watch(self):
        while not self._stop.wait(1.0):
            cell = self.cell
            if cell is None or time.monotonic() - self.since < self.stall_s:
                continue
            if self.stalled and self.stalled[-1]["cell"] == cell:
                continue
            try:
                self.stalled.append(self._diagnose(cell))
            except Exception as err:  # a failed diagnosis must not hide the stall itself
                self.stalled.append({"notebook": self.path.name, "cell": cell, "hang": None,
                                     "first_line": "?", "second_client_answered": None,
                                     "released_by_second_client": None,
                                     "reply_waiting_in_client_socket": None,
                                     "log": f"diagnosis failed: {err!r}"})

    def _diagnose(self, cell):
        import psutil

        km = self.client.km
        kernel = psutil.Process(km.provisioner.process.pid)
        cpu0 = sum(kernel.cpu_times()[:2])
        time.sleep(2.0)
        # A slow cell keeps its kernel busy; a wedged one leaves it idle while the client waits.
        kernel_cpu_s = sum(kernel.cpu_times()[:2]) - cpu0
        now = time.monotonic()
        record = {"notebook": self.path.name, "cell": cell,
                  "first_line": self.nb.cells[cell].source.splitlines()[0][:70],
                  "waited_s": now - self.since,
                  "kernel_cpu_s_in_2_s": kernel_cpu_s,
                  "hang": kernel_cpu_s < 0.2,
                  "last_iopub": [(f"{now - t:.1f} s ago", kind, state)
                                 for t, kind, state in self.iopub],
                  "client_stack": py_spy(subprocess.os.getpid()),
                  "kernel_stack": py_spy(km.provisioner.process.pid)}
        from jupyter_client import BlockingKernelClient

        second = BlockingKernelClient()
        second.load_connection_info(km.get_connection_info())
        second.start_channels()
        try:
            second.wait_for_ready(timeout=10)
            record["second_client_answered"] = True
        except RuntimeError:
            record["second_client_answered"] = False
        finally:
            second.stop_channels()
        time.sleep(2.0)
        record["released_by_second_client"] = self.cell != cell
        # Is the missing reply sitting unread in this client's own shell socket? (Read from this
        # thread only for the diagnosis; the run is already lost.)
        import zmq

        shell = self.client.kc.shell_channel.socket
        record["reply_waiting_in_client_socket"] = bool(shell.get(zmq.EVENTS) & zmq.POLLIN)
        name = f"{self.path.stem}-cell{cell}-{int(time.time())}.txt"
        (self.log_dir / name).write_text("\n".join(f"## {k}\n{v}" for k, v in record.items()))
        record["log"] = str(self.log_dir / name)
        return record

    def run(self):
        watchdog = threading.Thread(target=self._watch, daemon=True)
        watchdog.start()
        t0 = time.monotonic()
        error = None
        try:
            if self.kernel_log:
                with open(self.kernel_log, "wb") as log:
                    self.client.execute(stderr=log)
            else:
                self.client.execute()
        except NotebookRunError as err:
            error = str(err).splitlines()[0]
        finally:
            self._stop.set()
            watchdog.join(timeout=60)
        return time.monotonic() - t0, error


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passes", type=int, default=20)
    parser.add_argument("--stall", type=float, default=60.0,
                        help=f"seconds before a running cell counts as stalled (< {CELL_TIMEOUT_S})")
    parser.add_argument("--log-dir", type=Path, default=Path("stress-logs"))
    parser.add_argument("--kernel-debug", action="store_true",
                        help="run kernels with --debug; keep the log of any run that stalled")
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    if args.passes < 1:
        raise SystemExit(f"--passes must be at least 1, got {args.passes}")
    if not 0 < args.stall < CELL_TIMEOUT_S:
        raise SystemExit(f"--stall must be in (0, {CELL_TIMEOUT_S}) s, got {args.stall}")
    paths = [p.with_suffix(".ipynb") for p in args.notebooks] or notebook_paths(".ipynb")
    args.log_dir.mkdir(parents=True, exist_ok=True)
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()), flush=True)
    runs, stalls, errors = 0, [], []
    t_start = time.monotonic()
    for k in range(1, args.passes + 1):
        times = []
        for path in paths:
            kernel_log = args.log_dir / f"kernel-{path.stem}-pass{k}.log" if args.kernel_debug else None
            watched = Watched(Path(path), args.stall, args.log_dir, kernel_log)
            seconds, error = watched.run()
            if kernel_log and not watched.stalled:
                kernel_log.unlink(missing_ok=True)
            runs += 1
            times.append(f"{path.name[:2]} {seconds:.0f} s")
            stalls += watched.stalled
            if error:
                errors.append(error)
                times[-1] += " FAILED"
                print(f"  {error}", flush=True)
            for s in watched.stalled:
                kind = {True: "HANG (kernel idle)", False: "slow cell (kernel busy)",
                        None: "STALL (not diagnosed)"}[s["hang"]]
                print(f"  {kind}: {s['notebook']} cell {s['cell']} ({s['first_line']}): second "
                      f"client answered: {s['second_client_answered']}; that released the cell: "
                      f"{s['released_by_second_client']}; reply waiting unread in the client's "
                      f"socket: {s['reply_waiting_in_client_socket']}; log {s['log']}", flush=True)
        print(f"pass {k}/{args.passes}: " + ", ".join(times), flush=True)
    minutes = (time.monotonic() - t_start) / 60
    print(f"versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()))
    hangs = [s for s in stalls if s["hang"] is not False]
    print(f"{args.passes} passes, {runs} notebook runs, {len(hangs)} hangs, "
          f"{len(stalls) - len(hangs)} slow cells (over {args.stall:.0f} s, kernel busy), "
          f"{len(errors)} failed runs in {minutes:.1f} min; {RESCUED['count']} messages read only "
          "by the check at the end of a 1 s wait slice (lost wake-ups the runner recovered)")
    for e in errors:
        print("  " + e)
    return 1 if hangs or errors else 0


if __name__ == "__main__":
    sys.exit(main())
