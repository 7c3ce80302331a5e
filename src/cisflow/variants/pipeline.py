"""The variants stage: score every allele of a VCF (or variant-scorer TSV) with a trained model, streaming.

:func:`score_variants` reads the variants a chunk of records at a time (bounded memory whatever the
file's size), checks each against the genome, scores the alleles in batches on the model's device,
and writes as it goes, to temporary names renamed into place only when everything succeeded:

- ``scores``: TSV, one row per scored allele × task: ``chrom pos ref alt id task``, the family's score
  columns (:mod:`cisflow.variants.scorers`), a ``<effect>_pval`` column per effect (NA without a null),
  and ``motif_hit`` (the motif hits the variant overlaps; empty without a hits table). 1-based ``pos``
  as in VCF, ``-`` for an empty allele;
- ``vcf``: the input's records with INFO ``CFV_STATUS`` and ``CFV_<EFFECT>_<task>`` (``Number=A``; a TSV
  input becomes a VCF, empty alleles anchored on the base before);
- ``mismatches``: TSV of alleles whose REF differs from the genome (never scored), with the genome's bases;
- ``top``: the top variants by ``|primary effect|`` (any task) with their scores and motif hits;
- ``explanations``: npz of their ISM and DeepSHAP around the variant (:mod:`cisflow.variants.explain`);
- ``plots``: folder with ``effects.png`` and one ``<rank>_<chrom>_<pos>_<ref>_<alt>.png`` of ref / alt logos per
  top variant;
- ``summary``: JSON of the counts (records, alleles, scored, each reason for skipping), parameters and top variants.

A chromosome the genome lacks (e.g. ``22`` vs ``chr22``), a position past a chromosome's end, an allele
longer than the window holds, a malformed line and an unsorted or unindexed VCF.gz are one-line
CisflowErrors, found by a first pass over the whole file before anything is scored; nothing is left behind.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import heapq
import itertools
import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cisflow.errors import CisflowError
from cisflow.genome import Genome, decode
from cisflow.io import atomic_path, save_npz
from cisflow.variants import alleles as al
from cisflow.variants.alleles import Allele
from cisflow.variants.explain import explain_alleles, ism_importance
from cisflow.variants.io import (
    MotifHits,
    Record,
    TextSink,
    add_info,
    atomic_dir,
    info_fields,
    info_header,
    open_variants,
    vcf_header,
)
from cisflow.variants.null import NULLS, empirical_pvalues, null_windows, reservoir_sample
from cisflow.variants.plots import plot_effects, plot_variant_logos
from cisflow.variants.scorers import VariantScorer, load_scorer
from cisflow.variants.windows import allele_windows, fetch_segments, genome_ref

log = logging.getLogger(__name__)

OUTPUTS = ("scores", "vcf", "mismatches", "top", "explanations", "plots", "summary")
MISMATCH_COLUMNS = ["chrom", "pos", "id", "ref", "alt", "genome_ref"]
_SAMPLE = 20_000  # effects kept per task for the plot


def variant_outputs(scores: str | Path) -> dict[str, Path]:
    """Every output's usual name beside the scores TSV ``<name>.tsv`` (see the module docstring)."""
    scores = Path(scores)
    stem = scores.name.removesuffix(".gz").removesuffix(".tsv")
    at = scores.parent
    names = {
        "vcf": f"{stem}.annotated.vcf.gz",
        "mismatches": f"{stem}.ref_mismatches.tsv",
        "top": f"{stem}.top.tsv",
        "explanations": f"{stem}.explanations.npz",
        "plots": f"{stem}_plots",
        "summary": f"{stem}.summary.json",
    }
    return {"scores": scores} | {k: at / v for k, v in names.items()}


@dataclasses.dataclass
class _Run:
    """What one run holds: the scorer, the genome, the options, and the counts so far."""

    scorer: VariantScorer
    genome: Genome
    source: Path
    max_indel_length: int
    hits: MotifHits | None = None
    null: dict[str, np.ndarray] | None = None
    counts: Counter = dataclasses.field(default_factory=Counter)
    known: set = dataclasses.field(default_factory=set)

    def check_chrom(self, allele: Allele) -> None:
        """The allele's chromosome must be in the genome and its REF inside the chromosome."""
        if allele.chrom not in self.known:
            if allele.chrom not in self.genome.sizes:
                raise _unknown_chrom(allele.chrom, self.genome, self.source)
            self.known.add(allele.chrom)
        size = self.genome.sizes[allele.chrom]
        if allele.start + len(allele.ref) > size:
            where = (
                f"{allele.key[:60]} lies past the end of {allele.chrom} ({size:,} bp) in the genome {self.genome.path}"
            )
            raise CisflowError(f"{where}: are the variants on another assembly?", self.source)


