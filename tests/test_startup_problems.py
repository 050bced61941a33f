"""`smsbot serve` that cannot start says why in one line, exit code 2, no traceback.

Each problem is made real (a port taken by a listening socket, a directory, a text file,
a path in a directory that does not exist, a database held by another process) and the
command is run as a subprocess, as an operator would run it. The bot's other settings are
valid and point at closed loopback ports, so no run reaches the network.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage import Store
from tests.cli import Run, smsbot


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another program is listening on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def serve_env(database: Path, port: int = 0) -> dict[str, str]:
    nowhere = f"http://127.0.0.1:{closed_port()}"
    return {
        "SLACK_BOT_TOKEN": "xoxb-startup-test",
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": nowhere + "/api/",
        "SMS_API_URL": nowhere,
        "SMS_APP_KEY": "10002",
        "SMS_APP_SECRET": "abc123",
        "DATABASE_PATH": str(database),
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }


def names_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def one_problem(run: Run) -> str:
    """The single `smsbot:` line of a refused start; other lines may only be log lines."""
    assert run.code == 2, run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    said = [line for line in run.problems if line.startswith("smsbot: ")]
    assert len(said) == 1, run.stderr
    return said[0]


async def test_a_port_in_use_is_one_line_naming_the_port(tmp_path: Path, taken_port: int) -> None:
    run = await smsbot(tmp_path, "serve", env=serve_env(tmp_path / "bot.db", taken_port))
    line = one_problem(run)
    assert f"PORT={taken_port}" in line and "in use" in line


@pytest.mark.sqlite_only("a DATABASE_PATH that is a directory; PostgreSQL has no file")
async def test_a_database_path_that_is_a_directory_is_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    run = await smsbot(tmp_path, "serve", env=serve_env(folder))
    assert run.problems == [one_problem(run)]
    assert f"DATABASE_PATH={folder} is a directory" in run.problems[0]
    assert names_in(tmp_path) == ["data"], "nothing created beside it"


@pytest.mark.sqlite_only("a DATABASE_PATH that is not an SQLite file; PostgreSQL has no file")
async def test_a_database_path_that_is_not_sqlite_is_one_line_and_left_untouched(
    tmp_path: Path,
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping: milk, eggs\n")
    run = await smsbot(tmp_path, "serve", env=serve_env(notes))
    assert run.problems == [one_problem(run)]
    assert f"DATABASE_PATH={notes} is not an SQLite database" in run.problems[0]
    assert notes.read_text() == "shopping: milk, eggs\n"
    assert names_in(tmp_path) == ["notes.txt"]


@pytest.mark.sqlite_only("a DATABASE_PATH in a missing directory; PostgreSQL has no file")
async def test_a_database_in_a_missing_directory_is_one_line_and_no_tree_is_made(
    tmp_path: Path,
) -> None:
    database = tmp_path / "var" / "lib" / "smsbot" / "smsbot.db"
    run = await smsbot(tmp_path, "serve", env=serve_env(database))
    assert run.problems == [one_problem(run)]
    assert f"the directory {database.parent} does not exist" in run.problems[0]
    assert not (tmp_path / "var").exists()


@pytest.mark.sqlite_only("the SQLite file's one-process lock; PostgreSQL is shared by replicas")
async def test_a_database_held_by_another_process_is_one_line(tmp_path: Path) -> None:
    database = tmp_path / "bot.db"
    holder = Store(database, lambda: datetime.now(UTC))
    await holder.open()
    try:
        run = await smsbot(tmp_path, "serve", env=serve_env(database))
    finally:
        await holder.close()
    assert run.problems == [one_problem(run)]
    assert "in use by another smsbot" in run.problems[0]
