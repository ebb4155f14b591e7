"""Text rendering of the agreement and evaluation reports (the CLI's default output)."""

from __future__ import annotations

from .spans import ALL


def format_counts(n: dict) -> str:
    """'n: 4 documents, 12 matched' from a Metric's `n`."""
    return "n: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in n.items())


def format_value(m: dict) -> str:
    """'0.812 [0.700, 0.910]' or 'undefined (reason)'."""
    if m["value"] is None:
        return f"undefined ({m['undefined']})"
    ci = f" [{m['ci95'][0]:.3f}, {m['ci95'][1]:.3f}]" if m["ci95"] else ""
    return f"{m['value']:.3f}{ci}"


def format_metric(m: dict) -> str:
    """`format_value` and the counts behind it."""
    return f"{format_value(m)} ({format_counts(m['n'])})"


_SHORT = {"precision": "P", "recall": "R", "f1": "F1"}


def _span_lines(block: dict, indent: str) -> list[str]:
    """One line per scope with spans (and always "all"), one per attribute."""
    lines = []
    for scope, stats in block["scopes"].items():
        n = next(iter(stats.values()))["n"]
        if scope == ALL or n["first"] or n["second"]:
            values = "  ".join(f"{_SHORT[name]} {format_value(m)}" for name, m in stats.items())
            lines.append(f"{indent}{scope:<45} {values}  ({format_counts(n)})")
    for name, stats in block["attributes"].items():
        values = "  ".join(f"{stat} {format_value(m)}" for stat, m in stats.items())
        lines.append(f"{indent}{name + ' of matched spans':<45} {values}  "
                     f"({format_counts(next(iter(stats.values()))['n'])})")
    return lines


def render_agreement(report: dict) -> str:
    """The text report of `annotators.report` (the JSON shape), one line per number; raises KeyError
    for a dict of another shape."""
    lines = [f"{len(report['annotators'])} annotators, {report['documents']} documents "
             f"({report['documents_with_two_or_more_annotators']} with two or more annotators); "
             f"95% intervals from {report['bootstrap']['resamples']} bootstrap resamples of documents "
             f"(seed {report['bootstrap']['seed']})"]
    if report["problems"]:
        lines.append(f"{len(report['problems'])} problems (listed on stderr)")
    for name, block in report["document_choices"].items():
        lines.append(f"\n{name}")
        lines.append(f"  Krippendorff's alpha (nominal): {format_metric(block['alpha'])}")
        lines.append(f"  observed agreement: {format_metric(block['observed_agreement'])}")
        for pair in block["pairs"]:
            lines.append(f"  {pair['annotators'][0]} vs {pair['annotators'][1]}: "
                         f"Cohen's kappa {format_metric(pair['kappa'])}; "
                         f"observed agreement {format_metric(pair['observed_agreement'])}")
    for mode, block in report["spans"].items():
        lines.append(f"\nspans, {mode} match (precision: of the second annotator's spans against the first's)")
        lines.append("  all pairs pooled")
        lines += _span_lines(block["all_pairs"], "    ")
        for pair in block["pairs"]:
            lines.append(f"  {pair['annotators'][0]} (first) vs {pair['annotators'][1]} (second)")
            lines += _span_lines(pair, "    ")
    for annotator, block in report.get("against_gold", {}).items():
        lines.append(f"\n{annotator} against the adjudicated gold ({block['documents']} documents; gold first)")
        for name, choice in block["document_choices"].items():
            lines.append(f"  {name}: Krippendorff's alpha {format_metric(choice['alpha'])}")
        for mode, pair in block["spans"].items():
            lines.append(f"  spans, {mode} match")
            lines += _span_lines(pair, "    ")
    return "\n".join(lines) + "\n"


def render_evaluation(report: dict) -> str:
    """The text report of `evaluation.evaluate` (the JSON shape); raises KeyError for a dict of another shape."""
    lines = [f"predictions against {report['gold']['path']}; 95% intervals from "
             f"{report['bootstrap']['resamples']} bootstrap resamples of documents (seed {report['bootstrap']['seed']})"]
    if report["problems"]:
        lines.append(f"{len(report['problems'])} problems (listed on stderr)")
    for model in report["models"]:
        lines.append(f"\nmodel {model['model_version']}: {model['documents']} documents")
        for name, stats in model["document_choices"].items():
            lines += [f"  {name} {stat}: {format_metric(m)}" for stat, m in stats.items()]
        for mode, block in model["spans"].items():
            lines.append(f"  spans, {mode} match (first: gold, second: predictions)")
            lines += _span_lines(block, "    ")
    return "\n".join(lines) + "\n"
