"""Bootstrap resamples as one matrix of counts, applied to sufficient statistics (methods §9).

The analyses with bootstrap intervals (:func:`~milo_analytics.analysis.relative_weights`,
:func:`~milo_analytics.analysis.dominance_analysis`,
:func:`~milo_analytics.analysis.question_importance`,
:func:`~milo_analytics.analysis.speech_summary`) no longer refit each resample in a loop.
A resample set is a ``n_boot × n`` matrix of **multinomial counts** — how often each row is
drawn — built from exactly the row indices the old loop drew (``rng.integers(0, n, (B, n))``),
so a seed gives the same resamples as before. Every statistic is then computed for all
resamples at once:

* weighted means and covariance / correlation matrices by BLAS (``W @ [Z, Z_i·Z_j]`` over the
  upper triangle) — all that Johnson's relative weights, LMG and R² need;
* logistic fits by Newton / IRLS with the counts as case weights, all resamples of a block in
  the same matrix products (:class:`LogitBatch`);
* ROC AUC with the counts as case weights (:func:`weighted_auc`).

One :class:`Resamples` object can be handed to every analysis of a report (``bootstrap=``) so
the report draws once; each analysis uses the columns of the interviews it analyses.

Above :data:`ANALYTIC_MIN_N` rows the relative-weight and LMG intervals are delta-method
intervals (:func:`delta_se`) instead — the bootstrap's own Monte-Carlo error is then as large
as its difference from the delta method; ``interval="bootstrap"`` forces the bootstrap.

Examples
--------
>>> rs = Resamples(5, n_boot=3, seed=0)
>>> rs.counts.sum(axis=1).tolist()  # every resample draws n rows
[5, 5, 5]
>>> import numpy as np
>>> idx = np.random.default_rng(0).integers(0, 5, size=(3, 5))  # the old loop's rows
>>> bool((rs.counts == np.stack([np.bincount(r, minlength=5) for r in idx])).all())
True
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError

__all__ = ["ANALYTIC_MIN_N", "INTERVAL_CHOICES", "Resamples"]

#: Rows from which ``interval="auto"`` uses delta-method intervals for relative weights and
#: LMG (methods §9: checked against the bootstrap at n = 2,000 and 20,000).
ANALYTIC_MIN_N = 20_000
INTERVAL_CHOICES = ("auto", "bootstrap", "analytic")
#: resample × row cells handled at once (16 MB as float64): bounds memory at any n.
CHUNK_CELLS = 2_000_000
_EPS = np.finfo(float).eps


# ----------------------------------------------------------------------------- the set
class Resamples:
    """One set of bootstrap resamples, drawn once and reused by several analyses.

    Resample ``b`` draws ``n`` rows with replacement; :attr:`counts` holds how often each row
    was drawn (``n_boot × n``, the multinomial counts of Efron's bootstrap). The rows come from
    ``numpy.random.default_rng(seed).integers(0, n, size=(n_boot, n))`` — the draws the
    analyses' own ``seed=`` produces — so ``bootstrap=Resamples(n, B, s)`` gives exactly the
    intervals of ``n_boot=B, seed=s`` on the same ``n`` rows.

    Built over interview ids (``ids=`` or :meth:`for_data`), the set serves analyses of any
    subset of those interviews: each uses the counts of its own rows (the bootstrap of the
    whole sample, restricted to the rows that analysis uses — a resample then holds a varying
    number of that analysis' rows, as in a Poisson bootstrap).

    Parameters
    ----------
    n
        Number of rows, when the set is positional (rows ``0 … n-1``).
    n_boot
        Number of resamples.
    seed
        Seed of the draws.
    ids
        Row labels (interview ids) instead of ``n``: analyses find their rows by label.

    Examples
    --------
    >>> rs = Resamples(ids=["a", "b", "c", "d"], n_boot=2, seed=1)
    >>> rs
    Resamples(n=4, n_boot=2, seed=1, over 4 interview ids)
    >>> rs.take(labels=["d", "a"], func="example").shape
    (2, 2)
    """

    def __init__(
        self,
        n: int | None = None,
        n_boot: int = 200,
        seed: int = 0,
        *,
        ids: Sequence[Any] | pd.Index | None = None,
    ) -> None:
        index = None
        if ids is not None:
            index = pd.Index(ids)
            if not index.is_unique:
                dup = index[index.duplicated()].unique()[:5].tolist()
                raise DataError(
                    f"Resamples(ids=...): ids must be unique; repeated: {dup!r}. Pass each "
                    "interview once (e.g. data.interviews['interview_id'].unique())"
                )
            if n is not None and int(n) != len(index):
                raise DataError(
                    f"Resamples(n={n}, ids=...): {len(index)} ids but n = {n}; pass one of them"
                )
            n = len(index)
        if n is None or isinstance(n, bool) or int(n) != n or int(n) < 1:
            raise DataError(f"Resamples(n={n!r}): n must be a positive number of rows (or ids=)")
        if isinstance(n_boot, bool) or int(n_boot) != n_boot or int(n_boot) < 1:
            raise DataError(f"Resamples(n_boot={n_boot!r}): use a positive number of resamples")
        if isinstance(seed, bool) or int(seed) != seed:
            raise DataError(f"Resamples(seed={seed!r}): the seed must be an integer")
        self.n = int(n)
        self.n_boot = int(n_boot)
        self.seed = int(seed)
        self.ids = index
        self._counts: np.ndarray | None = None
        #: sizes of independently drawn blocks of consecutive ids (one per posting), or None
        self.strata: tuple[int, ...] | None = None

    @classmethod
    def for_data(
        cls, data: Any, n_boot: int = 200, seed: int = 0, *, by: str | None = None
    ) -> Resamples:
        """A set over every interview of ``data`` (an InterviewData): pass it to each analysis.

        Parameters
        ----------
        data
            The interviews (``interviews`` and ``scores`` give the ids).
        n_boot, seed
            Number of resamples and the seed of the draws.
        by
            ``"posting_id"``: one set per posting, held in one object — each posting's
            interviews are resampled among themselves (every resample holds exactly that
            posting's number of them, drawn from ``seed``), so a posting's intervals are those
            of ``Resamples.for_data(data.filter(posting_id=p))`` and do not depend on which
            other postings ``data`` holds. None (default): one set over all interviews.

        Examples
        --------
        >>> from milo_analytics.analysis._common import synthetic_interview_data
        >>> data, _ = synthetic_interview_data(30, 2, seed=0)
        >>> Resamples.for_data(data, n_boot=10).n
        30
        >>> Resamples.for_data(data, n_boot=10, by="posting_id")
        Resamples(n=30, n_boot=10, seed=0, over 30 interview ids in 1 posting, drawn per posting)
        """
        from ._common import require_data

        data = require_data(data, "Resamples.for_data")
        frames = [data.interviews, data.scores]
        ids = pd.concat([f["interview_id"] for f in frames], ignore_index=True)
        if by is None:
            return cls(
                n_boot=n_boot, seed=seed, ids=pd.Index(pd.unique(ids.dropna().astype("str")))
            )
        if by != "posting_id":
            raise DataError(
                f"Resamples.for_data(by={by!r}): use by='posting_id' (one set per posting) or "
                "leave it out (one set over all interviews)"
            )
        rows = pd.DataFrame(
            {"id": ids, "group": pd.concat([f["posting_id"] for f in frames], ignore_index=True)}
        ).dropna(subset=["id"])
        rows = rows.assign(id=rows["id"].astype("str")).drop_duplicates("id")  # first posting
        group = rows["group"].astype("str").fillna("").to_numpy(dtype=object)
        # postings in sorted order, each posting's interviews in order of first appearance
        order = np.argsort(group, kind="stable")
        group = group[order]
        starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        out = cls(n_boot=n_boot, seed=seed, ids=pd.Index(rows["id"].to_numpy()[order]))
        out.strata = tuple(int(v) for v in np.diff(np.r_[starts, len(group)]))
        return out

    def __repr__(self) -> str:
        over = f", over {self.n:,} interview ids" if self.ids is not None else ""
        if self.strata is not None:
            k = len(self.strata)
            over += f" in {k} posting{'' if k == 1 else 's'}, drawn per posting"
        return f"Resamples(n={self.n:,}, n_boot={self.n_boot}, seed={self.seed}{over})"

    @property
    def counts(self) -> np.ndarray:
        """``n_boot × n`` counts (uint8; uint16 in the astronomically rare case a row is drawn
        more than 255 times), drawn on first use and kept (per block of :attr:`strata`)."""
        if self._counts is None:
            if self.strata is None:
                self._counts = draw_counts(self.n, self.n_boot, self.seed)
            else:
                self._counts = np.hstack(
                    [draw_counts(m, self.n_boot, self.seed) for m in self.strata if m]
                )
        return self._counts

    @property
    def nbytes(self) -> int:
        """Memory the counts take (n_boot × n bytes)."""
        return self.n_boot * self.n * (1 if self._counts is None else self._counts.itemsize)

    def take(
        self,
        *,
        labels: Sequence[Any] | pd.Index | None = None,
        positions: np.ndarray | None = None,
        func: str = "analysis",
    ) -> np.ndarray:
        """The counts of some rows, by label (interview id) or by position.

        Raises a :class:`~milo_analytics.errors.DataError` naming ``func`` when a label is not
        in the set.
        """
        if labels is not None:
            if self.ids is None:
                raise DataError(
                    f"{func}(bootstrap={self!r}): this set is positional (built from n), but "
                    "the analysis needs interview ids; build it with "
                    "Resamples.for_data(data) or Resamples(ids=...)"
                )
            wanted = pd.Index(labels)
            with contextlib.suppress(TypeError, ValueError):  # other kinds match nothing
                wanted = wanted.astype(self.ids.dtype)
            where = self.ids.get_indexer(wanted)
            if (where < 0).any():
                missing = pd.Index(labels)[where < 0]
                raise DataError(
                    f"{func}(bootstrap={self!r}): {len(missing):,} analysed interviews are not "
                    f"in the resample set (e.g. {missing[:3].tolist()!r}); build it from the same "
                    "data with Resamples.for_data(data)"
                )
            positions = where
        if positions is None:
            return self.counts
        return self.counts[:, np.asarray(positions)]


def draw_counts(n: int, n_boot: int, seed: int) -> np.ndarray:
    """Multinomial resample counts from ``default_rng(seed).integers(0, n, (n_boot, n))``.

    Drawn in chunks (the generator's stream does not depend on the chunking), counted with one
    ``bincount`` per chunk.
    """
    rng = np.random.default_rng(seed)
    out = np.empty((n_boot, n), dtype=np.uint8)
    step = max(1, CHUNK_CELLS // n)
    for s in range(0, n_boot, step):
        c = min(step, n_boot - s)
        idx = rng.integers(0, n, size=(c, n))
        idx += (np.arange(c) * n)[:, None]
        cnt = np.bincount(idx.ravel(), minlength=c * n).reshape(c, n)
        if cnt.max() > 255:  # pragma: no cover - P ≈ n·e⁻¹/255! per resample
            out = out.astype(np.uint16)
        out[s : s + c] = cnt
    return out


# ----------------------------------------------------------------------------- choosing
def resolve_counts(
    bootstrap: Any,
    n_boot: int,
    seed: int,
    *,
    labels: pd.Index,
    func: str,
    default_n_boot: int = 0,
    all_labels: pd.Index | None = None,
    kept: np.ndarray | None = None,
) -> np.ndarray | None:
    """The ``n_boot × m`` counts an analysis of ``m`` rows uses, or None for no bootstrap.

    Without ``bootstrap`` the counts are drawn over the analysed rows from ``seed`` (the old
    loop's draws). A :class:`Resamples` with ids is indexed by the rows' ``labels``; a
    positional one must have ``m`` rows, or as many as ``all_labels`` (the rows before
    incomplete ones were dropped; ``kept`` marks the rest).
    """
    if bootstrap is None:
        if n_boot < 0:
            raise DataError(f"{func}(n_boot={n_boot}): use 0 (no bootstrap) or more")
        return draw_counts(len(labels), n_boot, seed) if n_boot else None
    if not isinstance(bootstrap, Resamples):
        raise DataError(
            f"{func}(bootstrap={bootstrap!r}): pass a milo_analytics.analysis.Resamples "
            "(e.g. Resamples.for_data(data, n_boot=200, seed=0)); for a number of resamples "
            "use n_boot="
        )
    if n_boot not in (default_n_boot, bootstrap.n_boot) or seed not in (0, bootstrap.seed):
        raise DataError(
            f"{func}(n_boot={n_boot}, seed={seed}, bootstrap={bootstrap!r}): the resample set "
            "fixes the number of resamples and the seed; leave n_boot and seed out"
        )
    if bootstrap.ids is not None:
        return bootstrap.take(labels=labels, func=func)
    if bootstrap.n == len(labels):
        return bootstrap.counts
    if all_labels is not None and kept is not None and bootstrap.n == len(all_labels):
        return bootstrap.take(positions=np.flatnonzero(kept), func=func)
    raise DataError(
        f"{func}(bootstrap={bootstrap!r}): the set has {bootstrap.n:,} rows but the analysis "
        f"uses {len(labels):,}; build it with Resamples({len(labels)}, ...) or over interview "
        "ids (Resamples.for_data(data))"
    )


def choose_interval(interval: str, n: int, func: str) -> str:
    """``"analytic"`` or ``"bootstrap"`` for an analysis of ``n`` rows (``interval="auto"``:
    analytic from :data:`ANALYTIC_MIN_N` rows)."""
    if interval not in INTERVAL_CHOICES:
        raise DataError(
            f"{func}(interval={interval!r}): use 'auto' (delta method from "
            f"{ANALYTIC_MIN_N:,} rows, else bootstrap), 'bootstrap' or 'analytic'"
        )
    if interval == "auto":
        return "analytic" if n >= ANALYTIC_MIN_N else "bootstrap"
    return interval


# ----------------------------------------------------------------------------- running
_blas = {"controller": None, "depth": 0}


@contextlib.contextmanager
def single_blas() -> Iterator[None]:
    """BLAS limited to one thread, re-entrant and cheap (one threadpoolctl controller, made
    once: a fresh ``threadpool_limits`` rescans the loaded libraries, ~3 ms per use)."""
    if _blas["depth"]:
        _blas["depth"] += 1
        try:
            yield
        finally:
            _blas["depth"] -= 1
        return
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        yield
        return
    if _blas["controller"] is None:
        _blas["controller"] = ThreadpoolController()
    _blas["depth"] = 1
    try:
        with _blas["controller"].limit(limits=1, user_api="blas"):
            yield
    finally:
        _blas["depth"] = 0


def one_blas_thread(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``fn`` with BLAS limited to one thread (:func:`single_blas`).

    The analyses' matrices are small (k ≤ 15 columns) or tall-and-thin; on the shared 2-core
    machines a second BLAS thread mostly spins (a full-sample logistic fit at 100,000 rows
    took 0.8 s of CPU with two threads under load, 0.1 s with one).
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with single_blas():
            return fn(*args, **kwargs)

    return wrapper


def map_chunks(
    fn: Callable[[np.ndarray], np.ndarray], counts: np.ndarray, n_jobs: int = 1
) -> np.ndarray:
    """``fn`` on row blocks of ``counts`` (each ≤ :data:`CHUNK_CELLS` cells), stacked.

    ``n_jobs > 1`` runs blocks on that many threads (numpy and BLAS release the GIL), each
    with one BLAS thread.
    """
    n_boot, m = counts.shape
    step = max(1, min(CHUNK_CELLS // max(m, 1), -(-n_boot // max(n_jobs, 1))))
    blocks = [counts[s : s + step] for s in range(0, n_boot, step)]
    with single_blas(), np.errstate(all="ignore"):
        if n_jobs > 1 and len(blocks) > 1:
            with ThreadPoolExecutor(max_workers=n_jobs) as pool:
                parts = list(pool.map(fn, blocks))
        else:
            parts = [fn(b) for b in blocks]
    return np.concatenate(parts, axis=0)


class MomentBasis:
    """Per-row first and second moments of a data matrix, for weighted covariances by BLAS.

    ``Z`` (``m × p``) is centred at its column means; ``U = [Zc, Zc_i·Zc_j (i ≤ j)]``. For a
    block of resample counts ``W`` (``c × m``), ``W @ U`` gives every resample's weighted
    sums at once; :meth:`cov` turns them into covariance matrices (population form — the
    statistics here are ratios in which the ``n/(n−1)`` factor cancels).

    Examples
    --------
    >>> Z = np.array([[1.0, 2.0], [2.0, 1.0], [4.0, 5.0]])
    >>> mb = MomentBasis(Z)
    >>> _, cov = mb.cov(np.array([[1.0, 1.0, 1.0], [2.0, 0.0, 1.0]]))
    >>> bool(np.allclose(cov[0], np.cov(Z, rowvar=False, ddof=0)))
    True
    >>> bool(np.allclose(cov[1], np.cov(Z[[0, 0, 2]], rowvar=False, ddof=0)))
    True
    """

    def __init__(self, Z: np.ndarray) -> None:
        Z = np.asarray(Z, dtype="float64")
        self.p = Z.shape[1]
        self.center = Z.mean(axis=0)
        self.iu, self.ju = np.triu_indices(self.p)
        Zc = Z - self.center
        U = np.empty((len(Z), self.p + len(self.iu)), order="F")
        U[:, : self.p] = Zc
        U[:, self.p :] = pair_products(Zc, self.iu, self.ju)
        self.U = U
        self.var = Zc.var(axis=0)

    def cov_from_means(self, M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(means ``c × p``, covariances ``c × p × p``) from mean rows of ``U`` (``c × d``)."""
        p = self.p
        mean = M[:, :p]
        second = np.empty((M.shape[0], p, p))
        second[:, self.iu, self.ju] = M[:, p:]
        second[:, self.ju, self.iu] = M[:, p:]
        return mean, second - mean[:, :, None] * mean[:, None, :]

    def cov(self, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weighted (centred) means and covariance matrices, one per row of ``W``."""
        S0 = W.sum(axis=1)
        return self.cov_from_means((W @ self.U) / S0[:, None])

    def degenerate(self, cov: np.ndarray) -> np.ndarray:
        """Resamples in which a column has no variance (relative tolerance 1e-10)."""
        d = np.diagonal(cov, axis1=1, axis2=2)
        return (d <= 1e-10 * np.maximum(self.var, 1e-300)).any(axis=1)


def pair_products(Z: np.ndarray, iu: np.ndarray, ju: np.ndarray) -> np.ndarray:
    """``Z[:, iu] · Z[:, ju]`` (rows × pairs, F-order), built one contiguous row of Zᵀ at a
    time (4× faster than fancy-indexed gathers at 100,000 rows, and no temporaries)."""
    ZT = np.ascontiguousarray(np.asarray(Z, dtype="float64").T)
    out = np.empty((len(iu), ZT.shape[1]))
    for p, (i, j) in enumerate(zip(iu, ju, strict=True)):
        np.multiply(ZT[i], ZT[j], out=out[p])
    return out.T


def corr_from_cov(cov: np.ndarray) -> np.ndarray:
    """Correlation matrices from a stack of covariance matrices."""
    sd = np.sqrt(np.clip(np.diagonal(cov, axis1=-2, axis2=-1), 0, None))
    return cov / (sd[..., :, None] * sd[..., None, :])


def sym_sqrt(R: np.ndarray) -> np.ndarray:
    """``V·diag(√λ)·Vᵀ`` for a stack of symmetric matrices (negative λ clipped to 0)."""
    evals, evecs = np.linalg.eigh(R)
    return (evecs * np.sqrt(np.clip(evals, 0, None))[..., None, :]) @ np.swapaxes(evecs, -1, -2)


def solve_stack(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``solve(A, b)`` for stacks (``b`` ``… × q``); a singular matrix gives NaN for its row
    only (least squares would hide a degenerate resample)."""
    try:
        return np.linalg.solve(A, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        out = np.full(b.shape, np.nan)
        flatA = A.reshape(-1, *A.shape[-2:])
        flatb = b.reshape(-1, b.shape[-1])
        flato = out.reshape(-1, b.shape[-1])
        for i in range(len(flatA)):
            with contextlib.suppress(np.linalg.LinAlgError):
                flato[i] = np.linalg.solve(flatA[i], flatb[i])
        return out


# ----------------------------------------------------------------------------- logistic
def nested_pairs(q: int) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i ≤ j) of q columns, ordered column by column — (0,0), (0,1), (1,1),
    (0,2), … — so the pairs of the first q′ columns are the first q′(q′+1)/2.

    Examples
    --------
    >>> [tuple(map(int, p)) for p in zip(*nested_pairs(3))]
    [(0, 0), (0, 1), (1, 1), (0, 2), (1, 2), (2, 2)]
    """
    ju, iu = np.triu_indices(q)[::-1]
    order = np.lexsort((iu, ju))
    return iu[order], ju[order]


class LogitBatch:
    """Logistic fits of one outcome on one design, weighted by blocks of resample counts.

    The design ``X`` has an intercept column first. Each fit runs Newton / IRLS on the normal
    equations with the counts as case weights — the iteration of
    :func:`~milo_analytics.analysis._common.logit_irls` on the resampled rows (η clipped to
    ±36), stopped by R's rule ``|dev − dev_old| / (|dev| + 0.1) < tol`` — for all resamples
    of a block at once: Hessians ``(W·μ(1−μ)) @ [X_i·X_j]``, gradients ``(W·(y−μ)) @ X``.
    Same iterations, same stopping rule, so the same coefficients as that loop to rounding —
    exactly the large-sample path of ``logit_irls`` (above 2,000 rows); below 2,000 rows
    ``logit_irls`` follows R's ``glm.fit`` thresholds (|η| > 30) instead of the clip at ±36,
    which changes nothing unless a resample is (quasi-)separated — then neither fit
    converges, where it stops is arbitrary, and ``relative_weights`` already warns that the
    weights are not meaningful.

    How the work is cut: the first sweep is at the shared start, so it is one matrix product
    for all resamples; later sweeps go through cache-sized row blocks and recompute η from
    the coefficients rather than store it; from the third sweep on, the deviance is taken
    first and the Hessian only for resamples that have not converged (most converge there).
    """

    #: cells (resamples × rows) per row block: 1 MB float64 arrays stay in cache.
    BLOCK_CELLS = 1 << 17

    def __init__(self, X: np.ndarray, y: np.ndarray, *, _products: np.ndarray | None = None):
        self.X = np.asarray(X, dtype="float64")
        self.y = np.asarray(y, dtype="float64")
        q = self.X.shape[1]
        self.iu, self.ju = nested_pairs(q)
        if _products is None:
            _products = pair_products(self.X, self.iu, self.ju)
        #: products X_i·X_j over :func:`nested_pairs` (rows × pairs): the Hessians' terms, and
        #: with an intercept column first every first and second moment of the others
        self.P = _products[:, : len(self.iu)]
        self.sign = 2 * self.y - 1
        self.half = self.y - 0.5
        self._start: tuple[bytes, tuple[np.ndarray, ...]] | None = None

    def nested(self, q: int) -> LogitBatch:
        """The same outcome on the first ``q`` columns, sharing this design's products."""
        return LogitBatch(self.X[:, :q], self.y, _products=self.P)

    def pair_columns(self, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
        """Positions of column pairs (i ≤ j) in :attr:`P`."""
        where = {(int(i), int(j)): c for c, (i, j) in enumerate(zip(self.iu, self.ju, strict=True))}
        return np.array([where[p] for p in pairs])

    def _rows(self, c: int) -> int:
        return max(256, self.BLOCK_CELLS // max(c, 1))

    def _expit_parts(self, coef: np.ndarray, Xb: np.ndarray) -> tuple[np.ndarray, ...]:
        """η (clipped to ±36), e = exp(−|η|) and r = 1/(1+e) = expit(|η|) for a row block."""
        eta = coef @ Xb.T
        _clip36(eta)
        e = np.abs(eta)
        e *= -1.0
        np.exp(e, out=e)
        r = e + 1.0
        np.reciprocal(r, out=r)
        return eta, e, r

    def _sweep(
        self, coef: np.ndarray, W: np.ndarray, *, deviance: bool = True, newton: bool = True
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Deviance and/or the Newton system (Hessian's upper triangle, right-hand side)."""
        c, m = W.shape
        rows = self._rows(c)
        dev = np.zeros(c)
        H = np.zeros((c, len(self.iu)))
        rhs = np.zeros((c, self.X.shape[1]))
        for a in range(0, m, rows):
            Xb = self.X[a : a + rows]
            Wb = W[:, a : a + rows].astype("float64")
            eta, e, r = self._expit_parts(coef, Xb)
            if deviance:
                # log P(observed) = min(±η, 0) − log(1+e) = min(±η, 0) + log r
                ll = eta * self.sign[a : a + rows]
                np.minimum(ll, 0.0, out=ll)
                ll += np.log(r)
                dev -= 2.0 * np.einsum("ij,ij->i", Wb, ll)
            if newton:
                Wv = e * r
                Wv *= r  # μ(1−μ) = e/(1+e)² (≥ 2e-16 as |η| ≤ 36)
                Wv *= Wb
                H += Wv @ self.P[a : a + rows]
                # μ − ½ = ±(r − ½) with the sign of η: y − μ = (y − ½) − copysign(r − ½, η)
                res = r - 0.5
                np.copysign(res, eta, out=res)
                np.subtract(self.half[a : a + rows], res, out=res)
                res *= Wb
                Wv *= eta
                res += Wv
                rhs += res @ Xb
        return dev, H, rhs

    def prepare(self, start: np.ndarray) -> tuple[np.ndarray, ...]:
        """Per-row terms of the first sweep at ``start`` (the same for every resample), kept:
        ``−2·log P(observed)``, ``μ(1−μ)`` and ``μ(1−μ)·η + y − μ``. Call it before handing
        blocks to threads."""
        start = np.asarray(start, dtype="float64")
        key = start.tobytes()
        if self._start is None or self._start[0] != key:
            eta = _clip36(self.X @ start)
            e = np.exp(-np.abs(eta))
            r = 1.0 / (1.0 + e)
            v = e * r * r
            res = self.half - np.copysign(r - 0.5, eta)
            dev = -2.0 * (np.minimum(eta * self.sign, 0.0) + np.log(r))
            self._start = (key, (dev, v, v * eta + res))
        return self._start[1]

    def fit(
        self, W: np.ndarray, start: np.ndarray, *, max_iter: int = 25, tol: float = 1e-8
    ) -> tuple[np.ndarray, np.ndarray]:
        """Coefficients (``c × q``) and converged flags for a block of resample counts ``W``.

        The first sweep is at ``start`` for every resample: its per-row terms are shared and
        the sweep is three matrix products; later sweeps go row block by row block.
        """
        c = W.shape[0]
        q = self.X.shape[1]
        start = np.asarray(start, dtype="float64")
        dev0, v, z = self.prepare(start)
        coef = np.tile(start, (c, 1))
        converged = np.zeros(c, dtype=bool)
        dev_old = W @ dev0
        Hu = (W * v) @ self.P
        rhs = (W * z) @ self.X
        active = np.arange(c)
        for it in range(1, max_iter + 1):
            A = np.empty((len(active), q, q))
            A[:, self.iu, self.ju] = Hu
            A[:, self.ju, self.iu] = Hu
            new = solve_stack(A, rhs)
            for j in np.flatnonzero(~np.isfinite(new).all(axis=1)):  # singular: least squares
                new[j] = np.linalg.lstsq(A[j], rhs[j], rcond=None)[0]
            coef[active] = new
            Wa = W if len(active) == c else W[active]
            # the first step never converges in practice: take its Newton system along
            dev, Hu, rhs = self._sweep(new, Wa, newton=it == 1)
            done = np.abs(dev - dev_old[active]) / (np.abs(dev) + 0.1) < tol
            converged[active[done]] = True
            dev_old[active] = dev
            if it == max_iter or done.all():
                break
            active = active[~done]
            if it == 1:
                Hu, rhs = Hu[~done], rhs[~done]
            else:
                _, Hu, rhs = self._sweep(coef[active], W[active], deviance=False)
        return coef, converged

    def collect(self, coef: np.ndarray, W: np.ndarray, fn: Callable[..., np.ndarray]) -> np.ndarray:
        """Sum over row blocks of ``fn(W_block, eta_block, prob_block, rows)`` (``c × s``) at
        the fitted coefficients: η clipped to ±36 and probabilities as ``logit_irls`` gives
        them."""
        c, m = W.shape
        rows = self._rows(c)
        acc = None
        for a in range(0, m, rows):
            eta, _, r = self._expit_parts(coef, self.X[a : a + rows])
            prob = r - 0.5
            np.copysign(prob, eta, out=prob)
            prob += 0.5
            np.clip(prob, _EPS, 1 - _EPS, out=prob)
            part = fn(W[:, a : a + rows].astype("float64"), eta, prob, slice(a, a + rows))
            acc = part if acc is None else acc + part
        assert acc is not None
        return acc

    def linear_predictor(self, coef: np.ndarray) -> np.ndarray:
        """η (clipped to ±36) for each row of ``coef`` (``c × m``)."""
        return _clip36(coef @ self.X.T)


def _clip36(eta: np.ndarray) -> np.ndarray:
    """Clip to ±36 in place (``np.clip``'s wrapper costs more than the work on small blocks)."""
    np.minimum(eta, 36.0, out=eta)
    np.maximum(eta, -36.0, out=eta)
    return eta


# ----------------------------------------------------------------------------- AUC
_LOW_BITS = np.uint64(9)  # of a sort key: label (bit 8) and count (bits 0–7)
_CLEAR_LOW = ~np.uint64(511)
_SIGN_BIT = np.uint64(1 << 63)


def _order_keys(values: np.ndarray) -> np.ndarray:
    """Order-preserving uint64 keys of float64 values (IEEE bits, negatives flipped)."""
    key = (values + 0.0).view(np.uint64)  # + 0.0: a copy, and −0.0 becomes +0.0
    mask = key >> np.uint64(63)
    np.negative(mask, out=mask)  # all ones for negative values
    mask |= _SIGN_BIT
    key ^= mask
    return key


def weighted_auc(scores: Any, y: np.ndarray, W: np.ndarray) -> np.ndarray:
    """ROC AUC of each row of ``scores`` (``c × m``, or a list of such arrays scored on the
    same resamples) for a 0/1 ``y``, rows weighted by the integer counts ``W`` (``c × m``):
    the Mann–Whitney statistic of the resampled data, ties counted one half.

    Each AUC is one sort of packed uint64 keys: the score's order-preserving bits with the
    lowest 9 replaced by (label, count), so within a tie the negatives come first and a
    positive's running count of negatives includes its whole tie group; half of it is taken
    back with the count below the group. Values closer than 2⁻⁴³ relative count as ties.
    Rows drawn zero times are left out before sorting.

    Examples
    --------
    >>> s = np.array([[0.1, 0.4, 0.35, 0.8]])
    >>> float(weighted_auc(s, np.array([0, 0, 1, 1]), np.ones((1, 4), dtype=np.uint8))[0])
    0.75
    >>> # negatives 0.1 (drawn twice) and 0.4, positive 0.35: 2 of 3 pairs in order
    >>> round(float(weighted_auc(s, np.array([0, 0, 1, 1]), np.array([[2, 1, 1, 0]]))[0]), 4)
    0.6667
    """
    many = isinstance(scores, list | tuple)
    score_list = list(scores) if many else [scores]
    W = np.asarray(W)
    if W.max(initial=0) > 255:  # pragma: no cover - counts above 255 never occur in practice
        from ._common import _auc

        yb = np.asarray(y).astype(bool)
        out = np.array(
            [
                [
                    _auc(np.repeat(yb, w.astype(int)), np.repeat(s, w.astype(int)))
                    for s, w in zip(sc, W, strict=True)
                ]
                for sc in score_list
            ]
        )
        return out if many else out[0]
    label = np.asarray(y).astype(np.uint64) << np.uint64(8)
    one, eight, byte = np.uint64(1), np.uint64(8), np.uint64(255)
    out = np.empty((len(score_list), W.shape[0]))
    for b in range(W.shape[0]):
        nz = np.flatnonzero(W[b])
        tag = W[b, nz].astype(np.uint64) | label[nz]
        for i, sc in enumerate(score_list):
            key = _order_keys(sc[b, nz])
            key &= _CLEAR_LOW
            key |= tag
            key.sort()
            wt = key & byte
            wpos = ((key >> eight) & one) * wt
            wneg = wt - wpos
            cneg = np.cumsum(wneg)  # negatives up to here, whole tie group included
            n0, n1 = float(cneg[-1]), float(wpos.sum())
            if n0 == 0 or n1 == 0:
                out[i, b] = np.nan
                continue
            key >>= _LOW_BITS
            first = np.empty(len(key), dtype=bool)
            first[0] = True
            np.not_equal(key[1:], key[:-1], out=first[1:])
            below = cneg - wneg
            below *= first  # negatives below the group, at its first element …
            np.maximum.accumulate(below, out=below)  # … carried through the group
            below += cneg
            out[i, b] = float((below * wpos).sum()) / 2 / (n1 * n0)
    return out if many else out[0]


# ----------------------------------------------------------------------------- delta method
def numeric_jacobian(
    fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray, scale: np.ndarray
) -> np.ndarray:
    """Central-difference Jacobian of a batched ``fn`` (rows of inputs → rows of outputs) at
    ``x``, step ``1e-5·scale`` per input; one call of ``fn`` on ``2·len(x)`` rows."""
    h = 1e-5 * np.where(scale > 0, scale, 1.0)
    d = len(x)
    plus = np.tile(x, (d, 1)) + np.diag(h)
    minus = np.tile(x, (d, 1)) - np.diag(h)
    f = fn(np.concatenate([plus, minus]))
    return ((f[:d] - f[d:]) / (2 * h[:, None])).T


def delta_se(influence: np.ndarray) -> np.ndarray:
    """Standard errors from per-row influence values (``m × r``): ``√(Σ IF² ) / m``.

    The nonparametric delta method (infinitesimal jackknife): the bootstrap's variance to
    first order, without resampling.
    """
    m = influence.shape[0]
    return np.sqrt(np.einsum("ij,ij->j", influence, influence)) / m


def normal_interval(
    est: np.ndarray,
    se: np.ndarray,
    ci: float,
    lower: float | None = None,
    upper: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``est ± z·se`` clipped to the statistic's range."""
    z = NormalDist().inv_cdf(0.5 + ci / 2)
    lo, hi = est - z * se, est + z * se
    if lower is not None or upper is not None:
        lo, hi = np.clip(lo, lower, upper), np.clip(hi, lower, upper)
    return lo, hi
