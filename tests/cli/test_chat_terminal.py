"""`newsdesk chat` on a real terminal (a pseudo-terminal): line editing and history, Ctrl-C, Ctrl-D;
and the same chat reading piped lines. Through the real entry point, hashing encoder."""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.cli.helpers import NEWSDESK, Workspace
from tests.factories import REUTERS, REUTERS_TITLE

QUESTION = "What did Kerry want from the Moscow talks?"
UP = b"\x1b[A"
CTRL_C = b"\x03"
CTRL_D = b"\x04"
# Generous: each wait is for one reply of a local command on a shared machine.
WAIT = 60.0
# Terminal control sequences (readline's bracketed-paste mode, the bold of the best sentence).
CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture
def built(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path)
    ws.articles.mkdir()
    shutil.copy(REUTERS, ws.articles / REUTERS.name)
    (ws.articles / "bees.md").write_text(
        "---\ntitle: The life of honey bees\n---\n"
        "A honey bee colony has one queen and thousands of workers.\n",
        encoding="utf-8",
    )
    out = ws.run("index", "rebuild")
    assert out.returncode == 0, out.stderr
    return ws


@dataclass
class Terminal:
    """A child process on a pseudo-terminal that is its controlling terminal, so Ctrl-C typed
    into it is a SIGINT, as in a real one."""

    pid: int
    fd: int
    output: bytearray = field(default_factory=bytearray)
    status: int | None = None

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def read_until(self, done: Callable[[str], bool], timeout: float = WAIT) -> str:
        """Reads until `done(all output so far)`; fails with the output on a timeout or exit."""
        deadline = time.monotonic() + timeout
        while not done(self.text):
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"timed out; the terminal shows:\n{self.text}")
            ready, _, _ = select.select([self.fd], [], [], min(left, 1.0))
            if not ready:
                continue
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                chunk = b""
            if not chunk:
                pytest.fail(f"the chat ended early; the terminal shows:\n{self.text}")
            self.output += chunk
        return self.text

    def prompts(self) -> int:
        return self.text.count("\n? ")

    def wait_exit(self, timeout: float = WAIT) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with _ignore_eio():
                ready, _, _ = select.select([self.fd], [], [], 0.2)
                if ready:
                    self.output += os.read(self.fd, 4096)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = status
                return os.waitstatus_to_exitcode(status)
        pytest.fail(f"the chat did not exit; the terminal shows:\n{self.text}")

    @property
    def text(self) -> str:
        """What the terminal shows, without control sequences, line ends as `\n`."""
        shown = CONTROL.sub("", self.output.decode("utf-8", errors="replace"))
        return shown.replace("\r\n", "\n").replace("\r", "")


class _ignore_eio:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: object, tb: object) -> bool:
        return kind is not None and issubclass(kind, OSError)


@pytest.fixture
def terminal(built: Workspace, tmp_path: Path) -> Iterator[Callable[..., Terminal]]:
    started: list[Terminal] = []

    def start(*args: str) -> Terminal:
        env = built.env(XDG_STATE_HOME=str(tmp_path / "state"), TERM="xterm", INPUTRC="/dev/null")
        pid, fd = pty.fork()
        if pid == 0:  # the child: exec at once
            try:
                os.chdir(built.root)
                os.execve(NEWSDESK[0], [*NEWSDESK, *args], env)
            finally:
                os._exit(127)
        term = Terminal(pid, fd)
        started.append(term)
        return term

    yield start
    for term in started:
        if term.status is None:
            os.kill(term.pid, signal.SIGKILL)
            os.waitpid(term.pid, 0)
        os.close(term.fd)


def _answered(times: int) -> Callable[[str], bool]:
    """`times` answers shown (each starts with excerpt [1]), and the prompt back."""
    return lambda text: text.count("\n[1] ") >= times and text.endswith("\n? ")


def test_up_arrow_recalls_ctrl_c_cancels_ctrl_d_quits(
    terminal: Callable[..., Terminal], tmp_path: Path
) -> None:
    term = terminal("chat")
    term.read_until(lambda text: "newsdesk chat:" in text and text.endswith("\n? "))
    term.send(QUESTION.encode() + b"\r")
    term.read_until(_answered(1))

    # Up recalls the question (readline redraws it after the prompt); Enter asks it again.
    seen = len(term.text)
    term.send(UP)
    term.read_until(lambda text: QUESTION in text[seen:])
    term.send(b"\r")
    term.read_until(_answered(2))

    # Ctrl-C drops a half-typed line: it is never run, and a fresh prompt follows.
    prompts = term.prompts()
    term.send(b"/nonsense half typed")
    term.read_until(lambda text: "half typed" in text)
    term.send(CTRL_C)
    term.read_until(lambda _: term.prompts() > prompts)
    term.send(b"/status\r")
    term.read_until(lambda text: "Articles: 2" in text and text.endswith("\n? "))
    assert "Unknown command" not in term.text

    # Ctrl-D at an empty prompt leaves cleanly, and the history was kept for next time.
    term.send(CTRL_D)
    assert term.wait_exit() == 0
    assert "Traceback" not in term.text
    history = (tmp_path / "state" / "newsdesk" / "chat_history").read_text(encoding="utf-8")
    assert QUESTION in history and "/status" in history and "half typed" not in history


def test_history_from_an_earlier_chat_is_recalled(
    terminal: Callable[..., Terminal], tmp_path: Path
) -> None:
    first = terminal("chat")
    first.read_until(lambda text: text.endswith("\n? "))
    first.send(QUESTION.encode() + b"\r")
    first.read_until(_answered(1))
    first.send(b"/quit\r")
    assert first.wait_exit() == 0

    second = terminal("chat")
    second.read_until(lambda text: text.endswith("\n? "))
    seen = len(second.text)
    second.send(UP + UP)  # /quit, then the question
    second.read_until(lambda text: QUESTION in text[seen:])
    second.send(b"\r")
    second.read_until(_answered(1))
    second.send(CTRL_D)
    assert second.wait_exit() == 0


def test_piped_lines_with_k_and_mode(built: Workspace) -> None:
    script = f"{QUESTION}\n/remove\n/remove   \n"
    out = built.run("chat", "-k", "1", "--mode", "bm25", input=script)
    assert out.returncode == 0, out.stderr
    assert REUTERS_TITLE in out.stdout
    assert "[1]" in out.stdout and "[2]" not in out.stdout, out.stdout
    assert out.stdout.count("Usage: /remove ARTICLE_ID") == 2
    assert "newsdesk chat:" not in out.stdout  # no banner or prompt when not on a terminal
    every = built.run("chat", "-k", "2", input=f"{QUESTION}\n")
    assert "[2]" in every.stdout, every.stdout


def test_bad_mode_is_refused(built: Workspace) -> None:
    out = built.run("chat", "--mode", "fuzzy", input="")
    assert out.returncode == 2
    assert "fuzzy" in out.stderr
