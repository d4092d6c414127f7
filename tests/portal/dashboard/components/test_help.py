"""portal.dashboard.components.help: a page's "How to read this" points come from the Markdown
file beside its module, with the page's constants filled in."""
from __future__ import annotations

import pytest
from dashboard_testlib import page_module
from portal_testlib import ROOT

from portal.dashboard.components.help import expand_glossary, help_points

PAGES = ("churn", "clusters", "cohorts", "geography", "overview", "products", "profile", "segments", "value")


@pytest.mark.parametrize("name", PAGES)
def test_every_page_reads_its_points_from_the_markdown_beside_it(dashboard_app, name):
    module = page_module(name)
    markdown = ROOT / "portal" / "dashboard" / "pages" / f"{name}.md"
    bullets = [line for line in markdown.read_text().splitlines() if line.startswith("- ")]
    assert len(module.HOW_TO) == len(bullets) >= 4
    for point, bullet in zip(module.HOW_TO, bullets):
        assert point.startswith(expand_glossary(bullet[2:].split("{")[0]).strip())
        assert "{" not in point and "}" not in point and "\n" not in point


def test_constants_are_filled_in(dashboard_app):
    cohorts = page_module("cohorts")
    assert f"Hollow points rest on fewer than {cohorts.FEW_COHORTS} cohorts." in " ".join(cohorts.HOW_TO)
    clusters = page_module("clusters")
    assert f"{clusters.MAX_POINTS:,}" in " ".join(clusters.HOW_TO)


def test_continuation_lines_join_and_a_stray_line_is_refused(tmp_path):
    page = tmp_path / "page.py"
    (tmp_path / "page.md").write_text("<!-- comment -->\n\n- **One**: first\n  and second line.\n"
                                      "- Two has {N:,} items.\n")
    assert help_points(str(page), N=12000) == ["**One**: first and second line.", "Two has 12,000 items."]
    (tmp_path / "page.md").write_text("- one\nstray text\n")
    with pytest.raises(ValueError, match="page.md, line 2"):
        help_points(str(page))


def test_glossary_references_are_the_glossary_text(tmp_path):
    from analytics.glossary import term

    page = tmp_path / "page.py"
    (tmp_path / "page.md").write_text("- [[recency]] [[frequency]]\n  Then the page's own words.\n")
    assert help_points(str(page)) == [f"{term('recency').markdown()} {term('frequency').markdown()} "
                                      "Then the page's own words."]
    (tmp_path / "page.md").write_text("- [[no_such_term]]\n")
    with pytest.raises(KeyError, match="no glossary term 'no_such_term'"):
        help_points(str(page))


def test_every_page_refers_only_to_known_terms():
    import re

    from analytics.glossary import term

    for markdown in (ROOT / "portal" / "dashboard" / "pages").glob("*.md"):
        for key in re.findall(r"\[\[([a-z_]+)\]\]", markdown.read_text()):
            term(key)  # KeyError names the file's unknown term
