"""Variant scores of each model family: one :class:`VariantScorer` subclass per family, found by model name.

A scorer turns reference and alternate windows ``(n, L)`` (uint8 genome codes) into named score arrays
``(n, T)`` float64, one column per task. Each window and, by default, its reverse complement are
predicted in batches on the model's device in full float32 (no autocast, and on CUDA no TF32 for the
duration of the call, so small effects are not lost to rounding), one-hot encoded on that device.

**Bin classifiers** (:data:`cisflow.models.MODELS`), from each strand's logit ``z``:

- ``logit_ref``, ``logit_alt``: the logit, averaged over the two strands;
- ``prob_ref``, ``prob_alt``: ``sigmoid(z)`` averaged over the strands (as :func:`cisflow.predict.predict`);
- ``logit_diff`` = ``logit_alt − logit_ref``; ``prob_diff`` = ``prob_alt − prob_ref``;
- ``log_odds_ratio`` = ``logit(prob_alt) − logit(prob_ref)`` (DeepSEA's; equal to ``logit_diff`` forward only).

**Profile models** (:data:`cisflow.models.PROFILE_MODELS`: BPNet, ChromBPNet; a ChromBPNet is scored
through its bias-corrected head by default), as variant-scorer defines them:

- ``log_counts_ref``, ``log_counts_alt``: ``log`` of the predicted counts ``exp(log counts)``, averaged
  over the strands as counts;
- ``logfc`` = ``log2(counts_alt / counts_ref)``;
- ``jsd``: Jensen–Shannon distance (natural log) between the two alleles' predicted profiles (softmax
  over strands × positions, the reverse strand's flipped back and averaged); across an indel the
  positions the alleles do not share are dropped first (:func:`cisflow.variants.windows.profile_alignment`);
- ``ref_quantile``, ``alt_quantile``: the fraction of peaks whose predicted counts are below the
  allele's (:meth:`ProfileScorer.set_peaks`), ``active_allele_quantile`` the larger (NaN without peaks).

A new family plugs in by subclassing :class:`VariantScorer` (``columns``, ``effects``, ``primary``,
:meth:`~VariantScorer.score`, :meth:`~VariantScorer.explainer`) and adding it to :data:`SCORERS`
with the model names it takes.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from cisflow.errors import CisflowError
from cisflow.genome import COMPLEMENT_CODE
from cisflow.models import MODELS, PROFILE_MODELS, load_model
from cisflow.predict import resolve_device
from cisflow.profile.interpret import HeadTarget
from cisflow.profile.metrics import jensen_shannon
from cisflow.profile.predict import head_forward
from cisflow.variants.alleles import Allele, trim
from cisflow.variants.windows import centre, profile_alignment

log = logging.getLogger(__name__)

_COMPLEMENT = torch.from_numpy(COMPLEMENT_CODE).long()


def onehot_on(codes: torch.Tensor) -> torch.Tensor:
    """One-hot float32 ``(B, 4, L)`` of codes ``(B, L)`` on their device (N, code 4, → all zeros)."""
    eye = torch.eye(5, 4, device=codes.device)
    return eye[codes.long()].transpose(1, 2)


def _strands(codes: np.ndarray, device: torch.device, rc: bool) -> list[torch.Tensor]:
    """Codes on ``device`` as long ``(B, L)``: forward, and reverse complement when ``rc``."""
    t = torch.from_numpy(np.ascontiguousarray(codes))
    t = t.pin_memory().to(device, non_blocking=True) if device.type == "cuda" else t
    t = t.to(device).long()
    return [t, _COMPLEMENT.to(device)[t].flip(-1)] if rc else [t]


@contextlib.contextmanager
def _full_float32(device: torch.device) -> Iterator[None]:
    """TF32 off for CUDA convolutions and matrix products inside the block (restored after); a no-op on CPU."""
    if device.type != "cuda":
        yield
        return
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


class VariantScorer:
    """Variant scores of one model family (subclasses fill in the class attributes and two methods).

    Parameters
    ----------
    model
        The loaded model (eval mode).
    meta
        Its ``model.json`` (``tasks``, ``input_length``, ...).
    device
        ``None`` → CUDA if available, else CPU.
    batch_size
        Windows per forward pass.
    reverse_complement
        Average each prediction with its reverse complement's.
    """

    family: ClassVar[str] = ""
    #: TSV score columns, per allele and task.
    columns: ClassVar[tuple[str, ...]] = ()
    #: Effect sizes: written to the VCF's INFO and tested against the null.
    effects: ClassVar[tuple[str, ...]] = ()
    #: Effects that are never negative (their null test is one-sided).
    one_sided: ClassVar[frozenset[str]] = frozenset()
    #: The effect variants are ranked by (``|value|``) for explanations and plots.
    primary: ClassVar[str] = ""
    descriptions: ClassVar[dict[str, str]] = {}

    def __init__(
        self,
        model: nn.Module,
        meta: Mapping[str, Any],
        device: str | torch.device | None = None,
        batch_size: int = 128,
        reverse_complement: bool = True,
    ) -> None:
        if int(meta.get("in_channels", 4)) != 4:
            raise CisflowError(
                f"the model takes {meta['in_channels']} input channels (signal tracks beside the DNA); "
                "variants can only be scored with a sequence-only model"
            )
        if batch_size < 1:
            raise CisflowError(f"batch_size must be at least 1, got {batch_size}")
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.meta = dict(meta)
        self.tasks = [str(t) for t in meta.get("tasks") or range(int(meta["n_tasks"]))]
        self.input_length = int(meta["input_length"])
        self.batch_size, self.reverse_complement = int(batch_size), bool(reverse_complement)

    @torch.no_grad()
    def _predict(self, codes: np.ndarray, forward: Callable) -> list[list[Any]]:
        """``forward`` of every window (and its reverse complement): per strand, a list of per-batch outputs."""
        outputs: list[list[Any]] = [[] for _ in range(2 if self.reverse_complement else 1)]
        with _full_float32(self.device):
            for i in range(0, len(codes), self.batch_size):
                for s, t in enumerate(_strands(codes[i : i + self.batch_size], self.device, self.reverse_complement)):
                    outputs[s].append(forward(onehot_on(t)))
        return outputs

    def score(self, ref: np.ndarray, alt: np.ndarray, alleles: Sequence[Allele]) -> dict[str, np.ndarray]:
        """Score arrays ``{column: (n, T) float64}`` of reference and alternate windows ``(n, L)`` uint8."""
        raise NotImplementedError

    def explainer(self, task: int) -> tuple[nn.Module, int]:
        """A module mapping one-hot ``(N, 4, L)`` to outputs ``(N, K)``, and the output explained for ``task``."""
        raise NotImplementedError


class ClassifierScorer(VariantScorer):
    """Logit, probability and log-odds effects of a bin classifier (see the module docstring)."""

    family = "classifier"
    columns = ("logit_ref", "logit_alt", "logit_diff", "prob_ref", "prob_alt", "prob_diff", "log_odds_ratio")
    effects = ("logit_diff", "prob_diff", "log_odds_ratio")
    primary = "logit_diff"
    descriptions: ClassVar[dict[str, str]] = {
        "logit_diff": "logit(alt) - logit(ref)",
        "prob_diff": "P(alt) - P(ref)",
        "log_odds_ratio": "log odds of P(alt) minus log odds of P(ref)",
    }

    def _logits(self, codes: np.ndarray) -> np.ndarray:
        """Logits per strand ``(strands, n, T)`` float64."""
        parts = self._predict(codes, lambda x: self.model(x).float().cpu())
        return np.stack([torch.cat(p).double().numpy() for p in parts])

    def score(self, ref: np.ndarray, alt: np.ndarray, alleles: Sequence[Allele]) -> dict[str, np.ndarray]:
        """See :meth:`VariantScorer.score`."""
        n = len(ref)
        z = self._logits(np.concatenate([ref, alt]))
        logit, prob = z.mean(axis=0), (1 / (1 + np.exp(-z))).mean(axis=0)
        with np.errstate(divide="ignore"):
            log_odds = np.log(prob) - np.log1p(-prob)
        out = {"logit_ref": logit[:n], "logit_alt": logit[n:], "prob_ref": prob[:n], "prob_alt": prob[n:]}
        out["logit_diff"] = out["logit_alt"] - out["logit_ref"]
        out["prob_diff"] = out["prob_alt"] - out["prob_ref"]
        out["log_odds_ratio"] = log_odds[n:] - log_odds[:n]
        return {c: out[c] for c in self.columns}

    def explainer(self, task: int) -> tuple[nn.Module, int]:
        """The model itself and the task's logit."""
        return self.model, int(task)


