"""Message catalogs: every sentence a person reads, looked up by key in their language.

The catalogs are gettext `.po` files under `locales/<language>/`, one file per area of the app
(`build.po`, `evaluate.po` ...), with the message key as msgid and the text as msgstr. Texts use
Python's `str.format` placeholders (`{layer}`, `{accuracy:.2%}`), the same in every language;
a literal brace is written twice (`{{`).

`core/` never writes a sentence for a person itself: it returns or raises a `Message` (a key and
its parameters), which the UI renders in the reader's language and `str()` renders in English.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "ko")  # English first: the fallback for a missing or unknown language
DEFAULT_LANGUAGE = "en"
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"


@dataclass(frozen=True)
class Message:
    """A sentence for a person, by catalog key; parameters may themselves be Messages."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, language: str = DEFAULT_LANGUAGE) -> str:
        return translate(self.key, language, **self.params)

    def __str__(self) -> str:
        return self.render(DEFAULT_LANGUAGE)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form (for messages that cross a process boundary)."""
        return {"key": self.key, "params": {k: _to_json(v) for k, v in self.params.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        return cls(str(data["key"]), {k: _from_json(v) for k, v in data.get("params", {}).items()})


def _to_json(value: Any) -> Any:
    if isinstance(value, Message):
        return value.to_dict()
    if isinstance(value, tuple | list):
        return [_to_json(item) for item in value]
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"key", "params"}:
        return Message.from_dict(value)
    if isinstance(value, list):
        return tuple(_from_json(item) for item in value)
    return value


def _render(value: Any, language: str) -> Any:
    """A parameter as it goes into a text: Messages in the language, a list of them one a line."""
    if isinstance(value, Message):
        return value.render(language)
    if isinstance(value, tuple | list) and value and all(isinstance(v, Message) for v in value):
        return "\n".join(v.render(language) for v in value)
    return value


def msg(key: str, **params: Any) -> Message:
    """Shorthand: `msg("spec.dense_units", units=0)`."""
    return Message(key, params)


class MessageError(ValueError):
    """An error whose text is a Message; `str()` gives it in English, the UI in any language."""

    def __init__(self, message: Message | str, **params: Any) -> None:
        self.message = message if isinstance(message, Message) else Message(message, params)
        super().__init__(str(self.message))


@functools.cache
def catalog(language: str) -> dict[str, str]:
    """Every key and text of one language, from all `.po` files of its folder."""
    from babel.messages.pofile import read_po  # not for the upload checker, which only makes keys

    texts: dict[str, str] = {}
    for path in sorted((LOCALES_DIR / language).glob("*.po")):
        with path.open("rb") as file:
            for entry in read_po(file, locale=language):
                if entry.id and entry.string:
                    texts[str(entry.id)] = str(entry.string)
    return texts


def normalize_language(language: str | None) -> str | None:
    """'ko-KR', 'ko_KR', 'KO' -> 'ko'; None for a language the app does not speak."""
    if not language:
        return None
    code = language.strip().replace("_", "-").split("-")[0].lower()
    return code if code in LANGUAGES else None


def translate(key: str, language: str = DEFAULT_LANGUAGE, **params: Any) -> str:
    """The text of a key in a language (English if that language lacks it), placeholders filled."""
    language = normalize_language(language) or DEFAULT_LANGUAGE
    template = catalog(language).get(key) or catalog(DEFAULT_LANGUAGE).get(key)
    if template is None:
        raise KeyError(f"no message '{key}' in the catalogs")
    values = {k: _render(v, language) for k, v in params.items()}
    text = template.format(**values)
    return korean_particles(text) if language == "ko" else text


# Korean particles depend on whether the word before ends in a consonant (받침). After a value
# the catalogs write both forms, "을(를)", and the one that fits is picked once the value is in.
_PAIRED = {
    "을(를)": ("을", "를"), "를(을)": ("을", "를"), "이(가)": ("이", "가"), "가(이)": ("이", "가"),
    "은(는)": ("은", "는"), "는(은)": ("은", "는"), "과(와)": ("과", "와"), "와(과)": ("과", "와"),
    "(으)로": ("으로", "로"), "(이)라는": ("이라는", "라는"),
}  # fmt: skip
_PARTICLE = re.compile("|".join(re.escape(p) for p in sorted(_PAIRED, key=len, reverse=True)))
# How a digit or a Latin letter is read in Korean ends: with a final consonant (its jamo index,
# 8 for ㄹ) or without (0). 0 영, 1 일, 3 삼, 6 육, 7 칠, 8 팔; L 엘, M 엠, N 엔, R 알.
_READ_FINAL = {"0": 21, "1": 8, "3": 16, "6": 1, "7": 8, "8": 8, "l": 8, "m": 16, "n": 4, "r": 8}
_CLOSING = "`'\")]}*_ "


def final_consonant(word: str) -> int:
    """The final consonant (받침) of a word's last sound as read in Korean: 0 for none, 8 for ㄹ,
    another jamo index otherwise. Hangul, digits and Latin letters (read by their names)."""
    word = word.rstrip(_CLOSING)
    if not word:
        return 0
    last = word[-1]
    if "가" <= last <= "힣":
        return (ord(last) - ord("가")) % 28
    return _READ_FINAL.get(last.lower(), 0)


def korean_particles(text: str) -> str:
    """Each paired particle ("을(를)", "이(가)", "(으)로" ...) as the word before it needs it."""

    def pick(match: re.Match) -> str:
        with_final, without = _PAIRED[match.group(0)]
        final = final_consonant(text[: match.start()])
        if with_final == "으로":  # ㄹ takes 로, like a vowel
            return with_final if final not in (0, 8) else without
        return with_final if final else without

    return _PARTICLE.sub(pick, text)


_CODE_COMMENT = re.compile(r"#: ([a-z0-9_.]+)")


def code_comments(code: str, language: str = DEFAULT_LANGUAGE) -> str:
    """Code whose comments are catalog keys (`#: save.code_same_architecture`) in a language."""
    return _CODE_COMMENT.sub(lambda m: "# " + translate(m.group(1), language), code)
