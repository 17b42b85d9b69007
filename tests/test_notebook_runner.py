"""Every notebook run has a deadline, its failure names the cell, and no kernel outlives it.

A tiny notebook whose second cell sleeps far past a 3-second cell timeout is run through the
project's own runner (``tools/notebook_runner.py``, which ``make execute``, ``make bench``, the
determinism test and the ipywidgets 7.7 check use) and through nbval with the Makefile's flag.
"""

import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from notebook_runner import (CELL_TIMEOUT_S, NotebookRunError, bounded_client, describe_cell,
                             sliced_get_msg)

ROOT = Path(__file__).resolve().parent.parent
SLEEP_S = 60  # far past the deadline: the runs below would take a minute if nothing fired
DEADLINE_S = 3


def _sleepy_notebook(path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"),
                nbformat.v4.new_markdown_cell("The next cell never finishes in time."),
                nbformat.v4.new_code_cell(f"import time\ntime.sleep({SLEEP_S})")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return nb


def _gone(pid, within_s=10):
    """True once process ``pid`` has exited (or is a zombie no one runs), within a few seconds."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def test_describe_cell_names_notebook_index_and_first_line():
    assert describe_cell("a.ipynb", 4, "\n# why\nx = 1\n") == "a.ipynb, cell 4 (# why)"
    assert describe_cell("a.ipynb", 0, ["y = 2\n", "z = 3"]) == "a.ipynb, cell 0 (y = 2)"
    assert describe_cell("a.ipynb", 1, "") == "a.ipynb, cell 1 (<empty cell>)"
    assert describe_cell("a.ipynb", 2, "w" * 100).endswith("...)")


def test_runner_times_out_names_the_cell_and_kills_the_kernel(tmp_path):
    nb = _sleepy_notebook(tmp_path / "sleepy.ipynb")
    pids = []
    client = bounded_client(nb, "sleepy.ipynb", tmp_path, cell_timeout=DEADLINE_S)
    client.on_cell_start = lambda cell, cell_index: pids.append(client.km.provisioner.process.pid)
    t0 = time.monotonic()
    with pytest.raises(NotebookRunError) as caught:
        client.execute()
    elapsed = time.monotonic() - t0
    message = str(caught.value)
    assert message.startswith("sleepy.ipynb, cell 2 (import time): no reply in 3 s"), message
    assert elapsed < SLEEP_S / 2, f"the deadline did not fire: {elapsed:.0f} s"
    assert pids and _gone(pids[0]), f"kernel {pids[0]} still running after the timeout"


def test_runner_ends_a_kernel_it_did_not_start_the_manager_of(tmp_path):
    from jupyter_client import AsyncKernelManager

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import os\nos.getpid()")]
    km = AsyncKernelManager(kernel_name="python3")
    bounded_client(nb, "given-km.ipynb", tmp_path, km=km).execute()
    pid = int(nb.cells[0].outputs[0]["data"]["text/plain"])
    assert _gone(pid), f"kernel {pid} of a given kernel manager still running after the run"


class _LostWakeUpChannel:
    """A channel whose message is queued but whose poll without a deadline never wakes up."""

    def __init__(self, ready_after_s):
        self.ready_at = time.monotonic() + ready_after_s
        self.timeouts = []

    async def get_msg(self, timeout=None):
        self.timeouts.append(timeout)
        if timeout is None:
            await asyncio.sleep(3600)  # the lost wake-up: only a deadline would end this wait
        await asyncio.sleep(timeout)
        if time.monotonic() >= self.ready_at:
            return {"msg_type": "execute_reply"}
        from queue import Empty
        raise Empty


def test_sliced_waits_read_a_message_whose_wake_up_was_lost():
    channel = _LostWakeUpChannel(ready_after_s=0.25)
    get_msg = sliced_get_msg(channel.get_msg, slice_s=0.1)
    t0 = time.monotonic()
    msg = asyncio.run(asyncio.wait_for(get_msg(timeout=None), timeout=5))
    assert msg["msg_type"] == "execute_reply"
    assert time.monotonic() - t0 < 1.0
    assert None not in channel.timeouts and max(channel.timeouts) <= 0.1


def test_sliced_waits_serve_a_blocking_channel_too():
    """A blocking client's get_msg returns a dict (or raises Empty), not a coroutine."""
    from queue import Empty

    calls = []

    def blocking_get_msg(timeout=None):
        calls.append(timeout)
        if len(calls) < 3:
            raise Empty
        return {"msg_type": "execute_reply"}

    msg = asyncio.run(sliced_get_msg(blocking_get_msg, slice_s=0.01)(timeout=5))
    assert msg["msg_type"] == "execute_reply" and len(calls) == 3


def test_runner_with_a_blocking_kernel_manager(tmp_path):
    """The ipywidgets 7.7 check passes a (blocking) KernelManager of its own."""
    from jupyter_client import KernelManager

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import os\nos.getpid()")]
    bounded_client(nb, "blocking-km.ipynb", tmp_path, km=KernelManager(kernel_name="python3")).execute()
    pid = int(nb.cells[0].outputs[0]["data"]["text/plain"])
    assert _gone(pid), f"kernel {pid} still running after the run"


def test_sliced_waits_keep_the_deadline():
    from queue import Empty

    channel = _LostWakeUpChannel(ready_after_s=60)
    get_msg = sliced_get_msg(channel.get_msg, slice_s=0.1)
    t0 = time.monotonic()
    with pytest.raises(Empty):
        asyncio.run(get_msg(timeout=0.35))
    assert 0.3 <= time.monotonic() - t0 < 1.0


def test_runner_names_the_cell_that_raised(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("1 / 0")]
    with pytest.raises(NotebookRunError, match=r"^bad.ipynb, cell 0 \(1 / 0\): raised ZeroDivisionError"):
        bounded_client(nb, "bad.ipynb", tmp_path).execute()


@pytest.mark.parametrize("bad", [0, -1, None])
def test_runner_rejects_a_missing_deadline(tmp_path, bad):
    with pytest.raises(ValueError, match="cell_timeout"):
        bounded_client(nbformat.v4.new_notebook(), "x.ipynb", tmp_path, cell_timeout=bad)


def test_nbval_with_the_makefile_deadline_names_the_cell(tmp_path):
    """The Makefile's NBVAL flags (with its cell timeout) on the sleepy notebook."""
    _sleepy_notebook(tmp_path / "sleepy.ipynb")
    flags = subprocess.run(["make", "-s", "--eval", "print-nbval: ; @echo $(NBVAL)", "print-nbval"],
                           cwd=ROOT, capture_output=True, text=True, timeout=30).stdout
    assert f"--nbval-cell-timeout={CELL_TIMEOUT_S} " in flags, flags
    flags = re.sub(r"--nbval-cell-timeout[= ]\d+", f"--nbval-cell-timeout={DEADLINE_S}", flags)
    flags = flags.replace("tests/nbval_sanitize.cfg", str(ROOT / "tests" / "nbval_sanitize.cfg"))
    t0 = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--rootdir", ".",
                          "sleepy.ipynb", *flags.split()],
                         cwd=tmp_path, capture_output=True, text=True, timeout=SLEEP_S * 2,
                         env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert time.monotonic() - t0 < SLEEP_S, "nbval waited for the sleeping cell"
    assert re.search(r"sleepy.ipynb::Cell \d+", out), out
    assert f"Timeout of {DEADLINE_S} seconds exceeded" in out and f"time.sleep({SLEEP_S})" in out, out