def _counterpart(chrom: str, names: Iterable[str]) -> str | None:
    """The genome's name for ``chrom`` under the other naming (``22`` ↔ ``chr22``, ``MT`` ↔ ``chrM``), if any."""
    options = [chrom[3:] if chrom.startswith("chr") else f"chr{chrom}"]
    options += {"chrM": ["MT", "M"], "MT": ["chrM"], "M": ["chrM"]}.get(chrom, [])
    known = set(names)
    return next((o for o in options if o in known), None)


def _unknown_chrom(chrom: str, genome: Genome, source: Path) -> CisflowError:
    """A one-line error naming the chromosome and the genome's naming."""
    other = _counterpart(chrom, genome.sizes)
    if other is not None:
        where = f"chromosome {chrom!r} is not in the genome {genome.path}, which calls it {other!r}"
        hint = "rename one side (e.g. bcftools annotate --rename-chrs)"
        return CisflowError(f"{where} ({chrom} vs {other} naming); {hint}", source)
    names = list(genome.sizes)
    shown = ", ".join(names[:4]) + (" …" if len(names) > 4 else "")
    return CisflowError(f"chromosome {chrom!r} is not in the genome {genome.path} (it has {shown})", source)


def split_record(record: Record) -> list[Allele]:
    """One :class:`Allele` per ALT of ``record`` (multi-allelic records split), alleles upper-cased."""
    ref = record.ref.upper()
    alts = [alt if al.is_symbolic(alt) else alt.upper() for alt in record.alts]
    return [Allele(record.chrom, record.pos, ref, alt, record.id, record.index, i) for i, alt in enumerate(alts)]


def _classify(run: _Run, alleles: Sequence[Allele]) -> list[str]:
    """Each allele's status from its strings (chromosome and window fit checked on the way)."""
    statuses = []
    for a in alleles:
        run.check_chrom(a)
        status = al.classify(a.ref, a.alt, run.max_indel_length)
        if status not in (al.SYMBOLIC, al.N_ALLELE):
            try:
                al.check_fits(a, run.scorer.input_length)
            except CisflowError as exc:
                raise CisflowError(str(exc), run.source) from None
        statuses.append(status)
    return statuses


def _chunks(records: Iterable[Record], size: int) -> Iterator[tuple[list[Record], list[Allele]]]:
    """Records and their alleles, about ``size`` alleles at a time (a record's alleles stay together)."""
    batch: list[Record] = []
    alleles: list[Allele] = []
    for record in records:
        batch.append(record)
        alleles.extend(split_record(record))
        if len(alleles) >= size:
            yield batch, alleles
            batch, alleles = [], []
    if batch:
        yield batch, alleles


@dataclasses.dataclass
class _Chunk:
    """One chunk's alleles, their statuses, the scored rows and their scores."""

    records: list[Record]
    alleles: list[Allele]
    statuses: list[str]
    scored: np.ndarray
    windows: tuple[np.ndarray, np.ndarray] | None
    mismatches: list[list[Any]]
    scores: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)


def _prepare_chunk(run: _Run, records: list[Record], alleles: list[Allele]) -> _Chunk:
    """Classify one chunk, check REF against the genome and build the windows of what is to be scored."""
    statuses = _classify(run, alleles)
    cand = [i for i, s in enumerate(statuses) if s == al.CANDIDATE]
    length, mismatches = run.scorer.input_length, []
    segments = fetch_segments(run.genome, [alleles[i] for i in cand], length) if cand else None
    bases = genome_ref(segments, [alleles[i] for i in cand], length) if cand else []
    ok = []
    for j, (i, got) in enumerate(zip(cand, bases, strict=True)):
        a = alleles[i]
        if got == a.ref:
            statuses[i] = al.SCORED
            ok.append(j)
        else:
            statuses[i] = al.REF_MISMATCH
            mismatches.append([a.chrom, a.pos, a.id, a.ref or "-", a.alt or "-", got or "-"])
    scored = np.asarray([cand[j] for j in ok], dtype=np.int64)
    windows = allele_windows(segments[ok], [alleles[i] for i in scored], length) if ok else None
    run.counts.update(statuses)
    run.counts["records"] += len(records)
    run.counts["alleles"] += len(alleles)
    return _Chunk(records, alleles, statuses, scored, windows, mismatches)


