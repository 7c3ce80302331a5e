"""Predict a trained model on a challenge region list and write the submissions under the challenge's names.

The ENCODE-DREAM region lists (``ladder_regions.blacklistfiltered.bed.gz``,
``test_regions.blacklistfiltered.bed.gz``) give the 200 bp bins a submission must score, in order.
Each region is scored on the ``input_length`` window centred on it (as the training windows were),
in chunks, and one ``<round>.<TF>.<CELL>.tab.gz`` per task is written in the region list's order. A
held-out cell type's task (``CTCF.liver`` from a model trained on ``CTCF.K562``) is written from the
TF's trained output(s) (:func:`cisflow.splits.task_sources`), as the challenge's "new cell type" round asks.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cisflow.dream import write_submission
from cisflow.dream_files import read_regions, submission_name
from cisflow.errors import CisflowError
from cisflow.splits import map_outputs, task_sources

log = logging.getLogger(__name__)


def predict_regions(
    model_path: str | Path,
    fasta: str | Path,
    regions_path: str | Path,
    out_dir: str | Path,
    *,
    round: str = "F",
    batch_size: int = 256,
    chunk: int = 100_000,
    reverse_complement_average: bool = True,
    device: str | None = None,
    tasks: Sequence[str] | None = None,
) -> dict[str, Path]:
    """Score every region of a challenge region list and write one submission per task.

    Parameters
    ----------
    model_path
        A cisflow model (folder or ``model.json``) with tasks ``<TF>.<CELL>``; DNA input only.
    fasta
        The genome the regions refer to.
    regions_path
        ``chr start stop`` region list (:func:`cisflow.dream_files.read_regions`).
    out_dir
        Output folder; files ``<round>.<TF>.<CELL>.tab.gz``.
    round, batch_size, chunk, reverse_complement_average, device
        Challenge round letter; prediction batch; regions per chunk; mean of both strands; device.
    tasks
        ``<TF>.<CELL>`` tasks to write (default: the model's); one the model was not trained on is
        predicted by the same TF's output(s) in its training cell types.

    Returns
    -------
    dict
        ``{task: path}``.
    """
    from cisflow.genome import Genome
    from cisflow.models import load_model
    from cisflow.predict import predict

    model, meta = load_model(model_path)
    if meta.get("in_channels", 4) != 4:
        raise CisflowError("region-list prediction needs a DNA-only model (this one takes signal channels)", model_path)
    model_tasks = [str(t) for t in meta.get("tasks") or [f"task{i}" for i in range(meta["n_tasks"])]]
    tasks = model_tasks if tasks is None else [str(t) for t in tasks]
    names = {t: submission_name(*_tf_cell(t), round) for t in tasks}
    try:
        sources = task_sources(tasks, model_tasks)
    except CisflowError as exc:
        raise CisflowError(str(exc), model_path) from exc
    regions = read_regions(regions_path)
    genome = Genome.open(fasta)  # a code cache or an indexed FASTA is read per window, not loaded
    unknown = sorted(set(regions["chr"]) - set(genome.chroms))
    if unknown:
        raise CisflowError(f"regions on chromosomes absent from {fasta}: {', '.join(unknown[:5])}", regions_path)
    length = int(meta["input_length"])
    centre = ((regions["start"] + regions["stop"]) // 2).to_numpy(np.int64)
    probs = np.empty((len(regions), len(tasks)), dtype=np.float32)
    for lo in range(0, len(regions), chunk):
        hi = min(lo + chunk, len(regions))
        codes = genome.fetch_many(regions["chr"].to_numpy()[lo:hi], centre[lo:hi] - length // 2, length)
        outputs = predict(model, codes, batch_size=batch_size, device=device,
                          reverse_complement_average=reverse_complement_average)  # fmt: skip
        probs[lo:hi] = map_outputs(outputs, sources)
        log.info("scored %d of %d regions", hi, len(regions))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    chroms, starts, stops = (regions[c].to_numpy() for c in ("chr", "start", "stop"))
    paths = {t: out / names[t] for t in tasks}
    for j, task in enumerate(tasks):
        write_submission(chroms, starts, stops, probs[:, j], paths[task])
    return paths


def _tf_cell(task: str) -> tuple[str, str]:
    tf, sep, cell = task.partition(".")
    if not sep:
        raise CisflowError(f"task {task!r} is not <TF>.<CELL>; the challenge's submission names need both")
    return tf, cell
