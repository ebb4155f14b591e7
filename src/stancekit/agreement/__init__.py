"""Agreement between annotators in Label Studio exports, and of a prediction layer against gold.

Exports are read task by task and grouped by document (task `data.doc_id`), so the chunked
tasks of one document combine; cancelled annotations are left out. An annotation marked
ground truth is the adjudication of its document; it is also its author's vote only when it
sits next to ordinary annotations (a reviewer starred one annotator's work), not when it is
alone in its task (an adjudication task).

Every number is a `Metric`: a value with the counts behind it, a bootstrap 95% interval over
documents (fixed seed, so a rerun gives the same numbers), or the reason it is undefined.

The modules: `collection` (reading exports into documents and annotators), `spans` (span
matching and counts), `metrics` (the statistics and the bootstrap), `annotators` (agreement
between annotators: `measure`, `report`), `evaluation` (the prediction layer against gold:
`evaluate`) and `render` (the text reports). This package exports the public API below.
"""

from __future__ import annotations

from .annotators import GOLD, against_gold, measure, report
from .collection import Coding, Collection, Document, collect, load_exports
from .evaluation import evaluate
from .metrics import DEFAULT_RESAMPLES, DEFAULT_SEED, Bootstrap, Metric, alpha_nominal, span_metrics
from .render import format_counts, format_metric, format_value, render_agreement, render_evaluation
from .spans import ALL, MATCH_MODES, SpanCounts, count_spans, match_spans, span_scopes

__all__ = [
    "ALL", "DEFAULT_RESAMPLES", "DEFAULT_SEED", "GOLD", "MATCH_MODES", "Coding", "Bootstrap", "Collection",
    "Document", "Metric", "SpanCounts", "against_gold", "alpha_nominal", "collect", "count_spans", "evaluate",
    "format_counts", "format_metric", "format_value", "load_exports", "match_spans", "measure", "render_agreement",
    "render_evaluation", "report", "span_metrics", "span_scopes",
]
