"""Measure stancekit's chrome rules against jusText and trafilatura on the test articles (README, "Ingest").

Per article and method: how many of the sentences that must stay are kept (`kept`), how many chrome
strings that must go are left (`left`), and, on the five seed articles, how many quotes of the
committed annotation passes are lost. Plain-text articles are given to the classifiers as one <p>
per line. Needs `pip install justext trafilatura` (not project dependencies: the measurement chose
neither). Run from the repository root: .venv/bin/python scripts/compare_boilerplate.py
"""

from __future__ import annotations

import html
import sys
from pathlib import Path

import justext
import trafilatura
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import test_ingest as seeds  # noqa: E402  (the expectations of the tests, one home)
import test_ingest_chrome as unseen  # noqa: E402

from stancekit import ingest  # noqa: E402


def as_html(path: Path) -> bytes:
    if path.suffix == ".html":
        return path.read_bytes()
    lines = path.read_text(encoding="utf-8").splitlines()
    return ("<html><body>" + "".join(f"<p>{html.escape(l)}</p>" for l in lines if l.strip()) + "</body></html>").encode()


def ours(path: Path) -> str:
    return ingest.ingest([path]).documents[0]["text"]


def with_justext(path: Path, language: str) -> str:
    return "\n".join(p.text for p in justext.justext(as_html(path), justext.get_stoplist(language)) if not p.is_boilerplate)


def with_trafilatura(path: Path, language: str) -> str:
    return trafilatura.extract(as_html(path).decode("utf-8", "replace"), include_comments=False, include_tables=True) or ""


def flat(text: str) -> str:
    return " ".join(text.split())


def main(tmp: Path) -> None:
    cases = []  # (name, path, language, keep, gone, quotes)
    quotes: dict[str, list[str]] = {}
    for passes in sorted((ROOT / "annotation" / "passes").glob("*.yaml")):
        for name, article in yaml.safe_load(passes.read_text(encoding="utf-8"))["articles"].items():
            quotes.setdefault(name, []).extend(s["quote"] for s in article.get("spans", []))
    for path in seeds.SEEDS:
        case = seeds.SEED_CASES[path.name[:3]]
        gone = [g for g in case["gone"] if len(g.strip()) > 2]  # not "0", "**" or indentation: found anywhere
        cases.append((path.name[:3], path, "English", case["keep"], gone, sorted(set(quotes.get(path.name, [])))))
    cases.append(("page.html", seeds.FIXTURES / "page.html", "English",
                  ["Moscow said on Thursday it was “carefully studying” the proposal for a 30-day ceasefire",
                   "The Kremlin’s spokesman said the details still had to be clarified with Washington"],
                  ["Accept All", "Share on Facebook", "Related Posts", "Most Read", "newsletter", "All rights reserved"], []))
    chrome_article = tmp / "unseen.txt"
    chrome_article.write_text(unseen.article_with_chrome(), encoding="utf-8")
    cases.append(("unseen chrome", chrome_article, "English", unseen.BODY,
                  [c for kind in unseen.CHROME.values() for c in kind], []))
    methods = {"stancekit rules": lambda p, lang: ours(p), "jusText": with_justext, "trafilatura": with_trafilatura}
    print("| article | method | kept | left | quotes lost |")
    print("|---|---|---:|---:|---:|")
    totals = {m: [0, 0, 0, 0, 0, 0] for m in methods}
    for name, path, language, keep, gone, qs in cases:
        for method, run in methods.items():
            out = flat(run(path, language))
            kept = sum(flat(k) in out for k in keep)
            left = sum(flat(g) in out for g in gone)
            lost = sum(flat(q) not in out for q in qs)
            t = totals[method]
            t[0] += kept; t[1] += len(keep); t[2] += left; t[3] += len(gone); t[4] += lost; t[5] += len(qs)
            print(f"| {name} | {method} | {kept}/{len(keep)} | {left}/{len(gone)} | {lost}/{len(qs)} |")
    for method, t in totals.items():
        print(f"| **all** | {method} | {t[0]}/{t[1]} | {t[2]}/{t[3]} | {t[4]}/{t[5]} |")


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        main(Path(tmp))
