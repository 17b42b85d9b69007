"""Notebook and widget checks: every slider panel's plot function, and the panel itself.

The panels are found by parsing the notebooks (``tests/panels.py``). A slider can only send values
inside its range, but the plot functions are public helpers a learner also calls by hand, so
each must answer a value far outside the range with a Figure or a ``ValueError`` naming the
argument, never a NaN picture or an unrelated exception.
"""

import math

import pytest
from panels import PANEL_IDS, PANELS, fixed_kwargs, missing, plot_function, resolved


def test_every_panel_is_found():
    assert PANELS, "no slider_panel calls found in notebooks/*.py"


def _bad_values(kind, lo, hi):
    if kind == "int_slider":  # no huge ints: an n_samples of 1e9 would be a valid 8 GB request
        return [-1, 0, int(lo) - 10, int(hi + 10 * (hi - lo))]
    bad = [-1.0, 0.0, math.nan, math.inf, -math.inf, lo - 10 * (hi - lo), hi + 10 * (hi - lo)]
    if kind == "log_slider":
        bad += [lo * 1e-3, min(hi * 1e3, 1e6)]
    return bad


@pytest.mark.parametrize("notebook, fn_name, sliders", PANELS, ids=PANEL_IDS)
def test_plot_functions_reject_or_accept_out_of_range_values_clearly(notebook, fn_name, sliders):
    """Each slider argument, far outside its slider's range: a Figure, or a ValueError naming it."""
    from matplotlib.figure import Figure

    reason = missing(fn_name, sliders)
    if reason:
        pytest.skip(f"{notebook}: {reason}")
    fn = plot_function(fn_name)
    fixed = fixed_kwargs(fn_name)
    problems = []
    for kind, name, _, lo, hi in resolved(fn_name, sliders):
        for value in _bad_values(kind, lo, hi):
            try:
                out = fn(**{name: value}, **fixed)
            except ValueError as exc:
                if name not in str(exc):
                    problems.append(f"{name}={value!r}: ValueError without the name: {exc}")
            except Exception as exc:  # noqa: BLE001 - any other exception is unclear to a learner
                problems.append(f"{name}={value!r}: {type(exc).__name__}: {exc}")
            else:
                if not isinstance(out, Figure):
                    problems.append(f"{name}={value!r} returned {out!r}")
                elif isinstance(value, float) and math.isnan(value):
                    problems.append(f"{name}=nan drew a figure instead of raising")
    assert not problems, f"{fn_name}: unclear out-of-range handling:\n" + "\n".join(problems)


def test_slider_panel_calls_the_plot_function_with_slider_values_and_fixed_arguments():
    from matplotlib.figure import Figure

    from helpers.widgets import float_slider, int_slider, log_slider, slider_panel

    calls = []

    def plot(sigma, c, n_samples, offset):
        calls.append((sigma, c, n_samples, offset))
        return Figure()

    panel = slider_panel(plot, float_slider("sigma", 1.0, 0.1, 3.0, 0.1),
                         log_slider("c", 0.1, 1e-3, 10.0), int_slider("n_samples", 10, 1, 100),
                         offset=7)
    assert calls == [(1.0, 0.1, 10, 7)]  # drawn once on creation
    assert set(panel.sliders) == {"sigma", "c", "n_samples"}
    assert panel.sliders["c"].min == pytest.approx(-3) and panel.sliders["c"].max == pytest.approx(1)
    panel.sliders["c"].value = 1.0
    panel.sliders["sigma"].value = 2.5
    assert calls[-2:] == [(1.0, 1.0, 10, 7), (2.5, 1.0, 10, 7)]
    assert isinstance(panel.figure(sigma=0.5, c=0.2, n_samples=3), Figure)
    assert calls[-1] == (0.5, 0.2, 3, 7)
    with pytest.raises(ValueError, match="plot_fn"):
        slider_panel(None, float_slider("sigma", 1.0, 0.1, 3.0, 0.1))
    with pytest.raises(ValueError, match="description"):
        slider_panel(plot, float_slider("sigma", 1.0, 0.1, 3.0, 0.1),
                     float_slider("sigma", 1.0, 0.1, 3.0, 0.1))


def test_a_panel_reuses_its_figure_and_a_direct_call_does_not():
    """Inside a panel a live plot function returns the same figure; called directly, a new one."""
    from helpers.widgets import float_slider, slider_panel

    nb, fn_name, sliders = next(p for p in PANELS if p[1] == "plot_inverse_cdf")
    fn, fixed = plot_function(fn_name), fixed_kwargs(fn_name)
    panel = slider_panel(fn, float_slider("mu", 0.0, -3.0, 3.0, 0.1), **fixed)
    assert panel.figure(mu=1.0) is panel.figure(mu=-1.0)
    assert fn(mu=1.0, **fixed) is not fn(mu=1.0, **fixed)