class ProfileScorer(VariantScorer):
    """Counts fold change, profile JSD and active-allele quantile of a BPNet / ChromBPNet (module docstring).

    Parameters
    ----------
    head
        ``full``, ``corrected`` or ``bias`` (:data:`cisflow.profile.predict.HEADS`); None: ``corrected`` for a
        ChromBPNet (its bias-corrected TF model, what variant-scorer scores), ``full`` otherwise.
    **kwargs
        As for :class:`VariantScorer`.
    """

    family = "profile"
    columns = (
        *("log_counts_ref", "log_counts_alt", "logfc", "jsd"),
        *("ref_quantile", "alt_quantile", "active_allele_quantile"),
    )
    effects = ("logfc", "jsd", "active_allele_quantile")
    one_sided = frozenset({"jsd", "active_allele_quantile"})
    primary = "logfc"
    descriptions: ClassVar[dict[str, str]] = {
        "logfc": "log2 fold change of predicted counts (alt / ref)",
        "jsd": "Jensen-Shannon distance between the alleles' predicted profiles",
        "active_allele_quantile": "quantile of the stronger allele's predicted counts among peaks",
    }

    def __init__(self, model: nn.Module, meta: Mapping[str, Any], head: str | None = None, **kwargs: Any) -> None:
        super().__init__(model, meta, **kwargs)
        self.head = head or ("corrected" if hasattr(model, "bias") else "full")
        self._forward = head_forward(self.model, self.head)
        self.peak_counts: np.ndarray | None = None

    def _counts_profiles(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predicted counts ``(n, T)`` and profile probabilities ``(n, T, S, L_out)`` float64, strands averaged."""

        def forward(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            profile, log_counts = self._forward(x)
            probs = torch.softmax(profile.float().flatten(2), dim=-1).reshape(profile.shape)
            return log_counts.float().exp().double().cpu(), probs.double().cpu()

        parts = self._predict(codes, forward)
        counts = [torch.cat([b[0] for b in p]).numpy() for p in parts]
        probs = [torch.cat([b[1] for b in p]).numpy() for p in parts]
        if len(parts) == 2:
            return (counts[0] + counts[1]) / 2, (probs[0] + probs[1][:, :, ::-1, ::-1]) / 2
        return counts[0], probs[0]

    def set_peaks(self, codes: np.ndarray) -> None:
        """Predict the counts of peak windows ``(m, L)`` uint8, the distribution the quantiles are taken in."""
        if len(codes) == 0:
            raise CisflowError("no peak windows for the active-allele quantile")
        counts, _ = self._counts_profiles(codes)
        self.peak_counts = np.sort(counts, axis=0)

    def _quantiles(self, counts: np.ndarray) -> np.ndarray:
        """Fraction of peaks whose predicted counts are below each of ``counts`` ``(n, T)`` (NaN without peaks)."""
        if self.peak_counts is None:
            return np.full(counts.shape, np.nan)
        m = len(self.peak_counts)
        cols = [np.searchsorted(self.peak_counts[:, t], counts[:, t], side="left") / m for t in range(counts.shape[1])]
        return np.stack(cols, axis=1)

    def _jsd(self, ref: np.ndarray, alt: np.ndarray, alleles: Sequence[Allele]) -> np.ndarray:
        """JSD ``(n, T)`` between profiles ``(n, T, S, L_out)``, indels aligned first."""
        jsd = jensen_shannon(ref.reshape(*ref.shape[:2], -1), alt.reshape(*alt.shape[:2], -1))
        width = ref.shape[-1]
        at = centre(self.input_length) - (self.input_length - width) // 2
        for i, a in enumerate(trim(a)[0] for a in alleles):
            if len(a.ref) != len(a.alt):
                keep_ref, keep_alt = profile_alignment(len(a.ref), len(a.alt), at, width)
                p, q = ref[i][..., keep_ref], alt[i][..., keep_alt]
                jsd[i] = jensen_shannon(p.reshape(p.shape[0], -1), q.reshape(q.shape[0], -1))
        return jsd

    def score(self, ref: np.ndarray, alt: np.ndarray, alleles: Sequence[Allele]) -> dict[str, np.ndarray]:
        """See :meth:`VariantScorer.score`."""
        n = len(ref)
        counts, probs = self._counts_profiles(np.concatenate([ref, alt]))
        quantiles = self._quantiles(counts)
        out = {"log_counts_ref": np.log(counts[:n]), "log_counts_alt": np.log(counts[n:])}
        out["logfc"] = (out["log_counts_alt"] - out["log_counts_ref"]) / np.log(2)
        out["jsd"] = self._jsd(probs[:n], probs[n:], alleles)
        out["ref_quantile"], out["alt_quantile"] = quantiles[:n], quantiles[n:]
        out["active_allele_quantile"] = np.fmax(quantiles[:n], quantiles[n:])
        return {c: out[c] for c in self.columns}

    def explainer(self, task: int) -> tuple[nn.Module, int]:
        """The scored head's log counts of ``task`` (:class:`cisflow.profile.interpret.HeadTarget`)."""
        return HeadTarget(self.model, "counts", int(task), self.head).to(self.device).eval(), 0


#: Scorer per model family, and the model names each takes.
SCORERS: dict[str, type[VariantScorer]] = {"classifier": ClassifierScorer, "profile": ProfileScorer}
FAMILY_MODELS: dict[str, Mapping[str, type[nn.Module]]] = {"classifier": MODELS, "profile": PROFILE_MODELS}


def family_of(name: str) -> str:
    """The family whose scorer takes model ``name``; CisflowError for a model variants cannot score."""
    for family, names in FAMILY_MODELS.items():
        if name in names:
            return family
    known = ", ".join(n for names in FAMILY_MODELS.values() for n in names)
    raise CisflowError(f"model {name!r} cannot score variants (sequence models that can: {known})")


def load_scorer(model_dir: str | Path, device: str | torch.device | None = None, **options: Any) -> VariantScorer:
    """The scorer of a saved model (its folder or ``model.json``); ``options`` go to the family's scorer.

    ``head`` is a profile-model option; it is ignored (with a log line) for a classifier.
    """
    resolved = resolve_device(device)
    model, meta = load_model(model_dir, device=resolved)
    family = family_of(str(meta["name"]))
    if family != "profile" and options.pop("head", None) is not None:
        log.info("head applies to profile models only; ignored for %s", meta["name"])
    log.info("scoring variants with %s (%s family) on %s", meta["name"], family, resolved)
    return SCORERS[family](model, meta, device=resolved, **options)
