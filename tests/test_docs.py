"""The README and docs/: every relative link and picture exists, and the two commands are there."""

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page: Path):
    targets = [t for t in LINK.findall(page.read_text()) if "://" not in t]
    missing = [t for t in targets if not (page.parent / t).exists()]
    assert not missing, f"{page.name} links to missing files: {missing}"


def test_readme_gives_the_two_commands_and_a_picture():
    text = (ROOT / "README.md").read_text()
    assert "bash run.sh" in text and "bash test.sh" in text
    picture = ROOT / "docs" / "images" / "draw.png"
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(text.splitlines()) < 100, "the README is a newcomer's page: depth goes to docs/"
