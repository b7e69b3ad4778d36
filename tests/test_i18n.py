"""The message catalogs: complete in every language, same placeholders, every key used exists."""

import re
import string
from pathlib import Path

import pytest

from core.i18n import LANGUAGES, MessageError, catalog, msg, normalize_language, translate
from tests.conftest import ROOT

CODE_DIRS = ("core", "ui", "app_pages")
# t("key"), msg("key"), Message("key"), MessageError("key") and translate("key") with a literal key
KEY_USE = re.compile(r"""\b(?:t|msg|Message|MessageError|translate)\(\s*["']([\w.-]+)["']""")


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def code_files() -> list[Path]:
    files = [ROOT / "streamlit_app.py", *(p for d in CODE_DIRS for p in (ROOT / d).rglob("*.py"))]
    return [path for path in files if path.name != "i18n.py"]  # its docstrings show made-up keys


def test_every_language_has_every_key():
    keys = {language: set(catalog(language)) for language in LANGUAGES}
    for language in LANGUAGES:
        for other in LANGUAGES:
            missing = sorted(keys[other] - keys[language])
            assert not missing, f"{language} lacks keys that {other} has: {missing[:20]}"


def test_placeholders_agree_between_languages():
    english = catalog("en")
    for language in LANGUAGES:
        for key, text in catalog(language).items():
            assert placeholders(text) == placeholders(english[key]), (language, key)


def test_every_literal_key_in_the_code_exists():
    known = set(catalog("en"))
    used = {
        (path.relative_to(ROOT).as_posix(), key)
        for path in code_files()
        for key in KEY_USE.findall(path.read_text(encoding="utf-8"))
    }
    unknown = sorted((path, key) for path, key in used if key not in known)
    assert not unknown, unknown


def test_translate_falls_back_to_english_and_fills_placeholders():
    assert translate("sidebar.parameters", "ko", count=1234, source="x") == "파라미터 1,234개 · x"
    assert translate("sidebar.parameters", "fr", count=5, source="y") == "5 parameters · y"
    with pytest.raises(KeyError):
        translate("no.such.key", "en")


def test_messages_nest_and_survive_json():
    nested = msg("sidebar.parameters", count=3, source=msg("sidebar.source.trained"))
    assert nested.render("ko") == "파라미터 3개 · 학습됨"
    assert str(nested) == "3 parameters · trained"
    assert type(nested).from_dict(nested.to_dict()) == nested
    assert str(MessageError("sidebar.source.built")) == "built, untrained"


@pytest.mark.parametrize(
    ("given", "expected"),
    [("ko-KR", "ko"), ("ko_KR", "ko"), ("EN-us", "en"), ("fr", None), ("", None), (None, None)],
)
def test_language_codes_are_normalised(given, expected):
    assert normalize_language(given) == expected


def test_a_list_of_messages_renders_one_a_line_and_survives_json():
    import json

    problems = (msg("spec.learning_rate"), msg("spec.momentum"))
    combined = msg("spec.problems", problems=problems)
    assert combined.render("ko") == "\n".join(p.render("ko") for p in problems)
    back = type(combined).from_dict(json.loads(json.dumps(combined.to_dict())))
    assert back == combined and str(back) == str(combined)
