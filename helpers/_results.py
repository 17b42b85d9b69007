"""The one convention for results with several named fields: a frozen dataclass.

A helper that returns a record (``elbo_terms``, ``train_vae``, ``c_grid_summary``, ...) returns a
``@dataclass(frozen=True)`` that derives from ``Result``: its fields are listed in its docstring,
``??`` shows them, and ``r.elbo`` reads one. ``Result`` adds read access by name, ``r["elbo"]``,
so code written when some of these were dicts keeps working; a field that is None counts as
absent (``"test" in history`` is False without a held-out set, as a missing key was).

A plain pair that the API documents as a tuple stays a tuple, as numpy does: ``(x, z)`` from
``sample``, ``(mean, cov)`` from ``posterior``, ``(mu_phi, sigma_phi)`` from ``encode``.
"""

from __future__ import annotations

import dataclasses

__all__ = ["Result"]


class Result:
    """Mixin for frozen dataclasses: ``r["name"]`` reads field ``name``; ``keys()`` lists them."""

    def keys(self):
        """The names of the fields that hold a value (not None), in declaration order."""
        return [f.name for f in dataclasses.fields(self) if getattr(self, f.name) is not None]

    def __getitem__(self, name):
        if name not in self.keys():
            raise KeyError(name)
        return getattr(self, name)

    def __contains__(self, name):
        return name in self.keys()
