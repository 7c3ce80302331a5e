"""Fi-NeMo's model of motif instances: contribution scores as a sparse, non-negative sum of CWMs.

Each region's actual-base contributions ``y`` (``(4, L)``, divided by the region's root mean square
``g = sqrt(sum(y²) / L)``) are reconstructed as

    y ≈ x ⊙ Σ_k Σ_p c[k, p] · s[k, p] · C_k placed at p          (c ≥ 0)

where ``C_k`` runs over every pattern's trimmed CWM *and* its reverse complement (unit L2 norm),
``x`` is the one-hot sequence (only actual bases are fitted) and ``s[k, p] = (‖y under C_k's window‖²
+ eps)^(-1/2)`` (at most ``max_scale``) makes the coefficients scale-free: at the optimum a window is
used only while the residual's cosine with ``C_k`` reaches ``λ_k``. The fit minimises

    ½ ‖y − A c‖² + Σ_k λ_k Σ_p c[k, p]

(a non-negative lasso) by proximal gradient descent with Nesterov momentum, batched over regions on
CPU or GPU, each region stopping when its duality gap per base falls below ``tol``. All patterns
and both strands are fitted together, so overlapping windows compete for the same bases; every
non-zero coefficient is a hit. This is the model of Fi-NeMo (Tseng, Wang et al., kundajelab
``finemo_gpu``), written here for cisflow's arrays.

Speed: at every duality-gap check, the *gap-safe* screening rule (Ndiaye, Fercoq, Gramfort & Salmon,
JMLR 2017) removes the coefficients that are provably zero at the optimum: the dual optimum lies within
``sqrt(2·gap)`` of the current dual point ``θ``, so ``aⱼᵀθ + ‖aⱼ‖·sqrt(2·gap) < λⱼ`` proves
``cⱼ* = 0``. Once few coefficients are left (on the yeast demo's scores, ~20 % after the first 20–50 steps), the
solver works on them alone — a gather of the windows they sit on and a scatter of the few non-zero
ones — instead of full convolutions; the full problem is still checked at every gap check, so the
stopping rule and the optimum are those of the full fit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - the PyTorch convention

from cisflow.errors import CisflowError

log = logging.getLogger(__name__)

HIT_FIELDS = ("region", "motif", "position", "coefficient", "similarity", "amplitude", "contribution")


@dataclass(frozen=True)
class MotifSet:
    """Trimmed CWMs of every pattern on both strands, left-aligned and zero-padded to one width.

    Attributes
    ----------
    names
        Pattern names ``(P,)``; motif ``k`` is pattern ``k // 2`` on strand ``"+-"[k % 2]``.
    cwms
        ``(2P, 4, W)`` float32, each of unit L2 norm; ``W`` is the widest trimmed pattern.
    widths
        ``(2P,)`` trimmed width of each motif.
    offsets
        ``(2P,)`` start of the trimmed motif within its untrimmed CWM (the reverse complement's
        trimmed part starts at ``W_full - trim_end``), so an untrimmed start is ``position - offset``.
    """

    names: tuple[str, ...]
    cwms: np.ndarray
    widths: np.ndarray
    offsets: np.ndarray

    @property
    def width(self) -> int:
        """``W``, the padded width."""
        return int(self.cwms.shape[2])

    @property
    def masks(self) -> np.ndarray:
        """``(2P, W)`` float32: 1 inside each motif's trimmed width."""
        return (np.arange(self.width)[None, :] < self.widths[:, None]).astype(np.float32)


