"""How ``helpers.vae.train_vae`` runs its networks: one VAE, or a grid of them in one pass.

Notebook 04 trains one model per value of c on a grid (its c slider). ``VAEGrid`` stacks their
parameters and runs them through ``torch.func.vmap``, so a grid costs one batched pass per step;
``OneVAE`` runs a single model as itself. Both give eq. 2.8's terms per model and example
(``helpers.vae_bounds.negative_elbo_from_q``), so ``train_vae``'s loop is the same for both.
"""

from __future__ import annotations

import torch

from .nets import frozen
from .vae_bounds import NegativeElboTerms, negative_elbo_from_q

__all__ = ["OneVAE", "VAEGrid", "frozen_copies"]


class OneVAE:
    """One VAE, run as itself (cheaper than a vmap stack of one)."""

    def __init__(self, models, log_c):
        self.model, self.log_c = models[0], log_c
        self.params = list(self.model.parameters())

    def terms(self, xb, eps):
        """Eq. 2.8's terms on a batch, a ``NegativeElboTerms`` of shape (1, n) tensors."""
        out = self.model(xb, eps[0])
        t = negative_elbo_from_q(xb, out.mu_phi, out.sigma_phi, out.f, torch.exp(self.log_c[0]))
        return NegativeElboTerms(t.reconstruction[None], t.kl[None])

    def states(self):
        """The model's parameters, as a list of one state dict."""
        return [self.model.state_dict()]


class VAEGrid:
    """A grid of VAEs, one per c: every parameter is stacked with a leading model axis, and
    ``torch.func.vmap`` runs all models in one batched pass on a copy of the architecture
    without parameters (on the meta device), the same batch for each."""

    def __init__(self, models, log_c, make_model):
        from torch.func import functional_call, stack_module_state, vmap

        self.stacked, _ = stack_module_state(models)
        self.params, self.log_c = list(self.stacked.values()), log_c
        base = make_model().to("meta")

        def one(p, xb, eps, log_c1):  # one model of the stack (vmap returns tensors, not results)
            out = functional_call(base, p, (xb, eps))
            t = negative_elbo_from_q(xb, out.mu_phi, out.sigma_phi, out.f, torch.exp(log_c1))
            return t.reconstruction, t.kl

        self.vmapped = vmap(one, in_dims=(0, None, 0, 0))

    def terms(self, xb, eps):
        """Eq. 2.8's terms of every model on a batch: a ``NegativeElboTerms`` of (n_models, n)."""
        return NegativeElboTerms(*self.vmapped(self.stacked, xb, eps, self.log_c))

    def states(self):
        """Each model's parameters, as a list of state dicts (copies)."""
        return [{key: v[i].clone() for key, v in self.stacked.items()}
                for i in range(len(self.log_c))]


def frozen_copies(make_model, states):
    """New models holding ``states``, in eval mode, gradients off."""
    copies = [make_model() for _ in states]
    with torch.no_grad():
        for m, state in zip(copies, states):
            m.load_state_dict(state)
    return [frozen(m) for m in copies]
