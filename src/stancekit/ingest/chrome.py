"""Page chrome: the patterns of chrome.yaml (next to this module), compiled, and the questions
cleaning asks of one line: which kind of chrome it is, and the fields of a metadata line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from .units import Removal


@dataclass(frozen=True)
class ChromeRules:
    """The chrome patterns of chrome.yaml, compiled (case-insensitive)."""

    consent_heading: re.Pattern
    consent_continues: re.Pattern
    consent_controls: re.Pattern
    teaser_headings: list[re.Pattern]
    teaser_max_words: int
    lines: dict[str, list[re.Pattern]]  # kind -> patterns, in the order they are tried
    separators: re.Pattern
    fields: dict[str, list[re.Pattern]]


CHROME_PATH = Path(__file__).with_name("chrome.yaml")  # src/stancekit/ingest/chrome.yaml


def load_chrome(path: str | Path = CHROME_PATH) -> ChromeRules:
    """Compile a chrome rules file (see chrome.yaml). Raises OSError (unreadable), yaml.YAMLError,
    KeyError (a section missing) and re.error (a bad pattern): the bundled file is loaded at import,
    so a broken one fails every use of ingest."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    meta = data["metadata"]
    shared = {"{date}": meta["date"].replace("{month}", meta["month"]), "{time}": meta["time"]}

    def compile_(pattern: str) -> re.Pattern:
        for name, value in shared.items():
            pattern = pattern.replace(name, value)
        return re.compile(pattern, re.I)

    consent, related = data["blocks"]["consent-banner"], data["blocks"]["related-list"]
    return ChromeRules(
        consent_heading=compile_(consent["heading"]), consent_continues=compile_(consent["continues"]),
        consent_controls=compile_(consent["controls"]),
        teaser_headings=[compile_(p) for p in related["headings"]], teaser_max_words=related["teaser_max_words"],
        lines={kind: [compile_(p) for p in patterns] for kind, patterns in data["lines"].items()},
        separators=compile_(meta["separators"]),
        fields={kind: [compile_(p) for p in patterns] for kind, patterns in meta["fields"].items()},
    )


CHROME = load_chrome()


def metadata_fields(text: str) -> list[tuple[str, re.Match]] | None:
    """The fields of a metadata line ("By X • 3 March • 4 min read") as (field kind, match), or None
    when `text` is not one: every field between separators must match a field pattern of
    chrome.yaml in full (a byline's author words start with a capital letter), and a line of
    one field must not be a bare time."""
    fields = []
    for part in CHROME.separators.split(text.strip()):
        for kind, patterns in CHROME.fields.items():
            match = next((m for p in patterns if (m := p.fullmatch(part))), None)
            if match and kind == "byline" and not all(
                    w[0].isupper() for w in match.group("author").split() if w.isalpha() and len(w) > 3):
                match = None
            if match:
                fields.append((kind, match))
                break
        else:
            return None
    if len(fields) == 1 and fields[0][0] == "time":
        return None
    return fields or None


def chrome_kind(text: str) -> str | None:
    """The kind of page chrome a whole line is (a kind of chrome.yaml's `lines`, or "metadata"), or None."""
    for kind, patterns in CHROME.lines.items():
        if any(p.fullmatch(text) for p in patterns):
            return kind
    return "metadata" if metadata_fields(text) else None


def byline_and_date(removed: list[Removal]) -> tuple[str | None, str | None]:
    """The first author and the first date (as written) that removed chrome lines name: the
    `author`/`date` groups of chrome.yaml's patterns, bylines and dates of metadata lines."""
    found: dict[str, str] = {}
    for rule, _, _, text in removed:
        for line in text.split("\n"):
            if rule == "metadata":
                matches = [m for _, m in metadata_fields(line) or []]
            else:
                matches = [m for p in CHROME.lines.get(rule, []) if (m := p.fullmatch(line))][:1]
            for match in matches:
                for key in ("author", "date"):
                    if match.re.groupindex.get(key) and match.group(key):
                        found.setdefault(key, " ".join(match.group(key).split()))
    return found.get("author"), found.get("date")