def motif_set(cwms: Mapping[str, np.ndarray], trims: Mapping[str, tuple[int, int]] | None = None) -> MotifSet:
    """Build a :class:`MotifSet` from untrimmed CWMs and their trim bounds.

    Parameters
    ----------
    cwms
        ``{pattern: cwm (4, W_p)}`` (rows A C G T), e.g. modisco CWMs.
    trims
        ``{pattern: (start, end)}`` trimmed part of each CWM; None or a missing pattern: all of it.
    """
    trims = trims or {}
    mats, widths, offsets = [], [], []
    for name, cwm in cwms.items():
        cwm = np.asarray(cwm, dtype=np.float64)
        if cwm.ndim != 2 or cwm.shape[0] != 4 or cwm.shape[1] < 1 or not np.isfinite(cwm).all():
            raise CisflowError(f"pattern {name!r}: CWM must be a finite (4, W) matrix, got shape {cwm.shape}")
        start, end = trims.get(name, (0, cwm.shape[1]))
        if not 0 <= start < end <= cwm.shape[1]:
            raise CisflowError(f"pattern {name!r}: trim ({start}, {end}) outside its {cwm.shape[1]} bp CWM")
        core = cwm[:, start:end]
        norm = np.linalg.norm(core)
        if norm == 0:
            raise CisflowError(f"pattern {name!r}: its trimmed CWM is all zeros")
        mats += [core / norm, core[::-1, ::-1] / norm]
        widths += [end - start] * 2
        offsets += [start, cwm.shape[1] - end]
    if not mats:
        raise CisflowError("no patterns to call hits of")
    width = max(widths)
    padded = np.zeros((len(mats), 4, width), dtype=np.float32)
    for k, mat in enumerate(mats):
        padded[k, :, : mat.shape[1]] = mat
    return MotifSet(tuple(cwms), padded, np.asarray(widths, dtype=np.int64), np.asarray(offsets, dtype=np.int64))


@dataclass
class _Batch:
    """One batch of regions on the device: normalised scores, one-hot, importance scale, solver state."""

    y: torch.Tensor  # (B, 4, L) scores / g
    x: torch.Tensor  # (B, 4, L) one-hot
    g: torch.Tensor  # (B,) root mean square of the raw scores
    scale: torch.Tensor  # (B, K, P) s[k, p]
    window_sq: torch.Tensor  # (B, K, P) ‖y under motif k at p‖²
    column_norm: torch.Tensor  # (B, K, P) ‖A's column (k, p)‖ = s[k, p] · ‖C_k on the actual bases‖
    lam: torch.Tensor | None = None  # (B, K, P) the L1 weight of each coefficient (:func:`_unit_columns`)


def _prepare(
    scores: np.ndarray,
    x: np.ndarray,
    motifs: torch.Tensor,
    masks: torch.Tensor,
    eps: float,
    max_scale: float,
    device: torch.device,
) -> _Batch:
    """Move one batch to ``device``, normalise it per region and compute the importance scale."""
    xt = torch.as_tensor(x, dtype=torch.float32, device=device)
    y = torch.as_tensor(scores, dtype=torch.float32, device=device) * xt
    g = (y.square().sum(dim=(1, 2)) / y.shape[2]).sqrt()
    y = y / torch.where(g > 0, g, torch.ones_like(g))[:, None, None]
    window_sq = F.conv1d(y.square(), masks[:, None, :].expand(-1, 4, -1).contiguous())
    scale = (window_sq + eps).rsqrt().clamp(max=max_scale)
    column_norm = F.conv1d(xt, motifs.square()).clamp(min=0).sqrt() * scale
    return _Batch(y, xt, g, scale, window_sq, column_norm)


def _place(n: torch.Tensor, k: torch.Tensor, p: torch.Tensor, weights: torch.Tensor, b: _Batch, cwms: torch.Tensor):
    """``Σ weight · C_k placed at p`` of region ``n`` ``(B, 4, L)`` for a few weighted motif placements ``(M,)``."""
    batch, _, length = b.y.shape
    offsets = torch.arange(4, device=weights.device)[:, None] * length + torch.arange(
        cwms.shape[2], device=weights.device
    )
    target = (n * 4 * length + p)[:, None, None] + offsets  # (M, 4, W) flat positions
    out = torch.zeros(batch * 4 * length, dtype=weights.dtype, device=weights.device)
    out.index_add_(0, target.flatten(), (weights[:, None, None] * cwms[k]).flatten())
    return out.view(batch, 4, length)


def _forward(c: torch.Tensor, b: _Batch, cwms: torch.Tensor, scatter_below: float = 0.005) -> torch.Tensor:
    """``A c``: the reconstruction ``(B, 4, L)`` of coefficients ``c`` ``(B, K, P)``.

    From the non-zero coefficients alone when fewer than ``scatter_below`` of them are non-zero (the
    usual case: the fit is sparse), else as a transposed convolution.
    """
    nonzero = c.nonzero()
    if len(nonzero) >= scatter_below * c.numel():
        return F.conv_transpose1d(c * b.scale, cwms) * b.x
    n, k, p = nonzero.unbind(1)
    return _place(n, k, p, c[n, k, p] * b.scale[n, k, p], b, cwms) * b.x


