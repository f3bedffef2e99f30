"""The field client's words in Chinese and English: one table, one lookup, one language a run.

Every sentence the client shows goes through :func:`t` with a key of
:data:`mobile_stub.messages.MESSAGES`. The package code below the command line never renders
a message itself: it raises :class:`UserError` or returns :class:`Msg` values (key and
parameters), whose ``str()`` is English (for logs, JSON and the Python API) and whose
:meth:`Msg.text` is in the language of the run.

The language: ``--lang zh|en`` if given, else Chinese when the locale (the first set of
``LC_ALL``, ``LC_MESSAGES``, ``LANG``, as POSIX reads them) starts with ``zh``, else English.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mobile_stub.messages import MESSAGES

LANGS = ("zh", "en")
_current = {"lang": "en"}


def language_from_env(env: Mapping[str, str] | None = None) -> str:
    """``zh`` when the locale that governs messages is Chinese, else ``en``."""
    env = os.environ if env is None else env
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def split_lang(argv: Sequence[str]) -> tuple[str | None, list[str]]:
    """``--lang zh|en`` (or ``--lang=…``) taken out of a command line, wherever it stands, and
    the rest of the command line.

    Read before the command line is parsed, because ``--help`` must already be in that
    language. A value that is not a language is left in place for the parser to refuse.
    """
    lang: str | None = None
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest += argv[i:]
            break
        if arg == "--lang" and i + 1 < len(argv) and argv[i + 1] in LANGS:
            lang, i = argv[i + 1], i + 2
            continue
        if arg.startswith("--lang=") and arg.partition("=")[2] in LANGS:
            lang, i = arg.partition("=")[2], i + 1
            continue
        rest.append(arg)
        i += 1
    return lang, rest


def language_from_argv(argv: Sequence[str]) -> str | None:
    """The value of ``--lang`` on a command line, when it is one of :data:`LANGS`."""
    return split_lang(argv)[0]


def set_language(lang: str) -> None:
    if lang not in LANGS:
        raise ValueError(f"language must be one of {LANGS}")
    _current["lang"] = lang


def language() -> str:
    return _current["lang"]


def _render(key: str, lang: str, params: Mapping[str, Any]) -> str:
    zh, en = MESSAGES[key]
    text = zh if lang == "zh" else en
    if not params:
        return text
    values = {k: v.render(lang) if hasattr(v, "render") else v for k, v in params.items()}
    return text.format(**values)


def t(key: str, /, **params: Any) -> str:
    """The message ``key`` in the language of this run, with ``params`` filled in.

    A parameter may itself be a :class:`Msg` (a reason inside a sentence); it is rendered in
    the same language.
    """
    return _render(key, language(), params)


def has(key: str) -> bool:
    return key in MESSAGES


@dataclass(frozen=True)
class Msg:
    """A message not yet rendered: a key of the table and its parameters."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, lang: str) -> str:
        return _render(self.key, lang, self.params)

    def text(self) -> str:
        """In the language of this run."""
        return self.render(language())

    def __str__(self) -> str:
        return self.render("en")

    def as_json(self) -> list[Any]:
        """``[key, params]``, nested messages as lists too (held reasons stored in the outbox)."""
        return [
            self.key,
            {k: v.as_json() if isinstance(v, Msg | Names) else v for k, v in self.params.items()},
        ]

    @classmethod
    def from_json(cls, data: Sequence[Any]) -> Msg:
        def value(v: Any) -> Any:
            if isinstance(v, list) and len(v) == 2 and v[0] in MESSAGES:
                return cls.from_json(v)
            if isinstance(v, dict) and "names" in v:
                return Names.of(tuple(i) for i in v["names"])
            return v

        return cls(data[0], {k: value(v) for k, v in data[1].items()})


@dataclass(frozen=True)
class Names:
    """Catalogue entries named in a message: 中文名（code） in Chinese, code (name) in English.

    A long list (a whole catalogue offered as choices) is grouped one family a line.
    """

    items: tuple[tuple[str, str, str], ...]  # (code, name_zh, name_en)

    @classmethod
    def of(cls, entries: Iterable[tuple[str, str, str]]) -> Names:
        return cls(tuple(entries))

    def render(self, lang: str) -> str:
        def one(code: str, zh: str, en: str) -> str:
            if lang == "zh":
                return f"{zh}（{code}）" if zh else code
            return f"{code} ({en})" if en else code

        sep = "、" if lang == "zh" else ", "
        if len(self.items) <= 12:
            return sep.join(one(*i) for i in self.items)
        families: dict[str, list[str]] = {}
        for code, zh, en in self.items:
            families.setdefault(code.split(".")[0], []).append(one(code, zh, en))
        return "".join("\n    " + sep.join(names) for names in families.values())

    def __str__(self) -> str:
        return self.render("en")

    def as_json(self) -> dict[str, Any]:
        return {"names": [list(i) for i in self.items]}


class Msgs:
    """Several messages in one sentence (the problems of a fix), joined by semicolons."""

    def __init__(self, items: Iterable[Msg]):
        self.items = tuple(items)

    def render(self, lang: str) -> str:
        return ("；" if lang == "zh" else "; ").join(m.render(lang) for m in self.items)

    def __str__(self) -> str:
        return self.render("en")


def msg(key: str, /, **params: Any) -> Msg:
    return Msg(key, params)


class UserError(ValueError):
    """Input or state the user can fix: ``str()`` in English, :meth:`text` in the run's language.

    ``exit_code`` is what the command line exits with (2: bad usage or input).
    """

    exit_code = 2

    def __init__(self, key: str, /, **params: Any):
        self.msg = Msg(key, params)
        super().__init__(str(self.msg))

    def text(self) -> str:
        return self.msg.text()
