"""Old home of the figure helpers, kept so that code written against it still runs.

Use ``helpers.plots.figure`` (``new_figure``, ``figure_png``) and ``helpers.plots.live``
(``live_figure``, ``reusing_frames``) instead.
"""

from .plots.figure import FIG_DPI, figure_png as _figure_png, new_figure  # noqa: F401
from .plots.live import live_figure, reusing_frames  # noqa: F401
