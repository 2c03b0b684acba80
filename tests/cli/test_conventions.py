"""The CLI's conventions, through the real entry point: global options anywhere, `--json`,
`-` for standard input, a `remove` that asks, `doctor`, fast and absolute errors, short help."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli.helpers import NEWSDESK, Workspace
from tests.factories import REUTERS, REUTERS_TITLE

KERRY = "What did Kerry want from the Moscow talks?"
BEES = (
    "---\ntitle: The life of honey bees\n---\n"
    "A honey bee colony has one queen and thousands of workers. "
    "The queen lays up to two thousand eggs a day in spring.\n"
)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path)
    workspace.articles.mkdir()
    shutil.copy(REUTERS, workspace.articles / REUTERS.name)
    (workspace.articles / "bees.md").write_text(BEES, encoding="utf-8")
    return workspace


@pytest.fixture
def built(ws: Workspace) -> Workspace:
    out = ws.run("index", "rebuild")
    assert out.returncode == 0, out.stderr
    return ws


def _json(out: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert isinstance(data, dict)
    return data


# -- 1. global options before and after the subcommand ---------------------------------------


def test_global_options_work_after_the_subcommand(built: Workspace, tmp_path: Path) -> None:
    other = tmp_path / "other-index"
    rebuilt = built.run("index", "rebuild", "--index-dir", str(other), "-v")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "INFO" in rebuilt.stderr  # -v after the subcommand raised the log level
    assert _json(built.run("index", "status", "--json", "--index-dir", str(other)))["path"] == (
        str(other)
    )
    # Before the subcommand, as always; the later one wins.
    before = _json(built.run("--index-dir", str(other), "index", "status", "--json"))
    assert before["path"] == str(other)
    later = built.run(
        "--index-dir", str(tmp_path / "none"), "ask", KERRY, "--index-dir", str(other)
    )
    assert later.returncode == 0, later.stderr
    assert REUTERS_TITLE in later.stdout
    # --articles-dir after the subcommand
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "bees.md").write_text(BEES, encoding="utf-8")
    synced = built.run("index", "rebuild", "--json", "--articles-dir", str(elsewhere))
    assert _json(synced)["removed"] == ["kerry-seeks-real-progress-on-syria"]


def test_after_a_double_dash_they_are_arguments(built: Workspace) -> None:
    data = _json(built.run("ask", "--json", "--no-abstain", "--", "--index-dir"))
    assert data["question"] == "--index-dir"


def test_global_options_after_a_feeds_subcommand(built: Workspace, tmp_path: Path) -> None:
    out = built.run("feeds", "list", "--json", "--index-dir", str(tmp_path / "x"), "-vv")
    assert _json(out) == {"feeds": []}


def test_the_model_option_after_the_subcommand(built: Workspace) -> None:
    out = built.run("index", "rebuild", "--json", "--model", "hashing:64")
    assert out.returncode == 0, out.stderr
    assert "rebuilding it in full" in out.stderr  # another model: the index is rebuilt
    assert _json(built.run("index", "status", "--json"))["dimension"] == 64


# -- 2. --json --------------------------------------------------------------------------------


def test_rebuild_json(ws: Workspace) -> None:
    data = _json(ws.run("index", "rebuild", "--json"))
    assert sorted(data) == sorted(
        [
            "full",
            "added",
            "changed",
            "removed",
            "unchanged",
            "duplicates",
            "skipped",
            "chunks_encoded",
            "sentences_encoded",
            "seconds",
            "articles",
            "chunks",
        ]
    )
    assert data["added"] == ["bees", "kerry-seeks-real-progress-on-syria"]
    assert (data["full"], data["articles"]) == (False, 2)
    again = _json(ws.run("index", "rebuild", "--json", "--full"))
    assert (again["full"], again["changed"], again["unchanged"]) == (True, data["added"], 0)


# -- 3. `-` reads standard input --------------------------------------------------------------


def test_ask_dash_reads_the_question_from_stdin(built: Workspace) -> None:
    data = _json(built.run("ask", "-", "--json", input=KERRY + "\n"))
    assert data["question"] == KERRY
    assert data["hits"][0]["title"] == REUTERS_TITLE  # type: ignore[index]


def test_add_dash_reads_the_article_from_stdin(built: Workspace) -> None:
    text = "Otters crack shellfish open with stones they keep in a pouch of skin.\n"
    data = _json(built.run("add", "-", "--title", "Otters use tools", "--json", input=text))
    assert data["articles"] == [
        {"id": "otters-use-tools", "title": "Otters use tools", "status": "added", "same_as": None}
    ]
    assert (built.articles / "otters-use-tools.md").is_file()  # kept in the articles folder
    answer = _json(built.run("ask", "What do otters crack shellfish with?", "--json"))
    assert answer["hits"][0]["title"] == "Otters use tools"  # type: ignore[index]
    mixed = built.run("add", "-", "notes.md", input=text)
    assert mixed.returncode == 2 and "must be the only source" in mixed.stderr
    empty = built.run("add", "-", input="  \n")
    assert empty.returncode == 1 and "error: the text is empty" in empty.stderr


# -- 4. remove --------------------------------------------------------------------------------


def test_remove_without_a_terminal_needs_yes(built: Workspace) -> None:
    refused = built.run("remove", "bees", input="y\n")
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        f"error: this deletes 1 file from {built.articles}; add --yes to confirm "
        "(standard input is not a terminal to ask on)"
    )
    assert (built.articles / "bees.md").is_file()
    data = _json(built.run("remove", "bees", "kerry-seeks-real-progress-on-syria", "-y", "--json"))
    assert data == {
        "removed": [
            {"id": "bees", "title": "The life of honey bees", "path": "bees.md"},
            {
                "id": "kerry-seeks-real-progress-on-syria",
                "title": REUTERS_TITLE,
                "path": REUTERS.name,
            },
        ]
    }
    assert list(built.articles.iterdir()) == []


def test_remove_checks_every_id_first(built: Workspace) -> None:
    out = built.run("remove", "bees", "nothing-here", "--yes")
    assert out.returncode == 1
    assert "error: no article with id 'nothing-here'" in out.stderr
    assert (built.articles / "bees.md").is_file()  # nothing was removed


def test_remove_given_a_path_suggests_the_id(built: Workspace) -> None:
    for given in ("articles/bees.md", str(built.articles / "bees.md"), "bees.md"):
        out = built.run("remove", given, "--yes")
        assert out.returncode == 1
        assert out.stderr.strip().endswith("did you mean: newsdesk remove bees"), out.stderr
    assert (built.articles / "bees.md").is_file()


def _on_a_terminal(ws: Workspace, *args: str, answer: str) -> tuple[int, str]:
    """Runs the command with a pseudo-terminal as standard input and types `answer`."""
    pty = pytest.importorskip("pty")
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(
            [*NEWSDESK, *args],
            cwd=ws.root,
            env=ws.env(),
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.write(leader, answer.encode())
        _, stderr = process.communicate(timeout=120)
    finally:
        os.close(follower)
        os.close(leader)
    return process.returncode, stderr


def test_remove_asks_on_a_terminal(built: Workspace) -> None:
    code, stderr = _on_a_terminal(built, "remove", "bees", answer="n\n")
    assert code == 1 and "Nothing removed." in stderr
    assert f"Delete 1 file from {built.articles}? [y/N]" in stderr
    assert "bees.md: bees (The life of honey bees)" in stderr
    assert (built.articles / "bees.md").is_file()
    code, stderr = _on_a_terminal(built, "remove", "bees", answer="y\n")
    assert code == 0, stderr
    assert not (built.articles / "bees.md").exists()


# -- 5. doctor --------------------------------------------------------------------------------


def test_doctor_on_a_healthy_index(built: Workspace) -> None:
    out = built.run("doctor")
    assert out.returncode == 0, out.stderr
    assert f"Articles:    {built.articles} (2 article files)" in out.stdout
    assert out.stdout.strip().endswith("All good.")
    data = _json(built.run("doctor", "--json"))
    assert data["ok"] is True and data["problems"] == []
    assert data["settings"] == {
        "articles_dir": str(built.articles),
        "index_dir": str(built.index),
        "model_cache_dir": str(built.index / "models"),
        "model": "hashing",
        "embedding_backend": "hashing",
    }
    index = data["index"]
    assert isinstance(index, dict)
    assert (index["exists"], index["manifest_matches"], index["articles"]) == (True, True, 2)
    assert data["articles"] == {
        "exists": True,
        "files": 2,
        "in_sync": True,
        "new": [],
        "changed": [],
        "missing": [],
        "not_indexed": [],
    }


def test_doctor_names_each_problem_and_its_fix(built: Workspace) -> None:
    (built.articles / "new.md").write_text("# New\n\nA new story about otters.\n")
    (built.articles / "bees.md").unlink()
    out = built.run("doctor")
    assert out.returncode == 1
    assert (
        f"the index is behind {built.articles}: 1 new files not indexed (new.md); "
        "1 indexed files no longer in the folder (bees.md); run `newsdesk index rebuild`"
    ) in out.stdout
    assert built.run("index", "rebuild").returncode == 0
    assert built.run("doctor").returncode == 0
    mismatched = built.run("doctor", "--json", "--model", "hashing:64")
    assert mismatched.returncode == 1
    other = json.loads(mismatched.stdout)
    assert other["ok"] is False
    assert other["problems"] == [
        {
            "problem": "the index was built with other settings: "
            "model 'hashing:256' (now 'hashing:64'), dimension '256' (now '64')",
            "fix": "newsdesk index rebuild",
        }
    ]


def test_doctor_without_an_index_loads_no_model(ws: Workspace) -> None:
    """The packaged model on onnx-int8: doctor reports the missing export, never makes it."""
    out = ws.run("doctor", "--json", NEWSDESK_MODEL="packaged:all-MiniLM-L6-v2")
    assert out.returncode == 1
    data = json.loads(out.stdout)
    assert data["problems"] == [
        {"problem": f"no index in {ws.index}", "fix": "newsdesk index rebuild"}
    ]
    assert data["model_cache"]["exported"] is False
    assert data["notes"][0]["fix"] == "newsdesk model export"
    assert not ws.index.exists()  # nothing exported, nothing built


# -- 6. ask with no index --------------------------------------------------------------------


def test_ask_with_no_index_fails_before_loading_the_model(ws: Workspace) -> None:
    """With the real model: it would first export it (18 s, 109 MB) into the index folder."""
    for command in (("ask", KERRY), ("sources",), ("remove", "bees", "--yes")):
        out = ws.run(*command, NEWSDESK_MODEL="packaged:all-MiniLM-L6-v2")
        assert out.returncode == 3
        assert out.stderr.strip() == (
            f"error: no index in {ws.index}; run `newsdesk index rebuild`"
        )
    assert not ws.index.exists()


def test_errors_show_absolute_paths(ws: Workspace) -> None:
    out = ws.run("ask", KERRY, NEWSDESK_INDEX_DIR="relative-index")
    assert out.stderr.strip() == (
        f"error: no index in {ws.root / 'relative-index'}; run `newsdesk index rebuild`"
    )


# -- 7. help ----------------------------------------------------------------------------------


def _commands(help_text: str) -> list[str]:
    section = help_text.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    return section.splitlines()


@pytest.mark.parametrize("group", [[], ["index"], ["model"], ["feeds"]])
def test_help_lists_commands_on_one_untruncated_line_each(ws: Workspace, group: list[str]) -> None:
    out = ws.run(*group, "--help")
    assert out.returncode == 0, out.stderr
    lines = _commands(out.stdout)
    assert len(lines) >= 2 if group != ["model"] else len(lines) == 1
    for line in lines:
        assert re.fullmatch(r"  [a-z-]+ +\S.*[.)]", line), line  # one line, a whole sentence
        assert not line.endswith("..."), line
        name = line.split()[0]
        sub = ws.run(*group, name, "--help")
        assert "Examples:" in sub.stdout, (group, name)
