"""The widget code paths under the installed ipywidgets (run by ``make test-compat``).

Colab ships ipywidgets 7.7; our main environment has 8. ``make test-compat`` builds a second
environment, ``.venv-compat``, with ``ipywidgets==7.7.*`` and runs this file there next to strict
nbval on every notebook. The file name does not start with ``test_``, so ``make test`` does not
collect it (under ipywidgets 8 the browser test moves the same sliders in JupyterLab).

For each ``notebooks/NN_*.ipynb`` it runs the whole notebook in a kernel of this interpreter,
then, in the same kernel, finds every live ``slider_panel`` and moves every slider to both ends
of its range, as the front end would. Each move must call the notebook's plotting function with
the notebook's own fixed arguments and show exactly one new PNG figure that differs from the
figure at the other end.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from project import notebook_paths

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = notebook_paths(".ipynb")
REPORT_TAG = "WIDGET-PANEL-REPORT "

# Runs inside the notebook's kernel after its last cell. It sets slider values from Python:
# the same trait change a dragged slider causes through the comm, so the same observer runs.
EXERCISE = r'''
import json as _json, time as _time, hashlib as _hashlib, sys as _sys
import ipywidgets as _w
from IPython import get_ipython as _get_ipython

_pub = _get_ipython().display_pub

class _capture:
    """Record what is displayed (the figure) while still sending it on, as a live kernel does."""
    def __enter__(self):
        self.outputs = []
        _send = _pub.publish
        def _publish(data, *args, **kwargs):
            self.outputs.append(data)
            return _send(data, *args, **kwargs)
        _pub.publish = _publish
        return self
    def __exit__(self, *exc):
        del _pub.publish  # back to the class's method

try:
    _instances = _w.widgets.widget._instances          # ipywidgets 8
except AttributeError:
    _instances = _w.Widget.widgets                      # ipywidgets 7

def _ends(s):
    if isinstance(s, _w.FloatLogSlider):
        return s.base ** s.min, s.base ** s.max
    return s.min, s.max

def _shown(cap):
    pngs = [o["image/png"] for o in cap.outputs if "image/png" in o]
    return [_hashlib.sha256(p.encode() if isinstance(p, str) else p).hexdigest() for p in pngs]

_report = {"ipywidgets": _w.__version__, "executable": _sys.executable, "panels": []}
for _p in list(_instances.values()):
    if not (isinstance(_p, _w.VBox) and hasattr(_p, "redraw") and hasattr(_p, "sliders")):
        continue
    _entry = {}
    for _name, _s in _p.sliders.items():
        _start, _rows = _s.value, []
        _lo, _hi = _ends(_s)
        _moves = [("hi", _hi), ("lo", _lo)] if _start != _hi else [("lo", _lo), ("hi", _hi)]
        for _label, _v in _moves + [("start", _start)]:
            _before = _s.value
            _t = _time.perf_counter()
            with _capture() as _cap:
                _s.value = _v
            if _s.value == _before:  # no change, so nothing to redraw (back at the start)
                continue
            _rows.append({"to": _label, "value": float(_s.value),
                          "seconds": _time.perf_counter() - _t,
                          "figures": _shown(_cap)})
        _entry[_name] = {"class": type(_s).__name__, "moves": _rows}
    _report["panels"].append(_entry)
print("WIDGET-PANEL-REPORT " + _json.dumps(_report))
'''


def _current_env_kernel_manager():
    """A kernel of this very interpreter (so the kernel has this environment's ipywidgets)."""
    import ipykernel.kernelspec
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    class ThisPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES,
                                          **ipykernel.kernelspec.get_kernel_dict())

    return KernelManager(kernel_name="python3", kernel_spec_manager=ThisPython())


def _run_with_exercise(ipynb):
    import nbformat
    from notebook_runner import bounded_client

    nb = nbformat.read(ipynb, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(EXERCISE))
    bounded_client(nb, ipynb.name, ipynb.parent, km=_current_env_kernel_manager()).execute()
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    line = next(ln for ln in text.splitlines() if ln.startswith(REPORT_TAG))
    return json.loads(line[len(REPORT_TAG):])


# The panel itself, with each slider factory, outside any notebook: the same test as under
# ipywidgets 8, imported so that it runs here too.
from test_widgets import (  # noqa: E402, F401
    test_slider_panel_calls_the_plot_function_with_slider_values_and_fixed_arguments)


@pytest.mark.parametrize("ipynb", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_slider_of_the_notebook_redraws_its_figure(ipynb):
    import ipywidgets

    report = _run_with_exercise(ipynb)
    assert report["executable"] == sys.executable, "the kernel is not this environment's Python"
    assert report["ipywidgets"] == ipywidgets.__version__
    assert report["panels"], f"{ipynb.name}: no live slider_panel found"
    for k, panel in enumerate(report["panels"]):
        for name, info in panel.items():
            where = f"{ipynb.name} panel {k} slider {name} ({info['class']})"
            for move in info["moves"]:
                assert len(move["figures"]) == 1, (
                    f"{where}: value {move['value']:.4g} showed {len(move['figures'])} figures")
            by_end = {m["to"]: m["figures"][0] for m in info["moves"]}
            assert {"hi", "lo"} <= set(by_end), f"{where}: did not reach both ends: {info}"
            assert by_end["hi"] != by_end["lo"], f"{where}: the figure is the same at both ends of the range"
            print(f"{where}: redraws in "
                  + ", ".join(f"{m['seconds'] * 1e3:.0f} ms" for m in info["moves"]))
