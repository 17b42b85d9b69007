"""The progress bar of every loop that can take more than a second (notebooks 02, 04 and 05).

A plain-text tqdm bar on stderr: it animates in JupyterLab, Colab and a terminal and needs no
widget manager. Its format leaves out the rate, whose width varies (99 -> 100 it/s would change the
bar's width), so the last line is deterministic except for the elapsed and remaining times, which
the notebook tests' sanitize file masks. Training functions switch it with ``progress=True``.
"""

from __future__ import annotations

import sys

__all__ = ["progress_bar"]

BAR_FORMAT = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]{postfix}"


def progress_bar(iterable=None, *, total=None, desc=None, disable=False):
    """``tqdm`` over ``iterable`` (or a manual bar of ``total`` steps), written to stderr."""
    from tqdm.std import tqdm

    return tqdm(iterable, total=total, desc=desc, file=sys.stderr, disable=disable,
                mininterval=0.25, ascii=" #", ncols=80, dynamic_ncols=False,
                bar_format=BAR_FORMAT)
