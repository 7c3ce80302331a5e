"""What a trained model's trunk holds for a task: the seeded filters and the hidden units as read-outs (issue 18).

For each model directory (e.g. ``benchmarks/small_data.py``'s ``pretrained_seeded`` and ``new_default``) the
DeepBind-like model's features are computed on a dataset pair (``train.npz``, ``valid.npz`` of one task) in
evaluation mode, and the table gives the validation auROC of

- the seeded filters (the first two: a motif's forward and reverse-complement strand), each and the max of both
  (the first layer's max over the window);
- every hidden unit's best linear read-out: a logistic regression (scikit-learn, C 1) fitted on the training
  set's hidden units, scored on the validation set; and the number of hidden units that never fire there.

A fresh model seeded with ``--motif`` is the reference (``seeded, untrained``). Usage::

    python benchmarks/transfer_probe.py --data benchmarks/out/small_data/chip/data_small \\
        --models benchmarks/out/small_data/chip/pretrained_seeded benchmarks/out/small_data/chip/new_default \\
        --motif CEBPB_known1
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402
import torch  # noqa: E402


def features(model: torch.nn.Module, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first layer's max over the window ``(N, F)`` and the hidden units ``(N, H)`` of a DeepBind model."""
    from cisflow.predict import codes_to_tensor

    pooled, hidden = [], []
    with torch.no_grad():
        for i in range(0, len(codes), 256):
            h = torch.relu(model.conv(codes_to_tensor(codes[i : i + 256], torch.device("cpu"))))
            z = torch.cat([h.amax(-1), h.mean(-1)], 1) if model.max_avg else h.amax(-1)
            pooled.append(h.amax(-1).numpy())
            hidden.append(torch.relu(model.hidden(z)).numpy())
    return np.concatenate(pooled), np.concatenate(hidden)


def labelled(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Codes and labels of a one-task dataset npz, ambiguous rows left out."""
    data = np.load(path)
    y = data["labels"][:, 0]
    keep = y >= 0
    return data["codes"][keep], y[keep].astype(int)


def probe(name: str, model: torch.nn.Module, train: tuple, valid: tuple) -> dict:
    """One table row: seeded-filter and hidden read-out auROCs on the validation set."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    model.eval()
    (_, h_train), (z_valid, h_valid) = features(model, train[0]), features(model, valid[0])
    readout = LogisticRegression(max_iter=2000, C=1.0).fit(h_train, train[1]).predict_proba(h_valid)[:, 1]
    return {
        "model": name,
        "filter0": roc_auc_score(valid[1], z_valid[:, 0]),
        "filter1": roc_auc_score(valid[1], z_valid[:, 1]),
        "both": roc_auc_score(valid[1], z_valid[:, :2].max(1)),
        "hidden": roc_auc_score(valid[1], readout),
        "dead": int((h_valid > 0).sum(0).__eq__(0).sum()),
        "units": h_valid.shape[1],
    }


def main(argv: list[str] | None = None) -> None:
    from cisflow.models import build_model, load_model
    from cisflow.pwm import load_motifs
    from cisflow.seeding import seed_filters

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with train.npz and valid.npz (one task)")
    parser.add_argument("--models", type=Path, nargs="+", required=True, help="trained DeepBind model folders")
    parser.add_argument("--motif", required=True, help="the motif the first two filters were seeded with")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    train, valid = labelled(args.data / "train.npz"), labelled(args.data / "valid.npz")
    params = json.loads((args.models[0] / "model.json").read_text())["params"]  # the first model's architecture
    torch.manual_seed(args.seed)
    fresh = build_model("deepbind", 1, train[0].shape[1], 4, **params)
    seed_filters(fresh, load_motifs([args.motif]))
    rows = [probe("seeded, untrained", fresh, train, valid)]
    rows += [probe(path.name, load_model(path / "model.json")[0], train, valid) for path in args.models]
    print(f"valid: {int(valid[1].sum())} bound / {int((valid[1] == 0).sum())} unbound; train: {len(train[1])} rows")
    print(f"{'model':<24}{'filter 0':>9}{'filter 1':>9}{'both':>7}{'hidden read-out':>17}{'silent units':>14}")
    for r in rows:
        print(f"{r['model']:<24}{r['filter0']:>9.3f}{r['filter1']:>9.3f}{r['both']:>7.3f}{r['hidden']:>17.3f}"
              f"{r['dead']:>8d} of {r['units']}")  # fmt: skip


if __name__ == "__main__":
    main()
