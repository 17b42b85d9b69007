"""The one way this project executes a notebook outside nbval: every wait bounded, every failure named.

``tools/execute_notebooks.py``, the determinism test, ``make bench``, the ipywidgets 7.7 check and
``make stress`` all run notebooks through :func:`bounded_client`. It is nbclient's
``NotebookClient`` with three promises:

- **Each cell has a deadline** (``CELL_TIMEOUT_S``, sized to the slowest real cell, about 20 s
  today, with room for a loaded 2-core machine). Kernel start-up has its own deadline.
- **A failure names the notebook, the cell index and the cell's first line**, e.g.
  ``02_evidence.ipynb, cell 15 (slider_panel(plot_naive_estimate_2d, ...): no reply in 120 s``.
- **No kernel outlives its run.** The kernel is shut down immediately (not politely: a wedged
  kernel would not answer) when the run ends, fails or times out.

nbval has its own runner; the Makefile gives it the same deadline (``--nbval-cell-timeout``).
"""

from __future__ import annotations

from pathlib import Path

from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

CELL_TIMEOUT_S = 120
STARTUP_TIMEOUT_S = 60
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


class BoundedNotebookClient(NotebookClient):
    """``NotebookClient`` whose cell failures name the notebook, the cell index and its first line."""

    notebook_name = "<notebook>"

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
