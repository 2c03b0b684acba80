"""The error tree (retrieval/errors.py): every error a user can meet is a NewsdeskError with its
own one-line message, its fix names a real command, its exit code follows its family, and no
code raises the bare root class."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import click
import pytest

import bot.discord_app.errors as bot_errors
import retrieval.errors as errors
from bot.cli.app import cli
from tests.factories import REPO

pytestmark = pytest.mark.timeout(30)


def _classes() -> list[type[BaseException]]:
    found = {}
    for module in (errors, bot_errors):
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, BaseException) and name[0] != "_":
                found[name] = value
    return list(found.values())


ERROR_CLASSES = _classes()


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_every_error_is_a_newsdesk_error_with_a_one_line_message(
    cls: type[errors.NewsdeskError],
) -> None:
    assert issubclass(cls, errors.NewsdeskError)
    assert cls.message.strip() and "\n" not in cls.message
    assert cls.__doc__ and cls.__doc__.strip()
    if cls is not errors.NewsdeskError:
        assert cls.message != errors.NewsdeskError.message, "give it its own message"


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_the_docstring_draws_every_error(cls: type[errors.NewsdeskError]) -> None:
    assert cls.__name__ in (errors.__doc__ or "")


def test_the_drawn_tree_is_the_class_tree() -> None:
    """Each class in the drawing is indented four spaces under its base class."""
    drawn: dict[str, str | None] = {}
    stack: list[str] = []
    for line in (errors.__doc__ or "").splitlines():
        name = line.split()[0] if line.startswith("    ") else ""
        if not isinstance(getattr(errors, name, None), type):
            continue
        depth = (len(line) - len(line.lstrip()) - 4) // 4
        del stack[depth:]
        drawn[name] = stack[-1] if stack else None
        stack.append(name)
    actual = {
        c.__name__: None if c is errors.NewsdeskError else c.__bases__[0].__name__
        for c in ERROR_CLASSES
        if c.__module__ == errors.__name__
    }
    assert drawn == actual


def test_no_index_and_no_such_article_are_different_errors() -> None:
    assert not issubclass(errors.IndexMissingError, errors.ArticleNotFoundError)
    assert not issubclass(errors.ArticleNotFoundError, errors.IndexMissingError)
    assert errors.IndexMissingError.fix != errors.ArticleNotFoundError.fix


def _names_a_command(fix: str) -> bool:
    """`newsdesk index rebuild --full`: each word a subcommand of the one before, then
    options that command has."""
    program, *words = fix.split()
    assert program == "newsdesk"
    command: click.Command = cli
    ctx = click.Context(cli)
    while words and not words[0].startswith("-"):
        if not isinstance(command, click.Group):
            return False
        found = command.get_command(ctx, words.pop(0))
        if found is None:
            return False
        command = found
    options = {opt for param in command.params for opt in param.opts}
    return not isinstance(command, click.Group) and all(w in options for w in words)


@pytest.mark.parametrize(
    "cls",
    [c for c in ERROR_CLASSES if getattr(c, "fix", None) is not None],
    ids=lambda c: c.__name__,
)
def test_each_fix_names_a_real_command_and_is_shown(cls: type[errors.NewsdeskError]) -> None:
    assert cls.fix is not None and _names_a_command(cls.fix), cls.fix
    assert str(cls("it broke")) == f"it broke; run `{cls.fix}`"


def test_the_check_of_commands_rejects_made_up_ones() -> None:
    assert not _names_a_command("newsdesk index rebuild --fast")
    assert not _names_a_command("newsdesk reindex")
    assert not _names_a_command("newsdesk index")


def test_fixes_where_one_command_does_it() -> None:
    assert errors.IndexMissingError.fix == "newsdesk index rebuild"
    assert errors.IndexMismatchError.fix == errors.IndexCorruptError.fix
    assert errors.IndexCorruptError.fix == "newsdesk index rebuild --full"
    assert errors.ArticleNotFoundError.fix == "newsdesk sources"
    assert bot_errors.AmbiguousArticleError.fix is None  # on Discord: "see /sources"


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_exit_codes_follow_the_families(cls: type[errors.NewsdeskError]) -> None:
    if issubclass(cls, errors.IndexBusyError):
        expected = 75
    elif issubclass(cls, errors.IndexStateError):
        expected = 3
    elif issubclass(cls, errors.UsageError):
        expected = 2
    else:
        expected = 1
    assert cls.exit_code == expected


def test_a_message_given_at_the_raise_replaces_the_class_one() -> None:
    assert str(errors.BadArticleError()) == errors.BadArticleError.message
    assert str(errors.BadArticleError("x.md is empty")) == "x.md is empty"
    too_long = errors.QuestionTooLongError(300)
    assert str(too_long) == "Please keep questions under 300 characters." and too_long.limit == 300
    mismatch = errors.IndexMismatchError("built with model 'a'", "model 'a' (now 'b')")
    assert mismatch.differences == "model 'a' (now 'b')"
    assert str(mismatch) == "built with model 'a'; run `newsdesk index rebuild --full`"


def _source_files() -> list[Path]:
    return sorted(p for folder in ("retrieval", "bot") for p in (REPO / folder).rglob("*.py"))


def test_nothing_raises_the_bare_root_class() -> None:
    """Each raise names what went wrong (a subclass), so its family decides message, fix and
    exit code."""
    bare = []
    for path in _source_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name | ast.Attribute)
                and getattr(node.func, "id", getattr(node.func, "attr", "")) == "NewsdeskError"
            ):
                bare.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert bare == []
