"""Metrics: a value with the counts behind it, a bootstrap 95% interval over documents (fixed
seed, so a rerun gives the same numbers), or the reason it is undefined; the statistics
(P/R/F1, observed agreement, Cohen's kappa, Krippendorff's alpha) and the span metrics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import krippendorff
import numpy as np

from ..taxonomy import Taxonomy
from .spans import MATCH_MODES, SpanCounts, span_scopes

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0


@dataclass(frozen=True)
class Metric:
    """One number of a report: its value (None when undefined, with the reason in `undefined`), the
    counts behind it (`n`), and its bootstrap 95% interval when resampling gave one."""

    value: float | None
    n: dict[str, int]
    undefined: str | None = None  # why there is no value
    ci95: tuple[float, float] | None = None
    resamples: int = 0  # bootstrap resamples in which the value was defined

    def to_json(self) -> dict:
        """{"value", "ci95", "n", "undefined", "resamples"}, floats rounded to 4 places (never NaN)."""
        return {"value": _round(self.value), "ci95": [_round(x) for x in self.ci95] if self.ci95 else None,
                "n": self.n, "undefined": self.undefined, "resamples": self.resamples}


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4) + 0.0


class Bootstrap:
    """Resamples of documents with replacement, drawn once from a fixed seed.

    Costs resamples x documents of memory and time; `resamples=0` turns it off.
    """

    def __init__(self, documents: int, resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED):
        rng = np.random.default_rng(seed)
        draws = [np.bincount(rng.integers(0, documents, documents), minlength=documents)
                 for _ in range(resamples if documents else 0)]
        self.weights = np.array(draws, dtype=np.float64).reshape(len(draws), documents)

    def additive(self, stats: dict[str, Stat], per_doc: np.ndarray, n: dict) -> dict[str, dict]:
        """Metrics (as JSON) of counts that add up over documents (per_doc: documents x ...)."""
        point = per_doc.sum(axis=0)
        sums = (self.weights @ per_doc.reshape(len(per_doc), -1)).reshape(len(self.weights), *per_doc.shape[1:])
        out = {}
        for name, stat in stats.items():
            with np.errstate(divide="ignore", invalid="ignore"):
                value, resampled = float(stat.value(point)), stat.value(sums)
            out[name] = (Metric(None, n, stat.why(point)) if np.isnan(value)
                         else _with_ci(value, n, resampled)).to_json()
        return out

    def by_rows(self, stat, per_doc: np.ndarray, n: dict) -> Metric:
        """A metric of the per-document rows themselves: stat(rows) -> (value, reason)."""
        value, reason = stat(per_doc)
        if reason:
            return Metric(None, n, reason)
        resampled = [stat(np.repeat(per_doc, w.astype(np.int64), axis=0))[0] for w in self.weights]
        return _with_ci(value, n, np.array([np.nan if v is None else v for v in resampled], dtype=float))


def _with_ci(value: float, n: dict, resampled: np.ndarray) -> Metric:
    defined = resampled[~np.isnan(resampled)]
    if not len(defined):
        return Metric(value, n)
    low, high = np.percentile(defined, [2.5, 97.5])
    return Metric(value, n, None, (float(low), float(high)), len(defined))


def alpha_nominal(value_counts: np.ndarray) -> tuple[float | None, str | None]:
    """Krippendorff's alpha (nominal) from a documents x categories matrix of value counts."""
    pairable = value_counts[value_counts.sum(axis=1) >= 2]
    if not len(pairable):
        return None, "no document has values from two or more annotators"
    if np.count_nonzero(pairable.sum(axis=0)) < 2:
        return None, "every value is the same category: no variation to measure"
    return float(krippendorff.alpha(value_counts=pairable, level_of_measurement="nominal")), None


@dataclass(frozen=True)
class Stat:
    """A statistic of counts summed over documents, vectorized over leading (resample) axes.

    `value` is NaN where undefined (only inside: a Metric holds None and a reason), `why` the reason.
    """

    value: Callable[[np.ndarray], np.ndarray]
    why: Callable[[np.ndarray], str]


def _ratio(num, den) -> np.ndarray:
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    return np.divide(num, den, out=np.full(np.broadcast(num, den).shape, np.nan), where=den != 0)


def _agreement(confusion: np.ndarray) -> np.ndarray:
    return _ratio(np.trace(confusion, axis1=-2, axis2=-1), confusion.sum(axis=(-2, -1)))


def _kappa(confusion: np.ndarray) -> np.ndarray:
    total = confusion.sum(axis=(-2, -1))
    expected = _ratio(np.einsum("...i,...i->...", confusion.sum(axis=-1), confusion.sum(axis=-2)), total ** 2)
    return _ratio(_agreement(confusion) - expected, 1 - expected)


NO_ITEM = "no item with a value from both"
PRECISION = Stat(lambda c: _ratio(c[..., 0], c[..., 2]), lambda c: "the second marked no spans")
RECALL = Stat(lambda c: _ratio(c[..., 0], c[..., 1]), lambda c: "the first marked no spans")
F1 = Stat(lambda c: _ratio(2 * c[..., 0], c[..., 1] + c[..., 2]), lambda c: "no spans")
PAIR_AGREEMENT = Stat(lambda c: _ratio(c[..., 0], c[..., 1]), lambda c: "no pair of values on one document")
AGREEMENT = Stat(_agreement, lambda c: NO_ITEM)
KAPPA = Stat(_kappa, lambda c: "both used one and the same value throughout: chance agreement is 1"
             if c.sum() else NO_ITEM)


def span_metrics(counts: SpanCounts, taxonomy: Taxonomy, boot: Bootstrap, pooled: bool = False,
                 nothing_shared: str = "no document annotated by both") -> dict:
    """P/R/F1 per scope and attribute agreement per match mode.

    Pooled counts (all pairs of annotators added up) get F1 and agreement only, since precision
    and recall depend on which annotator of a pair comes first; their n counts comparisons
    (a document times a pair that annotated it).

    When no document was compared, every number is undefined for the reason `nothing_shared`.
    """
    def metrics(stats, per_doc, n):
        if not counts.documents:
            return {name: Metric(None, n, nothing_shared).to_json() for name in stats}
        return boot.additive(stats, per_doc, n)

    out = {}
    for mode in MATCH_MODES:
        scopes = {}
        for k, scope in enumerate(span_scopes(taxonomy)):
            per_doc = counts.counts[mode][:, k]
            tp, first, second = (int(x) for x in per_doc.sum(axis=0))
            n = {"comparisons" if pooled else "documents": counts.documents,
                 "matched": tp, "first": first, "second": second}
            scopes[scope] = metrics({"f1": F1} if pooled else {"precision": PRECISION, "recall": RECALL, "f1": F1},
                                    per_doc, n)
        attributes = {}
        for q in taxonomy.region_attributes:
            per_doc = counts.attributes[mode][q.name]
            stats = {"agreement": AGREEMENT} if pooled else {"agreement": AGREEMENT, "kappa": KAPPA}
            attributes[q.name] = metrics(stats, per_doc, {"matched_spans": int(per_doc.sum())})
        out[mode] = {"scopes": scopes, "attributes": attributes}
    return out