def _adjoint(r: torch.Tensor, b: _Batch, cwms: torch.Tensor) -> torch.Tensor:
    """``Aᵀ r``: correlation ``(B, K, P)`` of a residual ``(B, 4, L)`` (already zero off the sequence)."""
    return F.conv1d(r, cwms) * b.scale


def _lipschitz(b: _Batch, cwms: torch.Tensor, n_iter: int = 15) -> torch.Tensor:
    """Largest eigenvalue of ``AᵀA`` per region ``(B,)`` by power iteration from a fixed start.

    15 iterations come within 1.5 % of the eigenvalue on the yeast demo's windows (30: 0.5 %, against 100),
    inside the 5 % margin of the solver's step ``0.95 / L``; each costs one full step.
    """
    gen = torch.Generator().manual_seed(0)
    v = torch.rand(b.scale.shape, generator=gen).to(b.scale.device) + 0.5
    est = torch.ones(v.shape[0], device=v.device)
    for _ in range(n_iter):
        v = v / v.flatten(1).norm(dim=1).clamp(min=1e-30)[:, None, None]
        w = _adjoint(_forward(v, b, cwms), b, cwms)
        est = w.flatten(1).norm(dim=1)
        v = w
    return est.clamp(min=1e-12)


def _dual_point(c: torch.Tensor, b: _Batch, cwms: torch.Tensor, reconstruction: torch.Tensor | None = None) -> tuple:
    """Duality gap of the non-negative lasso at feasible ``c``, with the dual point it uses.

    With residual ``r = y − A c``, ``θ = a r`` for ``a = min(1, min_k λ_k / max Aᵀ r)`` is dual
    feasible (``Aᵀ θ ≤ λ``) and the gap is ``½(1 + a²)‖r‖² − a⟨y, r⟩ + λ·c`` (≥ 0).
    ``reconstruction`` is ``A c`` when already known. Returns the gap ``(B,)``, ``Aᵀ r`` ``(B, K, P)``
    and ``a`` ``(B,)``.
    """
    r = b.y - (_forward(c, b, cwms) if reconstruction is None else reconstruction)
    correlation = _adjoint(r, b, cwms)
    ratio = (correlation / b.lam).flatten(1).amax(dim=1)
    a = torch.where(ratio > 1, 1 / ratio, torch.ones_like(ratio))
    rr = r.square().sum(dim=(1, 2))
    gap = 0.5 * (1 + a.square()) * rr - a * (b.y * r).sum(dim=(1, 2)) + (c * b.lam).sum(dim=(1, 2))
    return gap.clamp(min=0), correlation, a


def _may_be_nonzero(
    a_correlation: torch.Tensor, column_norm: torch.Tensor, gap: torch.Tensor, length: int, lambdas: torch.Tensor
) -> torch.Tensor:
    """Gap-safe screening (broadcast shapes): False where a coefficient is provably 0 at the optimum.

    The dual optimum lies within ``R = sqrt(2·gap)`` of ``θ = a r`` (the dual is 1-strongly concave),
    so ``a·(Aᵀr)ⱼ + ‖aⱼ‖·R < λⱼ`` rules coefficient ``j`` out. Arguments: ``a·(Aᵀr)``, ``‖aⱼ‖``, the
    gap of its region, the regions' length ``L`` and ``λ``. ``R`` has a floor of ``1e-3·sqrt(L)`` and ``λ``
    a margin of 1e-3 against float32 rounding.
    """
    radius = (2 * gap + 1e-6 * length).sqrt()
    return a_correlation + column_norm * radius >= lambdas * (1 - 1e-3)


def _rows(b: _Batch, keep: torch.Tensor) -> _Batch:
    """The regions ``keep`` (bool ``(B,)``) of a batch."""
    lam = None if b.lam is None else b.lam[keep]
    return _Batch(b.y[keep], b.x[keep], b.g[keep], b.scale[keep], b.window_sq[keep], b.column_norm[keep], lam)


