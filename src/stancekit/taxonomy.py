"""Load schema/taxonomy.yaml, the single source of truth for labels and choices."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import paths
from .errors import InputError

DEFAULT_PATH = paths.TAXONOMY

# Names of the Label Studio objects and controls that are fixed by the design, not the taxonomy.
TEXT_NAME = "text"  # the <Text> object, and the task data key holding the document text
LABELS_NAME = "label"  # the <Labels> control for span labels


class TaxonomyError(InputError):
    """The taxonomy file is missing, not YAML, or not of the expected shape."""


@dataclass(frozen=True)
class Value:
    value: str
    definition: str
    incompatible_labels: tuple[str, ...] = ()  # span labels that contradict this (document-level) answer


@dataclass(frozen=True)
class Question:
    """A Choices control: a document-level question, or a per-region attribute."""

    name: str
    title: str
    values: tuple[Value, ...]
    required: bool = True
    applies_to: tuple[str, ...] = ()  # span labels it is asked for; empty for document-level

    @property
    def value_names(self) -> list[str]:
        return [v.value for v in self.values]


@dataclass(frozen=True)
class SpanLabel:
    value: str
    definition: str
    color: str
    hotkey: str = ""


@dataclass(frozen=True)
class Taxonomy:
    name: str
    version: str
    actor: dict
    target: dict
    document_choices: tuple[Question, ...]
    span_labels: tuple[SpanLabel, ...]
    region_attributes: tuple[Question, ...]
    sha256: str

    @property
    def label_names(self) -> list[str]:
        return [label.value for label in self.span_labels]

    @property
    def questions(self) -> tuple[Question, ...]:
        return self.document_choices + self.region_attributes

    def question(self, name: str) -> Question:
        """The document choice or region attribute named `name`; raises KeyError when there is none."""
        for q in self.questions:
            if q.name == name:
                return q
        raise KeyError(name)

    def attributes_for(self, label: str) -> list[Question]:
        """The per-region attributes asked for spans with this label."""
        return [q for q in self.region_attributes if label in q.applies_to]


def _values(raw: list, where: str) -> tuple[Value, ...]:
    try:
        values = tuple(
            Value(str(v["value"]), str(v.get("definition", "")), tuple(str(x) for x in v.get("incompatible_labels", ())))
            for v in raw
        )
    except (TypeError, KeyError) as exc:
        raise TaxonomyError(f"{where}: every value needs a 'value' key") from exc
    names = [v.value for v in values]
    if len(set(names)) != len(names):
        raise TaxonomyError(f"{where}: duplicate values")
    return values


def _question(raw: dict, where: str) -> Question:
    try:
        name = str(raw["name"])
        return Question(
            name=name,
            title=str(raw.get("title", name)),
            values=_values(raw["values"], f"{where} {name}"),
            required=bool(raw.get("required", True)),
            applies_to=tuple(raw.get("applies_to", ())),
        )
    except (TypeError, KeyError) as exc:
        raise TaxonomyError(f"{where}: a question needs 'name' and 'values'") from exc


# libyaml's safe loader when PyYAML was built with it: about 10x faster on the taxonomy, same values.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(path: str | Path = DEFAULT_PATH) -> Taxonomy:
    """Read and check a taxonomy file; raises TaxonomyError when it is missing, not YAML, or not of
    the expected shape."""
    path = Path(path)
    try:
        data = path.read_bytes()
        raw = yaml.load(data, Loader=_SAFE_LOADER)
    except OSError as exc:
        raise TaxonomyError(f"{path}: cannot read the taxonomy ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise TaxonomyError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(raw, dict):
        raise TaxonomyError(f"{path}: expected a mapping at the top level")
    try:
        labels = tuple(
            SpanLabel(str(s["value"]), str(s.get("definition", "")), str(s.get("color", "#888888")),
                      str(s.get("hotkey", "")))
            for s in raw["span_labels"]
        )
        taxonomy = Taxonomy(
            name=str(raw["name"]),
            version=str(raw["version"]),
            actor=dict(raw["actor"]),
            target=dict(raw["target"]),
            document_choices=tuple(_question(q, f"{path}: document_choices") for q in raw["document_choices"]),
            span_labels=labels,
            region_attributes=tuple(_question(q, f"{path}: region_attributes") for q in raw["region_attributes"]),
            sha256=hashlib.sha256(data).hexdigest(),
        )
    except (TypeError, KeyError) as exc:
        raise TaxonomyError(f"{path}: missing or malformed key {exc}") from exc
    names = [q.name for q in taxonomy.questions] + [TEXT_NAME, LABELS_NAME]
    if len(set(names)) != len(names):
        raise TaxonomyError(f"{path}: control names must be unique and differ from {TEXT_NAME!r}, {LABELS_NAME!r}")
    for q in taxonomy.region_attributes:
        unknown = set(q.applies_to) - set(taxonomy.label_names)
        if not q.applies_to or unknown:
            raise TaxonomyError(f"{path}: region attribute {q.name!r} must apply to known span labels, got {sorted(unknown) or 'none'}")
    for q in taxonomy.questions:
        for v in q.values:
            unknown = set(v.incompatible_labels) - set(taxonomy.label_names)
            if unknown:
                raise TaxonomyError(f"{path}: {q.name} value {v.value!r} names unknown incompatible_labels {sorted(unknown)}")
    return taxonomy
