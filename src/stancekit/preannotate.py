"""A transparent rule-based pre-annotator: cue phrases from schema/preannotator.yaml become
Label Studio predictions, in the same result shape as human annotations.

Rules (each one visible in the YAML):
- a sentence holding a span cue becomes a span (or just the cue, for `extent: cue`) with the
  label its question applies to and the cue's value; stance sentences must mention the target;
- attribute values come from the first attribute cue in the span's sentence, else the default;
- the document choice follows `document` (conditions present, else the commonest polarity);
- a span scores 0.5, plus 0.25 when a `voice` cue names who says it, plus 0.25 when the
  sentence is reported speech (a quote or a verb of saying); a prediction scores their mean.
Predictions are suggestions shown to annotators, never gold.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import records
from .taxonomy import TEXT_NAME, Taxonomy

DEFAULT_PATH = Path("schema/preannotator.yaml")
_SENTENCE = re.compile(r"\S[^\n]*?(?:[.!?]+[\"”’»)]*(?=\s|$)|(?=\n)|$)")
_QUOTES = re.compile(r"[\"“”«»]")


class PreannotatorError(ValueError):
    """The cue file is unreadable or names something the taxonomy does not have."""


def _cue_pattern(cues: list[str]) -> re.Pattern:
    parts = []
    for cue in sorted(cues, key=len, reverse=True):
        body = re.escape(str(cue).rstrip("*")).replace("'", "['’]").replace("’", "['’]").replace(r"\ ", r"\s+")
        parts.append(body + (r"\w*" if str(cue).endswith("*") else r"\b"))
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + ")", re.IGNORECASE)


@dataclass(frozen=True)
class SpanRule:
    question: str
    label: str
    extent: str  # "sentence" | "cue"
    needs_target: bool
    cues: dict[str, re.Pattern]  # value -> pattern


@dataclass(frozen=True)
class AttributeRule:
    question: str
    default: str
    cues: dict[str, re.Pattern]


@dataclass(frozen=True)
class Rules:
    name: str
    version: str
    target: re.Pattern
    spans: tuple[SpanRule, ...]
    attributes: tuple[AttributeRule, ...]
    voice: str  # the attribute whose cues name who voices a span
    saying: re.Pattern
    document: dict[str, dict]  # question -> {default, with_conditions, from_spans}
    actor: re.Pattern  # mentions of the actor, for the baseline

    @property
    def model_version(self) -> str:
        return f"{self.name}-{self.version}"

    @property
    def stance_label(self) -> str:
        """The label of stance spans: the one the document rule's `from_spans` question applies to."""
        from_spans = next(iter(self.document.values()))["from_spans"]
        return next(r.label for r in self.spans if r.question == from_spans)


def _check_values(taxonomy: Taxonomy, question: str, values, where: str) -> None:
    try:
        known = taxonomy.question(question).value_names
    except KeyError:
        raise PreannotatorError(f"{where}: {question!r} is not a question of the taxonomy") from None
    for value in values:
        if value not in known:
            raise PreannotatorError(f"{where}: {value!r} is not a value of {question!r} (expected one of {', '.join(known)})")


