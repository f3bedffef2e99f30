"""Running the command line in one language: help pages, usage errors, the exit code.

Typer builds the commands from :mod:`mobile_stub.cli`, whose help texts are keys of the
message table. Before a run, :func:`run` picks the language (``--lang``, else the locale),
replaces every help key by its text, gives each command a help formatter whose headings
("Usage", "Options", "[default: …]"...) come from the same table, and turns Click's usage
errors into one translated line and a hint, exit code 2. Nothing here uses gettext: the table
is :data:`mobile_stub.messages.MESSAGES`.
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import typer

from mobile_stub.i18n import has, language_from_env, set_language, split_lang, t

PROG = "wasteflow-mobile"


def _base(name: str) -> type[Exception]:
    """A Click exception class, found from one Typer exports (Typer vendors Click in newer
    versions and imports it in older ones)."""
    for cls in typer.BadParameter.__mro__:
        if cls.__name__ == name:
            return cls
    raise LookupError(name)  # pragma: no cover - every Click has both


ClickException = _base("ClickException")
UsageError = _base("UsageError")
_EXTRA = re.compile(r"\s*\[([^\[\]]+)\]\s*$")


def _help_text(text: str) -> str:
    """A help line with Click's bracketed extras ([default: x; required]) translated."""
    if text == "Show this message and exit.":
        return t("help.help_option")
    found = _EXTRA.search(text)
    if not found:
        return text
    parts = []
    for part in found.group(1).split("; "):
        name, sep, value = part.partition(": ")
        key = f"help.extra.{name.strip().replace(' ', '_')}"
        if not has(key):
            parts.append(part)
        elif sep:
            parts.append(t(key, value=value))
        else:
            parts.append(t(key))
    return f"{text[: found.start()]}  [{'; '.join(parts)}]"


def _localised_context(base: type[Any]) -> type[Any]:
    formatter_base = base.formatter_class

    class Formatter(formatter_base):  # type: ignore[misc, valid-type]
        def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
            super().write_usage(prog, args, prefix=t("help.usage"))

        def write_heading(self, heading: str) -> None:
            key = f"help.heading.{heading.lower()}"
            self.write(f"{'':>{self.current_indent}}{t(key) if has(key) else heading}")
            self.write(t("help.colon") + "\n")

        def write_dl(self, rows: Sequence[tuple[str, str]], *args: Any, **kw: Any) -> None:
            super().write_dl([(term, _help_text(text)) for term, text in rows], *args, **kw)

    class Context(base):  # type: ignore[misc, valid-type]
        formatter_class = Formatter

    return Context


def _commands(command: Any) -> Iterator[Any]:
    yield command
    for sub in getattr(command, "commands", {}).values():
        yield from _commands(sub)


def localise(command: Any) -> Any:
    """Replace the help keys of a Click command tree by their text in the run's language."""
    for cmd in _commands(command):
        for attr in ("help", "short_help"):
            value = getattr(cmd, attr, None)
            if value and has(value):
                setattr(cmd, attr, t(value))
        for param in cmd.params:
            value = getattr(param, "help", None)
            if value and has(value):
                param.help = t(value)
        cmd.context_class = _localised_context(cmd.context_class)
    return command


def _param_name(param: Any) -> str:
    opts = getattr(param, "opts", None) or []
    longest = max(opts, key=len) if opts else None
    if longest and longest.startswith("-"):
        return str(longest)
    return str(getattr(param, "human_readable_name", None) or param.name).upper()


def _usage_message(exc: Any) -> str:
    """One line for a Click usage error, in the run's language."""
    kind = type(exc).__name__
    param = getattr(exc, "param", None)
    if kind == "MissingParameter" and param is not None:
        return t("usage.missing", name=_param_name(param))
    if kind == "NoSuchOption":
        name = getattr(exc, "option_name", "?")
        close = getattr(exc, "possibilities", None) or []
        if close:
            return t("usage.no_such_option_close", name=name, close=", ".join(sorted(close)))
        return t("usage.no_such_option", name=name)
    if kind == "BadOptionUsage" and "requires an argument" in exc.message:
        return t("usage.needs_value", name=getattr(exc, "option_name", "?"))
    if kind == "BadParameter" and param is not None:
        wanted = {"int": "integer", "integer": "integer", "float": "float"}
        type_name = wanted.get(str(getattr(param.type, "name", "")))
        if type_name:
            return t(f"usage.want_{type_name}", name=_param_name(param))
        return t("usage.bad_value", name=_param_name(param), detail=exc.message)
    found = re.match(r"No such command '([^']+)'", exc.message)
    if found:
        ctx = getattr(exc, "ctx", None)
        commands = sorted(getattr(ctx.command, "commands", {})) if ctx else []
        close = difflib.get_close_matches(found.group(1), commands, n=1)
        if close:
            return t("usage.no_such_command_close", name=found.group(1), close=close[0])
        return t("usage.no_such_command", name=found.group(1), commands=", ".join(commands))
    if "Got unexpected extra argument" in exc.message:
        return t("usage.extra_argument", detail=exc.message.split("(", 1)[-1].rstrip(")"))
    return t("usage.other", detail=exc.format_message())


def run(app: typer.Typer, argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: this process's) and return its exit code."""
    lang, args = split_lang(list(sys.argv[1:] if argv is None else argv))
    set_language(lang or language_from_env())
    command = localise(typer.main.get_command(app))
    try:
        result = command.main(args=args, prog_name=PROG, standalone_mode=False)
    except UsageError as exc:
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            typer.echo(ctx.get_help())
            return 0
        typer.secho(t("error", message=_usage_message(exc)), fg=typer.colors.RED, err=True)
        path = ctx.command_path if ctx is not None else PROG
        typer.echo(t("usage.hint", command=f"{path} --help"), err=True)
        return 2
    except ClickException as exc:
        typer.secho(t("error", message=exc.format_message()), fg=typer.colors.RED, err=True)  # type: ignore[attr-defined]
        return int(getattr(exc, "exit_code", 1))
    except typer.Abort:
        typer.secho(t("aborted"), fg=typer.colors.RED, err=True)
        return 1
    return result if isinstance(result, int) else 0
