"""An annotator's whole day in a real browser: Debian's headless Chromium drives the real Label Studio.

raw article (CRLF, emoji, a flag, Cyrillic, curly quotes) -> `stancekit ingest` -> a task in a
fresh project made from the generated config -> log in, activate a label, drag the mouse over
each phrase, set the per-region attributes and the document stance, submit -> pull the export
-> validate (zero problems) -> build a release -> every span in spans.parquet is the dragged
phrase. Then one exported span is shifted by one code point and the validator must reject it.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from stancekit import ingest, labelstudio, release, tasks, taxonomy, validate
from stancekit.cli import main
from stancekit.documents import read_documents

pytestmark = [pytest.mark.browser, pytest.mark.labelstudio]

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")  # Debian's package (`make system-deps`); never a downloaded browser
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TAXONOMY = taxonomy.load(ROOT / "schema/taxonomy.yaml")
CONFIG_XML = (ROOT / "schema/labeling-config.xml").read_text(encoding="utf-8")

# The raw file as a scraper saves it: CRLF line endings (ingest turns them into \n), a flag
# (two code points), emoji, Cyrillic and curly quotes before and between the phrases.
RAW_ARTICLE = (
    "Путин и перемирие 🇺🇦: “nuances”\r\n"
    "\r\n"
    "🇺🇦 Kyiv 😀 — Кремль, 14 March:\r\n"
    "\r\n"
    "“Мы за 👍, but there are nuances,” Putin said 🙂 in Moscow.\r\n"
    "Песков added: the truce needs «no NATO membership for Ukraine» first 🇷🇺, "
    "and «a halt to Western arms supplies» during any pause.\r\n"
)
# (phrase, index into TAXONOMY.label_names): a STANCE statement and two CONDITIONs today.
PHRASES = [
    ("Мы за 👍, but there are nuances", 0),
    ("no NATO membership for Ukraine", 1),
    ("a halt to Western arms supplies", 1),
]

# Screen coordinates of a phrase: the first and last client rects of a DOM Range over it.
# The phrase lies inside one text node (Label Studio renders each line as its own span).
PHRASE_RECT_JS = """(phrase) => {
  const root = document.querySelector('.lsf-richtext__container');
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const i = node.data.indexOf(phrase);
    if (i < 0) continue;
    const range = document.createRange();
    range.setStart(node, i);
    range.setEnd(node, i + phrase.length);
    const rects = Array.from(range.getClientRects()).filter(r => r.width > 0);
    const first = rects[0], last = rects[rects.length - 1];
    return {x0: first.left + 1, y0: (first.top + first.bottom) / 2,
            x1: last.right - 1, y1: (last.top + last.bottom) / 2};
  }
  return null;
}"""


def pick(question: taxonomy.Question, n: int) -> str:
    """A value of the question, varied with n so that different spans get different answers."""
    return question.value_names[(n + 1) % len(question.value_names)]


def planned_spans() -> list[dict]:
    """What the annotator does: each phrase's label and an answer to each of its attributes."""
    spans = []
    for n, (phrase, label_index) in enumerate(PHRASES):
        label = TAXONOMY.label_names[label_index]
        spans.append({"text": phrase, "label": label,
                      "attributes": {q.name: pick(q, n) for q in TAXONOMY.attributes_for(label)}})
    return spans


# ---- the labeling page ----------------------------------------------------------------------

def question_block(page, question: taxonomy.Question):
    """The block of one Choices control: the generated config puts a Header with its title above it."""
    header = page.locator("h4", has_text=re.compile("^" + re.escape(question.title) + "$"))
    return header.locator("xpath=..")


def choice(page, question: taxonomy.Question, value: str):
    return question_block(page, question).locator("label.lsf-choice__checkbox",
                                                  has=page.locator(f'input[name="{value}"]'))


def label_button(page, label: str):
    return page.locator(".lsf-labels .lsf-label", has=page.locator(".lsf-label__text", has_text=re.compile(f"^{re.escape(label)}$")))


