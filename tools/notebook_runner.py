"""The one way this project executes a notebook outside nbval: every wait bounded, every failure named.

``tools/execute_notebooks.py``, the determinism test, ``make bench``, the ipywidgets 7.7 check and
``make stress`` all run notebooks through :func:`bounded_client`. It is nbclient's
``NotebookClient`` with four promises:

- **Each cell has a deadline** (``CELL_TIMEOUT_S``, sized to the slowest real cell, about 20 s
  today, with room for a loaded 2-core machine). Kernel start-up has its own deadline.
- **A failure names the notebook, the cell index and the cell's first line**, e.g.
  ``02_evidence.ipynb, cell 15 (slider_panel(plot_naive_estimate_2d, ...): no reply in 120 s``.
- **No kernel outlives its run.** The kernel is shut down immediately (not politely: a wedged
  kernel would not answer) when the run ends, fails or times out.
- **No reply is left unread.** Waits for kernel messages are cut into slices of
  ``POLL_SLICE_S``; each slice ends in a level-triggered check of the socket.

Why the last one. ``make stress`` (tools/stress.py) reproduced the hang of issue 10: a cell that
creates widgets (a ``slider_panel``) sends a burst of IOPub messages (``comm_open`` x 15,
``comm_msg``, ``display_data``); now and then the client then waits forever for the cell's
``execute_reply`` although the kernel has sent it and sits idle. The watchdog found the reply
*in the client's own shell socket* (``zmq.EVENTS & POLLIN``), unread: nbclient's asyncio client
(jupyter_client 8.10, pyzmq 27.3) waits for the socket's edge-triggered file descriptor, and that
wake-up was lost. It happened with ipykernel 7.4.0 and with 6.31.0 alike, so the kernel is not
the cause and pinning ipykernel would not help. A wait with a timeout ends in
``zmq_poll(0)``, which sees a queued message whatever happened to the edge; so a lost wake-up now
costs at most one slice instead of the whole cell timeout. nbval is not affected: it uses the
blocking client, whose waits are level-triggered polls.

nbval has its own runner; the Makefile gives it the same deadline (``--nbval-cell-timeout``).
"""

from __future__ import annotations

import time
from pathlib import Path
from queue import Empty

from jupyter_core.utils import ensure_async, run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

CELL_TIMEOUT_S = 120
STARTUP_TIMEOUT_S = 60
POLL_SLICE_S = 1.0
# Messages read only by the level-triggered check at the end of a slice: each one is a wake-up
# that was lost (or, rarely, a message that landed just as the slice ended). make stress prints it.
RESCUED = {"count": 0}
KERNEL = "python3"


class NotebookRunError(RuntimeError):
    """A notebook cell timed out, killed its kernel or raised; the message says which cell."""


def describe_cell(notebook_name, cell_index, source):
    """``'02_evidence.ipynb, cell 15 (first source line)'``: how every failure names a cell."""
    if isinstance(source, list):  # a cell's source as stored in .ipynb JSON
        source = "".join(source)
    lines = [ln for ln in source.splitlines() if ln.strip()]
    first = lines[0].strip() if lines else "<empty cell>"
    if len(first) > 70:
        first = first[:67] + "..."
    return f"{notebook_name}, cell {cell_index} ({first})"


def sliced_get_msg(get_msg, slice_s=POLL_SLICE_S):
    """``get_msg(timeout)`` of a channel, waiting in slices of ``slice_s`` seconds.

    The channel may be asynchronous (nbclient's own kernel manager) or blocking (a
    ``KernelManager`` passed in, as the ipywidgets 7.7 check does).

    Same contract as the wrapped coroutine (a message, or ``queue.Empty`` once ``timeout``
    seconds have passed; ``timeout=None`` waits without end), but every slice ends in a
    level-triggered poll, so a message whose wake-up was lost is read within one slice.
    """
    async def get_msg_sliced(timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = slice_s if deadline is None else min(slice_s, max(0.0, deadline - time.monotonic()))
            start = time.monotonic()
            try:
                msg = await ensure_async(get_msg(timeout=wait))  # async or blocking client
                if wait > 0 and time.monotonic() - start >= 0.95 * wait:
                    RESCUED["count"] += 1
                return msg
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    return get_msg_sliced


class BoundedNotebookClient(NotebookClient):
    """``NotebookClient`` whose cell failures name the notebook, the cell index and its first line,
    and whose waits for kernel messages never rely on a socket's wake-up alone."""

    notebook_name = "<notebook>"

    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()
        for channel in (kc.shell_channel, kc.iopub_channel):
            channel.get_msg = sliced_get_msg(channel.get_msg)
        return kc

    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    # nbclient keeps a kernel it did not start (``km=`` given) running after the run; here every
    # run ends its kernel, whoever made the manager.
    def setup_kernel(self, **kwargs):
        kwargs.setdefault("cleanup_kc", True)
        return super().setup_kernel(**kwargs)

    def async_setup_kernel(self, **kwargs):
        kwargs.setdefault("cleanup_kc", True)
        return super().async_setup_kernel(**kwargs)

    async def async_execute_cell(self, cell, cell_index, execution_count=None,
                                 store_history=True):
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count,
                                                    store_history)
        except CellTimeoutError as err:
            raise NotebookRunError(f"{describe_cell(self.notebook_name, cell_index, cell.source)}: "
                                   f"no reply in {self.timeout} s (cell timeout)") from err
        except DeadKernelError as err:
            raise NotebookRunError(f"{describe_cell(self.notebook_name, cell_index, cell.source)}: "
                                   f"the kernel died ({err})") from err
        except CellExecutionError as err:
            raise NotebookRunError(f"{describe_cell(self.notebook_name, cell_index, cell.source)}: "
                                   f"raised {err.ename}: {err.evalue}\n{err}") from err


def bounded_client(nb, name, cwd, cell_timeout=CELL_TIMEOUT_S, **kwargs):
    """A :class:`BoundedNotebookClient` for notebook ``nb`` (called ``name`` in messages), run in ``cwd``.

    ``kwargs`` go to ``NotebookClient`` (``km=``, ``record_timing=``, ``extra_arguments=``...).
    Use ``client.execute()`` for a whole notebook, or ``with client.setup_kernel():`` and
    ``client.execute_cell(cell, index)`` to run cells one at a time; both shut the kernel down
    immediately on the way out, whatever happened.
    """
    if not cell_timeout or cell_timeout <= 0:
        raise ValueError(f"cell_timeout must be a positive number of seconds, got {cell_timeout!r}")
    kwargs.setdefault("kernel_name", KERNEL)
    client = BoundedNotebookClient(nb, timeout=cell_timeout, startup_timeout=STARTUP_TIMEOUT_S,
                                   shutdown_kernel="immediate",
                                   resources={"metadata": {"path": str(Path(cwd))}}, **kwargs)
    client.notebook_name = name
    return client
