"""analytics.glossary: one definition per term, the README's Definitions generated from it."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from analytics.constants import RISK_BANDS
from analytics.glossary import GLOSSARY, glossary_markdown, term
from analytics.risk import OVERDUE_MULTIPLE, RISK_MULTIPLE, VALUE_DAYS, VALUE_SHARE

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_definitions_are_the_glossary():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- glossary:start[^>]*-->\n(.*?)<!-- glossary:end -->", readme, flags=re.S)
    assert block is not None, "README.md has no generated glossary block"
    assert block.group(1) == glossary_markdown(), "run: python -m analytics glossary, and paste it into README.md"


def test_the_cli_prints_the_glossary():
    out = subprocess.run([sys.executable, "-m", "analytics", "glossary"], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    assert out == glossary_markdown()
    assert out.count("\n- ") + 1 == len(GLOSSARY)


def test_keys_are_unique_and_unknown_keys_are_named():
    assert len({t.key for t in GLOSSARY}) == len(GLOSSARY)
    with pytest.raises(KeyError, match="no glossary term 'nope'"):
        term("nope")


def test_definitions_carry_the_numbers_the_code_uses():
    (_, high), (_, medium) = RISK_BANDS
    assert f"{high:.0%} or more" in term("risk_band").definition
    assert f"medium from {medium:.0%}" in term("risk_band").definition
    rule = term("valuable_at_risk").definition
    assert f"top {VALUE_SHARE:.0%}" in rule and f"last {VALUE_DAYS} days" in rule
    assert RISK_MULTIPLE == OVERDUE_MULTIPLE == 2.0 and rule.count("twice") == 2
    # tiers are cumulative, as analytics.tiers computes them
    assert "includes the top 1%" in term("clv_tier").definition