def _prepared(run: _Run, reader: Iterable[Record], size: int, depth: int = 2) -> Iterator[_Chunk]:
    """Chunks with their windows built ``depth`` ahead in a background thread while the model scores."""
    chunks = _chunks(reader, size)

    def make() -> _Chunk | None:
        batch = next(chunks, None)
        return None if batch is None else _prepare_chunk(run, *batch)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cisflow-variants") as pool:
        pending = collections.deque(pool.submit(make) for _ in range(depth))
        while pending:
            chunk = pending.popleft().result()
            if chunk is None:
                return
            pending.append(pool.submit(make))
            yield chunk


def _pvalues(run: _Run, scores: Mapping[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """``<effect>_pval`` ``(n, T)`` against the run's null (NaN without one)."""
    out = {}
    for e in run.scorer.effects:
        if run.null is None or n == 0:
            out[f"{e}_pval"] = np.full((n, len(run.scorer.tasks)), np.nan)
        else:
            out[f"{e}_pval"] = empirical_pvalues(scores[e], run.null[e], e in run.scorer.one_sided)
    return out


def _motif_hits(run: _Run, alleles: Sequence[Allele]) -> list[str]:
    """The motif hits each allele's REF span (at least its first base) overlaps."""
    if run.hits is None:
        return [""] * len(alleles)
    return [run.hits.overlapping(a.chrom, a.start, a.start + max(len(a.ref), 1)) for a in alleles]


def score_columns(scorer: VariantScorer) -> list[str]:
    """The scores TSV's columns for ``scorer``."""
    return ["chrom", "pos", "ref", "alt", "id", "task", *scorer.columns, *(f"{e}_pval" for e in scorer.effects),
            "motif_hit"]  # fmt: skip


def _score_table(run: _Run, chunk: _Chunk) -> pd.DataFrame:
    """One row per scored allele × task (allele-major)."""
    tasks = run.scorer.tasks
    chosen = [chunk.alleles[i] for i in chunk.scored]

    def rep(values: list) -> np.ndarray:
        return np.repeat(np.asarray(values, dtype=object), len(tasks))

    table = {
        "chrom": rep([a.chrom for a in chosen]),
        "pos": np.repeat(np.asarray([a.pos for a in chosen], dtype=np.int64), len(tasks)),
        "ref": rep([a.ref or "-" for a in chosen]),
        "alt": rep([a.alt or "-" for a in chosen]),
        "id": rep([a.id for a in chosen]),
        "task": np.tile(np.asarray(tasks, dtype=object), len(chosen)),
    }
    values = chunk.scores | _pvalues(run, chunk.scores, len(chosen))
    table |= {c: np.asarray(values[c], dtype=np.float64).reshape(-1) for c in values}
    table["motif_hit"] = rep(_motif_hits(run, chosen))
    return pd.DataFrame(table, columns=score_columns(run.scorer))


def _anchored(allele: Allele, genome: Genome) -> tuple[int, str, str]:
    """VCF ``(POS, REF, ALT)`` of an allele; an empty allele gets the base before (after, at position 1)."""
    if allele.ref and allele.alt:
        return allele.pos, allele.ref, allele.alt
    if allele.start > 0:
        base = decode(genome.fetch(allele.chrom, allele.start - 1, allele.start))
        return allele.pos - 1, base + allele.ref, base + allele.alt
    base = decode(genome.fetch(allele.chrom, allele.start + len(allele.ref), allele.start + len(allele.ref) + 1))
    return allele.pos, allele.ref + base, allele.alt + base


def _vcf_text(run: _Run, chunk: _Chunk) -> str:
    """The chunk's records as annotated VCF lines."""
    n, tasks = len(chunk.alleles), run.scorer.tasks
    effects = {e: np.full((n, len(tasks)), np.nan) for e in run.scorer.effects}
    for e in effects:
        if len(chunk.scored):
            effects[e][chunk.scored] = chunk.scores[e]
    lines, first = [], 0
    for record in chunk.records:
        count = len(record.alts)
        rows = slice(first, first + count)
        info = info_fields(chunk.statuses[rows], {e: v[rows] for e, v in effects.items()}, tasks)
        if record.raw is not None:
            lines.append(add_info(str(record.raw).rstrip("\n"), info))
        else:
            a = chunk.alleles[first]
            pos, ref, alt = _anchored(a, run.genome)
            lines.append("\t".join([a.chrom, str(pos), a.id, ref, alt, ".", ".", info]))
        first += count
    return "".join(line + "\n" for line in lines)


class _Top:
    """The ``k`` alleles with the largest ``|primary effect|`` over tasks, and a sample of every effect."""

    def __init__(self, k: int, tasks: Sequence[str], seed: int, columns: Sequence[str]) -> None:
        self.k, self.heap, self.tick, self.columns = k, [], itertools.count(), list(columns)
        self.sample = {t: [] for t in tasks}
        self.seen, self.rng = 0, np.random.default_rng(seed)

    def add(self, table: pd.DataFrame, primary: str, n_tasks: int) -> None:
        """Take a chunk's scores table (allele-major, ``n_tasks`` rows per allele)."""
        values = table[primary].to_numpy(np.float64).reshape(-1, n_tasks)
        for t, task in enumerate(self.sample):
            self._keep(task, values[:, t])
        self.seen += len(values)
        strength = np.where(np.isfinite(values), np.abs(values), -np.inf)
        best = strength.argmax(axis=1) if len(values) else np.zeros(0, int)
        for i, t in enumerate(best):
            value = float(strength[i, t])
            if len(self.heap) == self.k and (self.k == 0 or value <= self.heap[0][0]):
                continue  # not among the k strongest so far (ties keep the earlier)
            item = (value, next(self.tick), table.iloc[i * n_tasks + int(t)].to_dict())
            (heapq.heappush if len(self.heap) < self.k else heapq.heapreplace)(self.heap, item)

    def _keep(self, task: str, values: np.ndarray) -> None:
        """A uniform sample of at most ``_SAMPLE`` values per task (Algorithm R over the stream)."""
        kept = self.sample[task]
        for i, v in zip(itertools.count(self.seen), values.tolist()):
            if i < _SAMPLE:
                kept.append(v)
            elif (j := int(self.rng.integers(0, i + 1))) < _SAMPLE:
                kept[j] = v

    def rows(self) -> pd.DataFrame:
        """The top rows, strongest first, with ``rank``."""
        rows = [item[2] for item in sorted(self.heap, key=lambda x: (-x[0], x[1]))]
        table = pd.DataFrame(rows, columns=self.columns)
        table.insert(0, "rank", np.arange(1, len(table) + 1))
        return table


# ---------------------------------------------------------------------------------------------- before the stream


def peak_windows(genome: Genome, peaks: str | Path, length: int, max_peaks: int, seed: int) -> np.ndarray:
    """Codes ``(m, length)`` of windows centred on peak summits (a seeded sample of at most ``max_peaks``)."""
    from cisflow.narrowpeak import read_narrowpeak

    table = read_narrowpeak(peaks, genome)
    summit = table["summit"].to_numpy(np.int64)
    start, end = table["start"].to_numpy(np.int64), table["end"].to_numpy(np.int64)
    centres = np.where(summit >= 0, start + summit, (start + end) // 2)
    rows = np.arange(len(table))
    if len(rows) > max_peaks:
        rows = np.sort(np.random.default_rng(seed).choice(rows, size=max_peaks, replace=False))
    chroms = table["chrom"].to_numpy(dtype=object)[rows]
    return genome.fetch_many(chroms, centres[rows] - length // 2, length)


def _candidates(run: _Run, path: Path, fmt: str | None) -> Iterator[Allele]:
    """Every allele of the file that passes the string checks: a first pass over the whole file that raises
    every error the file holds (format, order, chromosomes, positions, allele lengths) before any scoring."""
    with open_variants(path, fmt) as reader:
        for record in reader:
            alleles = split_record(record)
            for a, status in zip(alleles, _classify(run, alleles), strict=True):
                if status == al.CANDIDATE:
                    yield a


def null_scores(run: _Run, kind: str, sample: Sequence[Allele], seed: int, chunk: int) -> dict[str, np.ndarray]:
    """Effects ``{effect: (m, T)}`` of the ``kind`` null built from ``sample``."""
    length = run.scorer.input_length
    ref, alt, moved = null_windows(kind, run.genome, sample, length, seed)
    parts = [
        run.scorer.score(ref[i : i + chunk], alt[i : i + chunk], moved[i : i + chunk])
        for i in range(0, len(ref), chunk)
    ]
    return {e: np.concatenate([p[e] for p in parts]) for e in run.scorer.effects}


# ---------------------------------------------------------------------------------------------- after the stream


def _from_row(row: Any) -> Allele:
    """The allele of a scores-table row."""
    ref, alt = ("" if a == "-" else str(a) for a in (row.ref, row.alt))
    return Allele(str(row.chrom), int(row.pos), ref, alt, str(row.id), -1, 0)


def _explain(run: _Run, top: pd.DataFrame, folder: Path, npz: Path, flank: int, n_references: int, seed: int) -> None:
    """ISM / DeepSHAP of the top variants: the npz and one logo PNG each in ``folder``."""
    tasks = {t: i for i, t in enumerate(run.scorer.tasks)}
    chosen = [_from_row(r) for r in top.itertuples()]
    task_index = [tasks[str(t)] for t in top["task"]]
    result = explain_alleles(run.scorer, run.genome, chosen, task_index, flank, n_references, seed) if chosen else {}
    names = []
    for k, a in enumerate(chosen):
        name = f"{k + 1:02d}_{a.chrom}_{a.pos}_{(a.ref or '-')[:10]}_{(a.alt or '-')[:10]}.png"
        names.append(name)
        effect = run.scorer.primary
        title = f"#{k + 1} {a.key[:60]} {a.id} · task {top['task'].iloc[k]} · {effect} {top[effect].iloc[k]:.3g}"
        hit = top["motif_hit"].iloc[k]
        title += f" · motif {hit}" if isinstance(hit, str) and hit else ""
        panels = [(f"DeepSHAP {s}", result[f"deepshap_{s}"][k]) for s in ("ref", "alt")]
        panels += [(f"ISM {s}", ism_importance(result[f"ism_{s}"][k : k + 1], result[f"x_{s}"][k : k + 1])[0])
                   for s in ("ref", "alt")]  # fmt: skip
        core = al.trim(a)[0]
        plot_variant_logos(folder / name, title, panels, flank, (len(core.ref), len(core.alt)))
    top["logo"] = names
    meta = {f: np.asarray([getattr(a, f) for a in chosen], dtype=str) for f in ("chrom", "ref", "alt", "id")}
    meta |= {"pos": np.asarray([a.pos for a in chosen], np.int64), "tasks": np.asarray(run.scorer.tasks, dtype=str)}
    save_npz(npz, **result, **meta, flank=np.int64(flank))


def _summary_line(counts: Counter, max_indel_length: int, mismatches: Path) -> str:
    """The one-line account of what was scored and what was not."""
    line = f"{counts['records']:,} records, {counts['alleles']:,} alleles: {counts[al.SCORED]:,} scored, "
    line += f"{counts[al.REF_MISMATCH]:,} REF mismatches"
    line += f" (listed in {mismatches})" if counts[al.REF_MISMATCH] else ""
    line += f", {counts[al.SYMBOLIC]:,} symbolic, {counts[al.N_ALLELE]:,} with N or other non-ACGT bases, "
    return (
        line
        + f"{counts[al.NO_CHANGE]:,} unchanged, {counts[al.LONG_INDEL]:,} indels over {max_indel_length} bp skipped"
    )


# ---------------------------------------------------------------------------------------------- the stage


def _check_outputs(outputs: Mapping[str, str | Path]) -> dict[str, Path]:
    missing = [k for k in OUTPUTS if k not in outputs]
    if missing:
        raise CisflowError(f"outputs must name {', '.join(OUTPUTS)}; missing {', '.join(missing)}")
    return {k: Path(outputs[k]) for k in OUTPUTS}


def _prepare(run: _Run, reader, options: Mapping[str, Any]) -> None:
    """Checks and work before the stream: the index's chromosomes, the whole file, the peak quantiles, the null."""
    for chrom in reader.contigs() or []:
        if chrom not in run.genome.sizes:
            raise _unknown_chrom(chrom, run.genome, run.source)
    candidates = _candidates(run, run.source, options["fmt"])
    if options["null"] is None:
        n = sum(1 for _ in candidates)
        log.info("checked %s: %d alleles to check against the genome and score", run.source, n)
    else:
        sample = reservoir_sample(candidates, options["null_size"], options["seed"])
    if options["peaks"] is not None:
        if hasattr(run.scorer, "set_peaks"):
            windows = peak_windows(
                run.genome, options["peaks"], run.scorer.input_length, options["max_peaks"], options["seed"]
            )
            run.scorer.set_peaks(windows)
            log.info("active-allele quantiles against %d peak windows of %s", len(windows), options["peaks"])
        else:
            log.info("peaks apply to profile models only (the active-allele quantile); ignored")
    if options["null"] is not None:
        run.null = null_scores(run, options["null"], sample, options["seed"], options["chunk"])
        log.info("%s null: %d variants", options["null"], len(sample))


def _stream(run: _Run, reader, paths: Mapping[str, Path], stack: contextlib.ExitStack, top: _Top, chunk: int) -> None:
    """Score every chunk and write the scores, the annotated VCF and the mismatch report as they come."""
    scores, vcf, mismatches = (TextSink(paths[k]).enter(stack) for k in ("scores", "vcf", "mismatches"))
    header = info_header(run.scorer.effects, run.scorer.tasks, run.scorer.descriptions)
    vcf.write(vcf_header(reader.header_text, run.genome.sizes, header))
    scores.write("\t".join(score_columns(run.scorer)) + "\n")
    mismatches.write("\t".join(MISMATCH_COLUMNS) + "\n")
    for part in _prepared(run, reader, chunk):
        if part.windows is not None:
            part.scores = run.scorer.score(*part.windows, [part.alleles[i] for i in part.scored])
        table = _score_table(run, part)
        scores.write_table(table, header=False)
        vcf.write(_vcf_text(run, part))
        mismatches.write("".join("\t".join(map(str, row)) + "\n" for row in part.mismatches))
        top.add(table, run.scorer.primary, len(run.scorer.tasks))


def _check_options(limits: Mapping[str, tuple[int, int]], null: str | None) -> None:
    """CisflowError for an option below its lower bound (``{name: (value, lowest)}``) or an unknown null."""
    for name, (value, low) in limits.items():
        if int(value) < low:
            raise CisflowError(f"variants: {name} must be at least {low}, got {value}")
    if null is not None and null not in NULLS:
        raise CisflowError(f"variants: unknown null {null!r}; valid nulls: {', '.join(NULLS)}")


def score_variants(
    model: str | Path,
    genome: str | Path,
    variants: str | Path,
    outputs: Mapping[str, str | Path],
    *,
    fmt: str | None = None,
    max_indel_length: int = 50,
    reverse_complement: bool = True,
    batch_size: int = 128,
    head: str | None = None,
    peaks: str | Path | None = None,
    max_peaks: int = 2000,
    null: str | None = None,
    null_size: int = 1000,
    hits: str | Path | None = None,
    top: int = 10,
    flank: int = 30,
    deepshap_references: int = 20,
    seed: int = 0,
    device: str | None = None,
) -> dict[str, Any]:
    """Score every allele of a variant file with a saved model and write the stage's outputs.

    Parameters
    ----------
    model
        The model's folder (or its ``model.json``): a bin classifier or a profile model.
    genome
        FASTA (indexed or not) or code cache (``.npy``) the variants are on.
    variants
        VCF / VCF.gz / BCF, or a variant-scorer ``chrombpnet`` TSV.
    outputs
        Paths of :data:`OUTPUTS` (:func:`variant_outputs` gives the usual names beside the scores TSV).
    fmt
        ``vcf`` or ``tsv``; None: from the file's name or content.
    max_indel_length
        Longest insertion or deletion scored (bp); longer ones are skipped and counted.
    reverse_complement
        Average every prediction with its reverse complement's.
    batch_size
        Windows per forward pass (each chunk of ``4 · batch_size`` alleles runs ``4 ×`` that many windows with
        the reverse complements).
    head
        Profile models: ``full``, ``corrected`` or ``bias`` (None: ``corrected`` for a ChromBPNet, else ``full``).
    peaks, max_peaks
        Profile models: a narrowPeak file whose summit-centred windows (a seeded sample of at most
        ``max_peaks``) give the active-allele quantiles.
    null, null_size
        ``shuffled`` or ``random`` (:mod:`cisflow.variants.null`) for empirical p-values from ``null_size``
        null variants; None: no p-values.
    hits
        The motif stage's hits TSV (genome coordinates): the hits each variant falls in.
    top, flank, deepshap_references
        Variants explained (ISM and DeepSHAP), bases kept each side of the variant, DeepSHAP references.
    seed
        Seeds the null, the peak sample and DeepSHAP's references.
    device
        ``None`` → CUDA if available, else CPU.

    Returns
    -------
    dict
        The summary (also written to ``outputs["summary"]``).
    """
    paths = _check_outputs(outputs)
    limits = {"max_indel_length": (max_indel_length, 0), "null_size": (null_size, 1), "top": (top, 0)}
    limits |= {"flank": (flank, 1), "max_peaks": (max_peaks, 1), "deepshap_references": (deepshap_references, 1)}
    _check_options(limits, null)
    scorer = load_scorer(model, device, batch_size=batch_size, reverse_complement=reverse_complement, head=head)
    run = _Run(scorer, Genome.open(genome), Path(variants), int(max_indel_length), MotifHits(hits) if hits else None)
    flank = min(int(flank), scorer.input_length // 2)
    chunk = 4 * scorer.batch_size
    options = {"peaks": peaks, "max_peaks": max_peaks, "null": null, "null_size": null_size, "seed": seed}
    options |= {"fmt": fmt, "chunk": chunk}
    with open_variants(variants, fmt) as reader:
        _prepare(run, reader, options)
        best = _Top(int(top), scorer.tasks, seed, score_columns(scorer))
        with contextlib.ExitStack() as stack:
            _stream(run, reader, paths, stack, best, chunk)
            top_rows = best.rows()
            plots = stack.enter_context(atomic_dir(paths["plots"]))
            _explain(run, top_rows, plots, paths["explanations"], flank, deepshap_references, seed)
            null_sample = None if run.null is None else dict(zip(scorer.tasks, run.null[scorer.primary].T, strict=True))
            plot_effects(plots / "effects.png", best.sample, scorer.primary, null_sample, top_rows)
            with atomic_path(paths["top"]) as tmp:
                top_rows.to_csv(tmp, sep="\t", index=False, float_format="%.7g", na_rep="NA")
            summary = _summary(run, top_rows, options, paths)
            _write_summary(stack, paths["summary"], summary)
    if reader.header_text is not None and str(paths["vcf"]).endswith(".gz"):
        _index_vcf(paths["vcf"])
    log.info("variants: %s", _summary_line(run.counts, run.max_indel_length, paths["mismatches"]))
    if run.counts[al.REF_MISMATCH]:
        log.warning("%d alleles whose REF differs from the genome were not scored; see %s",
                    run.counts[al.REF_MISMATCH], paths["mismatches"])  # fmt: skip
    return summary


def _index_vcf(path: Path) -> None:
    """A tabix index beside a bgzip-compressed, sorted VCF (``<path>.tbi``)."""
    import pysam

    pysam.tabix_index(str(path), preset="vcf", force=True)


def _summary(run: _Run, top: pd.DataFrame, options: Mapping[str, Any], paths: Mapping[str, Path]) -> dict[str, Any]:
    """The run's counts, settings and top variants, JSON-ready."""
    counts = {k: int(run.counts[k]) for k in ("records", "alleles", al.SCORED, *al.SKIPPED)}
    keep = ["rank", "chrom", "pos", "ref", "alt", "id", "task", run.scorer.primary, "motif_hit"]
    return {
        "model": run.scorer.meta.get("name"),
        "family": run.scorer.family,
        "tasks": run.scorer.tasks,
        "input_length": run.scorer.input_length,
        "reverse_complement": run.scorer.reverse_complement,
        "head": getattr(run.scorer, "head", None),
        "counts": counts,
        "summary": _summary_line(run.counts, run.max_indel_length, paths["mismatches"]),
        "max_indel_length": run.max_indel_length,
        "null": options["null"],
        "null_size": None if run.null is None else len(next(iter(run.null.values()))),
        "peaks": None if options["peaks"] is None else str(options["peaks"]),
        "seed": int(options["seed"]),
        "top": json_ready(top[[c for c in keep if c in top]]),
    }


def json_ready(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts (numpy scalars → Python; NaN → None)."""
    rows = table.astype(object).where(table.notna(), None).to_dict(orient="records")
    return [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()} for r in rows]


def _write_summary(stack: contextlib.ExitStack, path: Path, summary: Mapping[str, Any]) -> None:
    """The summary JSON, renamed into place with the other outputs."""
    import json

    tmp = stack.enter_context(atomic_path(path))
    tmp.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
