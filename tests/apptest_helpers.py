"""Helpers for AppTest tests of the pages."""

import base64
import html
import io
import re

import numpy as np
import pandas as pd
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

APP = str(ROOT / "streamlit_app.py")
TIMEOUT = 120


def open_page(page: str, at: AppTest | None = None) -> AppTest:
    """Run the app (or keep the given session) and switch to app_pages/<page>.py."""
    at = at or AppTest.from_file(APP, default_timeout=TIMEOUT)
    if not at._tree:  # first run of a new session
        at.run()
    at.switch_page(f"app_pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def by_key(elements, key: str):
    """The element of a widget list with this key."""
    for element in elements:
        if element.key == key:
            return element
    raise KeyError(key)


def markdown_table(at: AppTest) -> pd.DataFrame | None:
    """The first Markdown table on the page (ui.widgets.markdown_table), cells unescaped."""
    for element in at.markdown:
        lines = element.value.splitlines()
        if len(lines) > 1 and lines[0].startswith("| ") and set(lines[1]) <= set("|-: "):
            cells = [
                [re.sub(r"\\(.)", r"\1", c.strip()) for c in re.split(r"(?<!\\)\|", ln)[1:-1]]
                for ln in lines
            ]
            return pd.DataFrame(cells[2:], columns=cells[0])
    return None


def open_layer_editor(at: AppTest) -> AppTest:
    """On Build: turn on "Edit the layers", which replaces the stack's table by the editor."""
    by_key(at.toggle, "build_editing").set_value(True).run()
    return at


def texts(at: AppTest) -> str:
    """Everything written with markdown, captions, metrics and alerts, as one string."""
    parts = [e.value for e in [*at.markdown, *at.caption, *at.error, *at.info, *at.success]]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    return "\n".join(str(p) for p in parts)


GRID_CELL = re.compile(
    r'<img src="data:image/png;base64,([^"]+)"[^>]*><figcaption>(.*?)</figcaption>'
)


def grid_digits(at: AppTest) -> list[tuple[str, np.ndarray]]:
    """(caption, 28x28 uint8 image) of every digit in the page's digit grids, in page order."""
    return [
        (html.unescape(caption), np.asarray(Image.open(io.BytesIO(base64.b64decode(png)))))
        for element in at.html
        for png, caption in GRID_CELL.findall(element.value)
    ]


def grid_captions(at: AppTest) -> list[str]:
    return [caption for caption, _ in grid_digits(at)]