def _unit_columns(b: _Batch, lambdas: torch.Tensor) -> _Batch:
    """The same problem in the variables ``u = ‖aⱼ‖·cⱼ``: every column of ``A`` scaled to unit norm and each
    coefficient's λ divided by its column's norm (``b.lam``, ``(B, K, P)``).

    A diagonal preconditioner: the objective, its optimum and the duality gap are unchanged, but the columns
    the fit uses most — windows of concentrated contributions, whose importance scale ``s`` is small — are no
    longer ~10× shorter than those of empty windows, which set the step size. On the sharp contributions of a
    one-layer model (the yeast demo's motif model) the plain scaling needed ~2.5× the steps of the Basset's.
    Columns of norm 0 get scale 0 and a λ of 1e30, so they stay 0.
    """
    usable = b.column_norm > 1e-12
    norm = b.column_norm.clamp(min=1e-12)
    scale = torch.where(usable, b.scale / norm, 0.0)
    lam = torch.where(usable, lambdas / norm, 1e30)
    return _Batch(b.y, b.x, b.g, scale, b.window_sq, usable.to(norm.dtype), lam)


class _Active:
    """The coefficients still in play of a batch as flat vectors ``(A,)``: region ``n``, motif ``k``,
    position ``p``, the solver's ``c`` and ``z``, and each one's scale, λ and column norm.

    ``window_n`` / ``window_p`` are the distinct ``(n, p)`` the coefficients sit on and ``window_of``
    each coefficient's index among them, so ``Aᵀr`` on the active set is one gather of ``(U, 4, W)``
    windows and one ``(U, 4W) × (4W, K)`` product.
    """

    def __init__(self, n, k, p, c, z, b: _Batch):
        self.n, self.k, self.p, self.c, self.z = n, k, p, c, z
        self.scale, self.column_norm, self.lam = b.scale[n, k, p], b.column_norm[n, k, p], b.lam[n, k, p]
        positions = b.scale.shape[2]
        windows, self.window_of = torch.unique(n * positions + p, return_inverse=True)
        self.window_n, self.window_p = windows // positions, windows % positions

    @classmethod
    def from_dense(cls, alive: torch.Tensor, c: torch.Tensor, z: torch.Tensor, b: _Batch):
        """The active set of dense ``(B, K, P)`` state (``alive`` bool, ``c``, ``z``)."""
        n, k, p = alive.nonzero(as_tuple=True)
        return cls(n, k, p, c[n, k, p], z[n, k, p], b)

    def subset(self, keep: torch.Tensor, b: _Batch) -> _Active:
        """The coefficients ``keep`` (bool ``(A,)``)."""
        return _Active(self.n[keep], self.k[keep], self.p[keep], self.c[keep], self.z[keep], b)

    def on_rows(self, kept: torch.Tensor, b: _Batch) -> _Active:
        """The same coefficients in the batch ``b`` of the regions ``kept`` (bool over the old batch), all of
        which hold every coefficient of this set."""
        n = (torch.cumsum(kept, 0) - 1)[self.n]
        return _Active(n, self.k, self.p, self.c, self.z, b)

    def forward(self, v: torch.Tensor, b: _Batch, cwms: torch.Tensor) -> torch.Tensor:
        """``A v`` ``(B, 4, L)`` for active-set values ``v``, from its non-zero entries only."""
        nz = v.nonzero().squeeze(1)
        return _place(self.n[nz], self.k[nz], self.p[nz], v[nz] * self.scale[nz], b, cwms) * b.x

    def adjoint(self, r: torch.Tensor, cwms: torch.Tensor) -> torch.Tensor:
        """``Aᵀ r`` on the active set ``(A,)`` for a residual ``(B, 4, L)``."""
        width = cwms.shape[2]
        windows = r.unfold(2, width, 1).permute(0, 2, 1, 3)[self.window_n, self.window_p]  # (U, 4, W)
        correlation = windows.flatten(1) @ cwms.flatten(1).T  # (U, K)
        return correlation[self.window_of, self.k] * self.scale

    def per_region(self, values: torch.Tensor, batch: int) -> torch.Tensor:
        """Sum of ``values`` ``(A,)`` per region ``(B,)``."""
        return torch.zeros(batch, dtype=values.dtype, device=values.device).index_add_(0, self.n, values)

    def dual_point(self, b: _Batch, cwms: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """:func:`_dual_point` of the problem restricted to the active set: gap ``(B,)``, ``Aᵀr`` ``(A,)``, ``a (B,)``.

        The coefficients screened out are zero at the optimum, so the restricted problem has the full
        problem's optimum and its gap bounds the full objective's distance from it.
        """
        r = b.y - self.forward(self.c, b, cwms)
        correlation = self.adjoint(r, cwms)
        ratio = torch.zeros_like(b.g).scatter_reduce_(0, self.n, correlation / self.lam, "amax")
        a = torch.where(ratio > 1, 1 / ratio, torch.ones_like(ratio))
        rr, yr = r.square().sum(dim=(1, 2)), (b.y * r).sum(dim=(1, 2))
        gap = 0.5 * (1 + a.square()) * rr - a * yr + self.per_region(self.c * self.lam, len(b.g))
        return gap.clamp(min=0), correlation, a


def _momentum(t: torch.Tensor, restart: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """FISTA's momentum weight ``(t − 1) / t_new`` (0 on a restart) and the next ``t``, per region."""
    t_new = (1 + (1 + 4 * t.square()).sqrt()) / 2
    return torch.where(restart, 0.0, (t - 1) / t_new), torch.where(restart, torch.ones_like(t), t_new)


@dataclass
class _Solution:
    """What :func:`_solve` returns, filled as regions finish: ``c (B, K, P)``, steps and gap per base ``(B,)``."""

    c: torch.Tensor
    steps: torch.Tensor
    gap: torch.Tensor


def _solve(
    b: _Batch,
    cwms: torch.Tensor,
    tol: float,
    max_steps: int,
    check_every: int = 10,
    screen: bool = True,
    sparse_below: float = 0.2,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Accelerated proximal gradient descent (FISTA with O'Donoghue–Candès gradient restarts, per region).

    Every ``check_every`` steps the duality gap per base of every region is checked: the regions at
    ≤ ``tol`` are retired, so the batch shrinks to the regions still running, and gap-safe screening
    (:func:`_may_be_nonzero`, unless ``screen`` is False) fixes the coefficients that are provably zero.
    Once fewer than ``sparse_below`` of the batch's coefficients are left, :func:`_solve_active` goes on
    with those alone. Returns ``c (B, K, P)``, steps ``(B,)`` and the last gap per base ``(B,)``.
    """
    steps = torch.zeros(len(b.g), dtype=torch.int64, device=b.g.device)
    out = _Solution(torch.zeros_like(b.scale), steps, torch.full_like(b.g, float("inf")))
    rows = torch.arange(len(b.g), device=b.g.device)
    step = 0.95 / _lipschitz(b, cwms)
    c = torch.zeros_like(b.scale)
    z, t = c.clone(), torch.ones(len(c), device=c.device)  # t: momentum sequence, 1 after a restart
    alive = torch.ones_like(b.scale, dtype=torch.bool)
    for i in range(1, max_steps + 1):
        grad = _adjoint(b.y - _forward(z, b, cwms), b, cwms)
        c_new = torch.relu(z + step[:, None, None] * (grad - b.lam)) * alive
        beta, t = _momentum(t, ((z - c_new) * (c_new - c)).sum(dim=(1, 2)) > 0)
        z = c_new + beta[:, None, None] * (c_new - c)
        c = c_new
        if i % check_every and i < max_steps:
            continue
        gap, correlation, a = _dual_point(c, b, cwms)
        per_base = gap / b.y.shape[2]
        done = (per_base <= tol) | (i == max_steps)
        finished = rows[done]
        out.c[finished], out.steps[finished], out.gap[finished] = c[done], i, per_base[done]
        if done.all():
            break
        keep = ~done
        if screen:
            a_correlation, length = a[:, None, None] * correlation, b.y.shape[2]
            alive &= _may_be_nonzero(a_correlation, b.column_norm, gap[:, None, None], length, b.lam)
        alive = alive[keep]
        rows, b, t, step = rows[keep], _rows(b, keep), t[keep], step[keep]
        c, z = c[keep] * alive, z[keep] * alive
        if screen and alive.sum() < sparse_below * alive.numel() and i < max_steps:
            _solve_active(_Active.from_dense(alive, c, z, b), b, cwms, rows, t, step, out, tol,
                          range(i + 1, max_steps + 1), check_every)  # fmt: skip
            break
    late = out.gap > tol
    if late.any():
        log.warning("%d region(s) did not converge in %d steps (duality gap per base up to %.3g)",
                    int(late.sum()), max_steps, float(out.gap[late].max()))  # fmt: skip
    return out.c, out.steps, out.gap


def _solve_active(
    active: _Active,
    b: _Batch,
    cwms: torch.Tensor,
    rows: torch.Tensor,
    t: torch.Tensor,
    step: torch.Tensor,
    out: _Solution,
    tol: float,
    steps: range,
    check_every: int,
) -> None:
    """:func:`_solve`'s steps ``steps`` on the active set alone, filling ``out`` as regions finish.

    A finished region's coefficients leave the active set, and the batch ``b`` (regions ``rows`` of
    ``out``) drops the finished regions whenever half of them are. The gap checked is that of the
    restricted problem (:meth:`_Active.dual_point`), and screening goes on with it.
    """
    running = torch.ones(len(b.g), dtype=torch.bool, device=b.g.device)
    for i in steps:
        grad = active.adjoint(b.y - active.forward(active.z, b, cwms), cwms)
        c_new = torch.relu(active.z + step[active.n] * (grad - active.lam))
        beta, t = _momentum(t, active.per_region((active.z - c_new) * (c_new - active.c), len(t)) > 0)
        active.z = c_new + beta[active.n] * (c_new - active.c)
        active.c = c_new
        if i % check_every and i < steps[-1]:
            continue
        gap, correlation, a = active.dual_point(b, cwms)
        per_base = gap / b.y.shape[2]
        done = running & ((per_base <= tol) | (i == steps[-1]))
        mine = done[active.n]
        out.steps[rows[done]], out.gap[rows[done]] = i, per_base[done]
        out.c[rows[active.n[mine]], active.k[mine], active.p[mine]] = active.c[mine]
        running &= ~done
        if not running.any():
            return
        n = active.n
        safe = _may_be_nonzero(a[n] * correlation, active.column_norm, gap[n], b.y.shape[2], active.lam)
        active = active.subset(running[n] & safe, b)
        if running.sum() <= len(running) // 2:  # drop the finished regions from the batch
            rows, b, t, step = rows[running], _rows(b, running), t[running], step[running]
            active, running = active.on_rows(running, b), running[running]


def _extract(
    c: torch.Tensor, b: _Batch, cwms: torch.Tensor, masks: torch.Tensor, lambdas: torch.Tensor, post_filter: bool
) -> dict[str, np.ndarray]:
    """Hits of one solved batch: every non-zero coefficient (with cosine ≥ λ_k when ``post_filter``)."""
    similarity = F.conv1d(b.y, cwms) / b.window_sq.sqrt().clamp(min=1e-12)
    keep = c > 0
    if post_filter:
        keep &= similarity >= lambdas
    n, k, p = keep.nonzero(as_tuple=True)
    raw = b.y * b.g[:, None, None]
    contribution = F.conv1d(raw.sum(dim=1, keepdim=True), masks[:, None, :])
    out = {
        "region": n,
        "motif": k,
        "position": p,
        "coefficient": c[n, k, p],
        "similarity": similarity[n, k, p],
        "amplitude": c[n, k, p] * b.scale[n, k, p] * b.g[n],
        "contribution": contribution[n, k, p],
    }
    return {key: v.cpu().numpy() for key, v in out.items()}


def _check_inputs(scores: np.ndarray, x: np.ndarray, motifs: MotifSet, lambdas: np.ndarray) -> None:
    """One-line CisflowErrors for shapes that cannot be fitted."""
    if scores.ndim != 3 or scores.shape[1] != 4:
        raise CisflowError(f"scores must be (N, 4, L), got {scores.shape}")
    if x.shape != scores.shape:
        raise CisflowError(f"one-hot x has shape {x.shape}, scores have {scores.shape}")
    if scores.shape[2] < motifs.width:
        raise CisflowError(f"regions ({scores.shape[2]} bp) are shorter than the widest pattern ({motifs.width} bp)")
    if lambdas.shape != (len(motifs.names),) or not (lambdas > 0).all():
        raise CisflowError(f"need one λ > 0 per pattern ({len(motifs.names)}), got {lambdas.tolist()}")


def fit_hits(
    scores: np.ndarray,
    x: np.ndarray,
    motifs: MotifSet,
    lambdas: float | np.ndarray = 0.7,
    *,
    eps: float = 1.0,
    max_scale: float = 10.0,
    tol: float = 1e-4,
    max_steps: int = 5000,
    post_filter: bool = True,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    screen: bool = True,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Fit the sparse non-negative CWM model (see the module docstring) and return its hits.

    Parameters
    ----------
    scores
        Actual-base contributions ``(N, 4, L)`` (anything off the one-hot base is ignored).
    x
        One-hot sequences ``(N, 4, L)``.
    motifs
        The CWM dictionary (:func:`motif_set`).
    lambdas
        L1 weight per pattern ``(P,)`` or one for all: the least cosine between a window's residual
        and a CWM for the window to be used (Fi-NeMo's default 0.7).
    eps, max_scale
        The importance scale ``s = (‖window‖² + eps)^(-1/2)``, at most ``max_scale`` (scores in units of
        the region's root mean square).
    tol, max_steps
        Stop a region when its duality gap per base is ≤ ``tol``, or after ``max_steps`` steps.
    post_filter
        Keep only hits whose window cosine with the CWM reaches their pattern's λ (as Fi-NeMo).
    batch_size, device
        Regions per batch; torch device (None: CUDA if available, else CPU).
    screen
        Gap-safe screening and the active-set phase (see the module docstring); False: the plain
        solver with full convolutions at every step (same optimum, several times slower; for checks).

    Returns
    -------
    hits
        Arrays ``(H,)`` keyed :data:`HIT_FIELDS`: region index, motif index ``k`` (pattern ``k // 2``,
        strand ``"+-"[k % 2]``), position (trimmed start in the region), coefficient, similarity
        (cosine of the window with the CWM), amplitude (L2 norm of the fitted instance in the
        scores' units) and contribution (sum of the scores in the window).
    regions
        Arrays ``(N,)``: ``scale`` (root mean square of each region's scores), ``steps``, ``gap``.
    """
    from cisflow.predict import resolve_device

    scores, x = np.asarray(scores), np.asarray(x)
    lambdas = np.broadcast_to(np.asarray(lambdas, dtype=np.float64), (len(motifs.names),)).copy()
    _check_inputs(scores, x, motifs, lambdas)
    device = resolve_device(device)
    cwms = torch.as_tensor(motifs.cwms, device=device)
    masks = torch.as_tensor(motifs.masks, device=device)
    lam = torch.as_tensor(np.repeat(lambdas, 2), dtype=torch.float32, device=device)[None, :, None]
    parts, regions = [], {"scale": [], "steps": [], "gap": []}
    for lo in range(0, len(scores), batch_size):
        b = _prepare(scores[lo : lo + batch_size], x[lo : lo + batch_size], cwms, masks, eps, max_scale, device)
        started = time.perf_counter()
        u, steps, gap = _solve(_unit_columns(b, lam), cwms, tol, max_steps, screen=screen)
        c = u / b.column_norm.clamp(min=1e-12)  # back from the unit-column variables
        log.info("regions %d-%d of %d: %d steps at most, %.1f s", lo + 1, lo + len(b.g), len(scores),
                 int(steps.max()), time.perf_counter() - started)  # fmt: skip
        hits = _extract(c, b, cwms, masks, lam, post_filter)
        hits["region"] = hits["region"] + lo
        parts.append(hits)
        for key, value in (("scale", b.g), ("steps", steps), ("gap", gap)):
            regions[key].append(value.cpu().numpy())
    hits = {key: np.concatenate([p[key] for p in parts]) for key in HIT_FIELDS}
    return hits, {key: np.concatenate(v) for key, v in regions.items()}
