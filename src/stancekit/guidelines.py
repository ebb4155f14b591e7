"""The taxonomy tables of annotation/GUIDELINES.md, rendered from the taxonomy.

GUIDELINES.md holds them in a cog block (`make docs` regenerates it; `make check` and
tests/test_docs.py fail when it drifts), like the README's generated tables.
"""

from __future__ import annotations

from ._files import markdown_table
from ._files import table_cell as _cell
from .taxonomy import Question, Taxonomy


def _values_table(question: Question) -> list[str]:
    return markdown_table(("value", "definition"), [(f"`{v.value}`", _cell(v.definition)) for v in question.values])


def render_tables(taxonomy: Taxonomy) -> str:
    """The Markdown tables (actor, target, labels, document choices, attributes), one string ending in a
    newline: what the cog block of annotation/GUIDELINES.md holds (`make docs`)."""
    lines = ["", f"Taxonomy `{taxonomy.name}`, version {taxonomy.version} (sha256 {taxonomy.sha256[:12]}).", ""]
    items = [(role, getattr(taxonomy, role)) for role in ("actor", "target")]
    lines += markdown_table(("role", "id", "name", "description"),
                            [(role, f"`{_cell(item.get('id', ''))}`", _cell(item.get("name", "")),
                              _cell(item.get("description", ""))) for role, item in items])
    lines += ["", "#### Span labels", ""]
    lines += markdown_table(("label", "hotkey", "definition", "attributes asked"),
                            [(f"`{label.value}`", f"`{label.hotkey}`", _cell(label.definition),
                              ", ".join(f"`{q.name}`" for q in taxonomy.attributes_for(label.value)))
                             for label in taxonomy.span_labels])
    for question in taxonomy.document_choices:
        lines += ["", f"#### Document choice `{question.name}` (one per document"
                  f"{', required' if question.required else ''})", "", _cell(question.title) + ".", ""]
        lines += _values_table(question)
    for question in taxonomy.region_attributes:
        applies = ", ".join(f"`{label}`" for label in question.applies_to)
        lines += ["", f"#### Span attribute `{question.name}` (for {applies}"
                  f"{', required' if question.required else ''})", "", _cell(question.title) + ".", ""]
        lines += _values_table(question)
    return "\n".join(lines) + "\n"