def drag_over(page, phrase: str) -> None:
    """A real mouse drag from the phrase's first character to its last."""
    box = page.evaluate(PHRASE_RECT_JS, phrase)
    assert box is not None, f"phrase {phrase!r} is not on the labeling page"
    page.mouse.move(box["x0"], box["y0"])
    page.mouse.down()
    page.mouse.move((box["x0"] + box["x1"]) / 2, (box["y0"] + box["y1"]) / 2, steps=5)
    page.mouse.move(box["x1"], box["y1"], steps=5)
    page.mouse.up()


def region(page, phrase: str):
    """The highlight of the region drawn over the phrase (or over a stretch that contains it)."""
    return page.locator(".htx-highlight", has_text=phrase).first


def expect_question_shown(page, question: taxonomy.Question, shown: bool) -> None:
    from playwright.sync_api import expect
    block = question_block(page, question)
    if not shown:
        expect(block).to_be_hidden()
        return
    expect(block).to_be_visible()
    for value in question.value_names:
        expect(choice(page, question, value)).to_be_visible()


def log_in(page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/user/login/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/user/login" not in url)


def open_task(page, base_url: str, project_id: int, task_id: int) -> None:
    page.goto(f"{base_url}/projects/{project_id}/data?task={task_id}")
    page.wait_for_selector(".lsf-richtext__container .lsf-richtext__line")


def label_task(page, spans: list[dict], answers: dict[str, str], screenshot: Path | None = None,
               in_stream: bool = False) -> None:
    """On an open task: draw every span with its attributes, answer the document questions, submit.
    In the labeling stream, Submit moves on to the next task: the caller checks the server."""
    from playwright.sync_api import expect
    # The generated config renders fully: every label and every document question now ...
    for label in TAXONOMY.label_names:
        expect(label_button(page, label)).to_be_visible()
    for q in TAXONOMY.document_choices:
        expect_question_shown(page, q, True)
    for q in TAXONOMY.region_attributes:
        expect_question_shown(page, q, False)
    expect(page.locator(".htx-highlight")).to_have_count(0)  # a fresh project: no draft regions

    for n, span in enumerate(spans):
        label_button(page, span["label"]).click()
        drag_over(page, span["text"])
        expect(page.locator(".htx-highlight")).to_have_count(n + 1)
        expect(region(page, span["text"])).to_have_text(span["text"])  # neither short of nor past the phrase
        region(page, span["text"]).click()  # select it: its attributes appear
        # ... and every per-region question once a region of a label it applies to is selected.
        for q in TAXONOMY.region_attributes:
            expect_question_shown(page, q, span["label"] in q.applies_to)
        for name, value in span["attributes"].items():
            choice(page, TAXONOMY.question(name), value).click()
            expect(choice(page, TAXONOMY.question(name), value).locator("input")).to_be_checked()
        page.keyboard.press("Escape")  # unselect, so the next label click does not relabel this region
        expect(question_block(page, TAXONOMY.region_attributes[-1])).to_be_hidden()

    for name, value in answers.items():
        choice(page, TAXONOMY.question(name), value).click()
    if screenshot:
        region(page, spans[0]["text"]).click()
        page.screenshot(path=str(screenshot), full_page=True)
        page.keyboard.press("Escape")
    page.get_by_role("button", name="Submit").first.click()  # the stream adds a "Submit annotation" menu
    if in_stream:
        return
    warning = page.locator(".ant-modal-confirm-content")
    update = page.locator("button", has_text=re.compile("^Update$"))  # Submit becomes Update once saved
    expect(update.or_(warning).first).to_be_visible(timeout=30_000)
    assert not warning.is_visible(), f"Label Studio refused to submit: {warning.inner_text()}"


def planned_answers() -> dict[str, str]:
    return {q.name: pick(q, n) for n, q in enumerate(TAXONOMY.document_choices)}


def label_in_browser(page, base_url: str, email: str, password: str, project_id: int, task_id: int) -> None:
    """Log in, label every planned span, answer the document questions, submit."""
    log_in(page, base_url, email, password)
    open_task(page, base_url, project_id, task_id)
    label_task(page, planned_spans(), planned_answers(), screenshot=ARTIFACTS / "browser-labeling.png")


# ---- the test ---------------------------------------------------------------------------------

def test_annotator_labels_in_real_browser_and_release_has_the_dragged_phrases(label_studio, tmp_path):
    from playwright.sync_api import expect, sync_playwright  # lazily: `-m "not browser"` needs no playwright
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps` (Debian's chromium and fonts-noto-color-emoji)")
    raw = tmp_path / "raw" / "article.txt"
    raw.parent.mkdir()
    raw.write_bytes(RAW_ARTICLE.encode("utf-8"))
    ingested = ingest.ingest([raw])
    assert not ingested.errors and len(ingested.documents) == 1
    documents = tmp_path / "documents.parquet"
    ingest.write_documents(ingested.documents, documents)
    doc = ingested.documents[0]
    for phrase, _ in PHRASES:
        assert doc["text"].count(phrase) == 1, f"{phrase!r} must occur once in the clean text"

    # A fresh project per run, so that no draft of an earlier run brings old regions back.
    client = label_studio.client
    project = client.projects.create(title=f"browser test {uuid.uuid4().hex[:8]}", label_config=CONFIG_XML)
    [task] = tasks.make_tasks(read_documents(documents))
    task_id = client.projects.import_tasks(id=project.id, request=[task], return_task_ids=True).task_ids[0]

    ARTIFACTS.mkdir(exist_ok=True)
    started = time.monotonic()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(30_000)  # generous: the machine may be busy; a passing run waits far less
        expect.set_options(timeout=30_000)
        try:
            label_in_browser(page, label_studio.base_url, label_studio.email, label_studio.password, project.id, task_id)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "browser-failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    browser_seconds = time.monotonic() - started

    export = labelstudio.pull(labelstudio.Client(label_studio.base_url, label_studio.token), project.id, tmp_path / "exports")

    summary = validate.check([export], TAXONOMY, CONFIG_XML)
    assert summary.annotations == 1
    assert dict(summary.counts) == {}, validate.format_summary(summary)

    release_dir = release.build(release.Inputs(documents=documents, exports=[export]), TAXONOMY,
                                out_dir=tmp_path / "releases", version="0.1.0")
    spans = pq.read_table(release_dir / "spans.parquet").to_pylist()
    spans = [s for s in spans if s["layer"] == "annotation"]
    assert sorted(s["text"] for s in spans) == sorted(p for p, _ in PHRASES)
    for s in spans:
        assert doc["text"][s["start"]:s["end"]] == s["text"]
        assert s["annotator"] == label_studio.email
    got = {s["text"]: {"label": s["label"], **{q.name: s[q.name] for q in TAXONOMY.region_attributes}} for s in spans}
    for span in planned_spans():
        expected = {q.name: None for q in TAXONOMY.region_attributes} | span["attributes"]
        assert got[span["text"]] == {"label": span["label"], **expected}
    [annotation] = [a for a in pq.read_table(release_dir / "annotations.parquet").to_pylist() if a["layer"] == "annotation"]
    assert {q.name: annotation[q.name] for q in TAXONOMY.document_choices} == planned_answers()

    # Off by one: shift one exported span one code point to the right; the validator must reject it.
    shifted = json.loads(export.read_text(encoding="utf-8"))
    item = next(r for r in shifted[0]["annotations"][0]["result"] if r["type"] == "labels")
    item["value"]["start"] += 1
    item["value"]["end"] += 1
    mutated = tmp_path / "export-off-by-one.json"
    mutated.write_text(json.dumps(shifted, ensure_ascii=False), encoding="utf-8")
    summary = validate.check([mutated], TAXONOMY, CONFIG_XML)
    assert summary.errors >= 1 and summary.counts["SPAN_TEXT_MISMATCH"] >= 1, dict(summary.counts)

    print(f"in the browser: {browser_seconds:.1f} s; screenshot {ARTIFACTS / 'browser-labeling.png'}")


# ---- two annotators, one task -------------------------------------------------------------------

# What each annotator does: both draw the STANCE statement; each draws a different CONDITION;
# they answer the document stance differently (so that alpha is defined: not one value throughout).
TEAM_PLANS = [[0, 1], [0, 2]]


def team_plan(annotator: int) -> tuple[list[dict], dict[str, str]]:
    spans = [s for n, s in enumerate(planned_spans()) if n in TEAM_PLANS[annotator]]
    answers = {q.name: pick(q, n + annotator) for n, q in enumerate(TAXONOMY.document_choices)}
    return spans, answers


@pytest.mark.postgres
def test_two_annotators_label_one_task_in_two_browser_contexts(label_studio_pg, tmp_path):
    """Two accounts from `ls users add`, two browser contexts (separate sessions) open at once.
    The first labels the task from the data manager; the second is served the same task by the
    labeling stream after the first submitted it (2 annotators per task). The pull holds both
    annotations, and `stancekit agreement` reports a defined alpha and span F1 for the pair."""
    from playwright.sync_api import expect, sync_playwright  # lazily: `-m "not browser"` needs no playwright
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps` (Debian's chromium and fonts-noto-color-emoji)")
    server = label_studio_pg
    raw = tmp_path / "raw" / "article.txt"
    raw.parent.mkdir()
    raw.write_bytes(RAW_ARTICLE.encode("utf-8"))
    documents = tmp_path / "documents.parquet"
    ingest.write_documents(ingest.ingest([raw]).documents, documents)
    [task] = tasks.make_tasks(read_documents(documents))
    client = labelstudio.Client(server.base_url, server.token)
    title = f"two annotators {uuid.uuid4().hex[:8]}"
    project_id, _ = labelstudio.ensure_project(client, title, CONFIG_XML, labelstudio.load_settings())
    labelstudio.push(client, project_id, [task])
    [task_id] = [t.id for t in server.client.tasks.list(project=project_id)]
    emails = [f"browser{n}-{uuid.uuid4().hex[:6]}@team.example.org" for n in (1, 2)]
    passwords = [labelstudio.add_user(client, email) for email in emails]

    ARTIFACTS.mkdir(exist_ok=True)
    started = time.monotonic()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        pages = [browser.new_context(viewport={"width": 1400, "height": 1000}).new_page() for _ in emails]
        expect.set_options(timeout=30_000)
        try:
            for page, email, password in zip(pages, emails, passwords):
                page.set_default_timeout(30_000)
                log_in(page, server.base_url, email, password)
            open_task(pages[0], server.base_url, project_id, task_id)
            label_task(pages[0], *team_plan(0))
            pages[1].goto(f"{server.base_url}/projects/{project_id}/data?labeling=1")  # the labeling stream
            pages[1].wait_for_selector(".lsf-richtext__container .lsf-richtext__line")
            label_task(pages[1], *team_plan(1), screenshot=ARTIFACTS / "browser-second-annotator.png", in_stream=True)
            deadline = time.monotonic() + 30
            while len(server.client.tasks.get(id=task_id).annotations or []) < 2:
                assert time.monotonic() < deadline, "the second annotation never reached the server"
                time.sleep(0.5)
        except Exception:
            for n, page in enumerate(pages):
                page.screenshot(path=str(ARTIFACTS / f"browser-team-failure-{n}.png"), full_page=True)
            raise
        finally:
            browser.close()
    browser_seconds = time.monotonic() - started

    export = labelstudio.pull(client, project_id, tmp_path / "exports")
    [exported] = json.loads(export.read_text(encoding="utf-8"))
    assert sorted(a["completed_by"]["email"] for a in exported["annotations"]) == sorted(emails)
    summary = validate.check([export], TAXONOMY, CONFIG_XML)
    assert summary.annotations == 2 and dict(summary.counts) == {}, validate.format_summary(summary)

    result = CliRunner().invoke(main, ["agreement", str(export), "--format", "json", "--resamples", "0"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert sorted(report["annotators"]) == sorted(emails) and report["documents_with_two_or_more_annotators"] == 1
    alpha = report["document_choices"]["doc_stance"]["alpha"]
    assert alpha["value"] is not None, alpha["undefined"]
    f1 = report["spans"]["exact"]["all_pairs"]["scopes"]["all"]["f1"]
    assert f1["value"] == 0.5, f1  # one of two spans each in common: the STANCE statement
    print(f"two annotators in the browser: {browser_seconds:.1f} s; alpha {alpha['value']}, span F1 {f1['value']}")
