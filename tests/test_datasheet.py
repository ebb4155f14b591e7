"""DATASHEET.md: all seven sections and the known limits; statistics and plots regenerated from a release, never stale."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from release_fixtures import write_inputs
from stancekit import datasheet, read, release, taxonomy
from stancekit.cli import main

ROOT = Path(__file__).resolve().parents[1]
TAXONOMY = taxonomy.load(ROOT / "schema/taxonomy.yaml")


def build(tmp_path: Path) -> Path:
    paths = write_inputs(tmp_path / "in", TAXONOMY)
    inputs = release.Inputs(paths["documents"], [paths["export"]], paths["gold"], paths["tasks"], paths["agreement"])
    return release.build(inputs, TAXONOMY, tmp_path / "releases", version="1.0.0")


def copies(tmp_path: Path) -> Path:
    sheet = tmp_path / "DATASHEET.md"
    shutil.copy(ROOT / "DATASHEET.md", sheet)
    return sheet


def block(path: Path) -> str:
    return path.read_text(encoding="utf-8").split(datasheet.BEGIN, 1)[1].split(datasheet.END, 1)[0]


def test_datasheet_has_the_seven_sections_and_the_known_limits():
    text = (ROOT / "DATASHEET.md").read_text(encoding="utf-8")
    for section in ("Motivation", "Composition", "Collection process", "Preprocessing, cleaning and labeling",
                    "Uses", "Distribution", "Maintenance"):
        assert f". {section}\n" in text, section
    for limit in ("Five articles", "content-farm", "timeline inconsistency in article 004", "licen"):
        assert limit in text, limit


def test_committed_statistics_are_from_the_latest_release():
    releases = read.list_releases(ROOT / read.RELEASES_DIR)
    latest = releases[-1] if releases else None
    stats = datasheet.statistics(latest, TAXONOMY) if latest else None
    assert block(ROOT / "DATASHEET.md").strip() == datasheet.render_block(stats, TAXONOMY).strip(), \
        "DATASHEET.md is stale: run `stancekit datasheet` and commit it"
    if latest:
        for name in datasheet.PLOTS:
            assert (ROOT / datasheet.PLOTS_DIR / name).is_file(), name


def test_committed_removal_counts_are_from_ingesting_the_latest_release():
    latest = read.list_releases(ROOT / read.RELEASES_DIR)[-1]
    text = (ROOT / "DATASHEET.md").read_text(encoding="utf-8")
    committed = text.split(datasheet.REMOVALS_BEGIN, 1)[1].split(datasheet.REMOVALS_END, 1)[0]
    counts = datasheet.removal_counts(latest, ROOT)
    assert counts and committed.strip() == datasheet.render_removals(counts).strip(), \
        "DATASHEET.md is stale: run `stancekit datasheet` and commit it"
    assert "| `repeat` | a paragraph or heading repeating an earlier one (the first is kept) | 3 |" in committed


def test_statistics_block_and_plots_from_a_release(tmp_path):
    built = build(tmp_path)
    sheet = copies(tmp_path)
    plots = tmp_path / "plots"
    args = ["datasheet", "--taxonomy", str(ROOT / "schema/taxonomy.yaml"), "--release", str(built),
            "--datasheet", str(sheet), "--plots", str(plots)]
    check = CliRunner().invoke(main, args + ["--check"])
    assert check.exit_code == 1 and "stale" in check.output and str(sheet) in check.output
    assert CliRunner().invoke(main, args).exit_code == 0
    assert CliRunner().invoke(main, args + ["--check"]).exit_code == 0
    text = block(sheet)
    assert "From release **v1.0.0**" in text
    assert "| documents | 3 |" in text and "| gold spans | 4 |" in text
    for value in TAXONOMY.label_names + TAXONOMY.question("condition_type").value_names:
        assert f"| {value} |" in text, value
    # Agreement and pre-annotator scores, from the manifest, each with its interval and n.
    assert "| `doc_stance`: Krippendorff's alpha (nominal) | 0.000 [-0.667, 0.000] | n: 3 documents, 6 values |" in text
    assert "| `doc_stance`: Cohen's kappa, annotator1@example.org vs user:2 | 0.000 [0.000, 0.000] | n: 3 documents |" in text
    assert "| spans: F1, exact match, all pairs | 1.000 [1.000, 1.000] | n: 3 comparisons, 4 first, 4 matched, 4 second |" in text
    assert "**rules-0.1** (3 documents)" in text
    # 2 predicted spans, both gold, of 4 gold spans; a scope without predictions is undefined, with the reason.
    assert "| all | 1.000 [1.000, 1.000] | 0.500 [0.500, 0.500] | 0.667 [0.667, 0.667] |" in text
    assert "| polarity:conditional_support | undefined (the second marked no spans) | 0.000" in text
    assert "- `doc_stance` accuracy: undefined (no item with a value from both) (n: 0 documents)" in text
    first = {name: (plots / name).read_bytes() for name in datasheet.PLOTS}
    assert all(data.startswith(b"\x89PNG") for data in first.values())
    assert CliRunner().invoke(main, args).exit_code == 0
    assert {name: (plots / name).read_bytes() for name in datasheet.PLOTS} == first  # deterministic PNGs
    # A hand edit inside the block is stale again.
    sheet.write_text(sheet.read_text().replace("| documents | 3 |", "| documents | 4 |"))
    assert CliRunner().invoke(main, args + ["--check"]).exit_code == 1


def test_missing_markers_are_one_clear_line(tmp_path):
    sheet = copies(tmp_path)
    sheet.write_text("# no markers\n")
    result = CliRunner().invoke(main, ["datasheet", "--taxonomy", str(ROOT / "schema/taxonomy.yaml"),
                                       "--releases-dir", str(tmp_path / "none"), "--datasheet", str(sheet), "--check"])
    assert result.exit_code == 2 and "missing the markers" in result.output and "Traceback" not in result.output
