"""Train notebook 07's likelihood model and write its weights: ``make weights``.

    python tools/digits_weights.py [--steps N] [--out PATH]

The recipe is ``helpers.likelihood_model.RECIPE`` (seeded, one torch thread, float32): the
diffusion network of notebook 07 without labels, trained with §3's weighting, 40.5 times as long,
on the training digits minus the validation split. The file holds the network's parameters (float32),
the loss per step and the training seconds; ``load_likelihood_model`` reads it. On one machine
the same command writes the same parameters; tests/test_bits_per_level.py checks that (under
DIGITS_WEIGHTS_TEST=1, as it takes minutes).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from helpers.data import load_digits_with_labels  # noqa: E402
from helpers.likelihood_model import WEIGHTS, train_likelihood_model  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="override the recipe's steps")
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    args = parser.parse_args(argv)
    train = load_digits_with_labels("train")
    model = train_likelihood_model(train.x, train.labels, steps=args.steps)
    state = {"net": {k: v.float() for k, v in model.net.state_dict().items()},
             "history": torch.as_tensor(model.history, dtype=torch.float32),
             "train_s": model.train_s}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB) after {model.train_s:.0f} s "
          f"of training; final loss {model.history[-100:].mean():.2f}")


if __name__ == "__main__":
    main()