def load(taxonomy: Taxonomy, path: str | Path = DEFAULT_PATH) -> Rules:
    """Read the cue file and check every key against the taxonomy."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PreannotatorError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise PreannotatorError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    try:
        spans = []
        for question, rule in raw["spans"].items():
            where = f"{path}: spans.{question}"
            _check_values(taxonomy, question, rule["cues"], where)
            applies = taxonomy.question(question).applies_to
            if len(applies) != 1:
                raise PreannotatorError(f"{where}: a span question must apply to exactly one label, not {list(applies)}")
            if rule.get("extent", "sentence") not in ("sentence", "cue"):
                raise PreannotatorError(f"{where}: extent must be 'sentence' or 'cue'")
            spans.append(SpanRule(question, applies[0], rule.get("extent", "sentence"), bool(rule.get("needs_target")),
                                  {v: _cue_pattern(c) for v, c in rule["cues"].items()}))
        attributes = []
        for question, rule in raw["attributes"].items():
            where = f"{path}: attributes.{question}"
            _check_values(taxonomy, question, [rule["default"], *rule["cues"]], where)
            attributes.append(AttributeRule(question, rule["default"], {v: _cue_pattern(c) for v, c in rule["cues"].items()}))
        document = {}
        for question, rule in raw["document"].items():
            where = f"{path}: document.{question}"
            _check_values(taxonomy, question, [rule["default"], rule["with_conditions"]], where)
            if rule["from_spans"] not in {s.question for s in spans}:
                raise PreannotatorError(f"{where}: from_spans must name a question under `spans`")
            document[question] = dict(rule)
        if raw["voice"] not in {a.question for a in attributes}:
            raise PreannotatorError(f"{path}: voice must name a question under `attributes`")
        rules = Rules(str(raw["name"]), str(raw["version"]), _cue_pattern(raw["target_cues"]), tuple(spans),
                      tuple(attributes), raw["voice"], _cue_pattern(raw["saying_cues"]), document,
                      _cue_pattern(raw["actor_cues"]))
    except (KeyError, TypeError, AttributeError) as exc:
        raise PreannotatorError(f"{path}: missing or malformed key {exc}") from None
    covered = {s.question for s in spans} | {a.question for a in attributes}
    for label in taxonomy.label_names:
        for q in taxonomy.attributes_for(label):
            if q.name not in covered:
                raise PreannotatorError(f"{path}: no rule sets {q.name!r} for {label} spans")
    return rules


def _first(cues: dict[str, re.Pattern], text: str) -> tuple[str, re.Match] | None:
    """The value whose cue occurs first in text (longest cue on ties)."""
    best = None
    for value, pattern in cues.items():
        m = pattern.search(text)
        if m and (best is None or (m.start(), -len(m.group())) < (best[1].start(), -len(best[1].group()))):
            best = (value, m)
    return best


def region_id(*parts) -> str:
    return hashlib.sha1(":".join(map(str, parts)).encode("utf-8")).hexdigest()[:10]


def predict_text(text: str, rules: Rules, taxonomy: Taxonomy) -> dict:
    """A Label Studio prediction for one task text: model_version, score, result."""
    spans = []  # (label, start, end, {question: value}, score)
    seen = set()
    for sentence in _SENTENCE.finditer(text):
        s_text, s_start = sentence.group(), sentence.start()
        attrs = {}
        named = False
        for rule in rules.attributes:
            hit = _first(rule.cues, s_text)
            attrs[rule.question] = hit[0] if hit else rule.default
            named = named or (hit is not None and rule.question == rules.voice)
        reported = bool(_QUOTES.search(s_text) or rules.saying.search(s_text))
        score = 0.5 + 0.25 * named + 0.25 * reported
        for rule in rules.spans:
            if rule.needs_target and not rules.target.search(s_text):
                continue
            if rule.extent == "sentence":
                hit = _first(rule.cues, s_text)
                hits = [(hit[0], s_start, sentence.end())] if hit else []
            else:
                hits = [(value, s_start + m.start(), s_start + m.end())
                        for value, pattern in rule.cues.items() for m in pattern.finditer(s_text)]
            for value, start, end in sorted(hits, key=lambda h: (h[1], h[2])):
                if (rule.label, start, end) in seen:
                    continue
                seen.add((rule.label, start, end))
                wanted = {q.name for q in taxonomy.attributes_for(rule.label)}
                values = {q: v for q, v in attrs.items() if q in wanted}
                values[rule.question] = value
                spans.append((rule.label, start, end, values, score))
    result = records.span_items(taxonomy, text, [
        {"region_id": region_id(label, start, end), "label": label, "start": start, "end": end, "score": score, **values}
        for label, start, end, values, score in spans])
    label_of = {r.question: r.label for r in rules.spans}
    for question, rule in rules.document.items():
        stance_label = label_of[rule["from_spans"]]
        polarities = Counter(s[3][rule["from_spans"]] for s in spans if s[0] == stance_label)
        conditions = any(s[0] != stance_label for s in spans)
        choice = rule["default"]
        if polarities and conditions:
            choice = rule["with_conditions"]
        elif polarities:
            commonest = polarities.most_common(1)[0][0]
            if commonest in taxonomy.question(question).value_names:
                choice = commonest
        result += records.choice_items({question: choice}, {question: region_id(question)})
    mean = sum(s[4] for s in spans) / len(spans) if spans else 0.0
    return {"model_version": rules.model_version, "score": round(mean, 3), "result": result}


ACTOR_SENTENCE_BASELINE = "baseline-actor-sentence"


def actor_sentence_spans(text: str, rules: Rules) -> list[dict]:
    """The baseline a pre-annotator has to beat: one stance span (no attributes) over every sentence of
    `text` that mentions the actor (`actor_cues`). Offsets are code points into `text`."""
    return [{"region_id": region_id("baseline", m.start(), m.end()), "label": rules.stance_label,
             "start": m.start(), "end": m.end()}
            for m in _SENTENCE.finditer(text) if rules.actor.search(m.group())]


def predictor(taxonomy: Taxonomy, path: str | Path = DEFAULT_PATH):
    """A function task -> [prediction], for `stancekit.tasks.make_tasks`."""
    rules = load(taxonomy, path)
    return lambda task: [predict_text(task["data"][TEXT_NAME], rules, taxonomy)]
