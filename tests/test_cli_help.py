"""`smsbot COMMAND --help` answers: what it reads, each default, each exit status."""

from __future__ import annotations

import argparse
import re
import socket
from pathlib import Path

import pytest

from bot.config import variable_names
from smsbot.parser import build_parser
from tests.cli import smsbot


def commands() -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_argument_of_every_command_has_help(name: str):
    parser = commands()[name]
    silent = [a.dest for a in parser._actions if not a.help or a.help == argparse.SUPPRESS]
    assert silent == [], f"smsbot {name}: arguments without help text: {silent}"


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_command_lists_its_exit_statuses(name: str):
    text = commands()[name].format_help()
    assert "exit status:" in text
    statuses = set(re.findall(r"^  (\d)  \S", text.split("exit status:")[1], re.M))
    assert {"0"} < statuses, text


async def test_serve_help_names_every_variable_and_the_env_file(tmp_path: Path):
    run = await smsbot(tmp_path, "serve", "--help")
    assert run.code == 0
    assert ".env" in run.stdout and ".env.example" in run.stdout
    missing = [name for name in variable_names() if name not in run.stdout.split()]
    assert missing == []


async def test_simulator_help_shows_its_defaults(tmp_path: Path):
    run = await smsbot(tmp_path, "simulator", "--help")
    assert run.code == 0
    text = " ".join(run.stdout.split())
    for default in ("127.0.0.1", "9118", "10002", "abc123", "2.0", "100.00"):
        assert f"(default: {default})" in text
    assert "fail with UNDELIV; repeatable (default: 9)" in text
    assert "(default: None)" not in text


@pytest.mark.parametrize("name", ["balance", "status", "send", "audit"])
async def test_terminal_command_help_says_which_settings_it_reads(tmp_path: Path, name: str):
    run = await smsbot(tmp_path, name, "--help")
    text = " ".join(run.stdout.split())
    assert "Reads " in text and ".env" in text
    if name == "audit":
        assert "Reads DATABASE_PATH, DATABASE_URL." in text and "SMS_API_URL" not in text
    else:
        assert "SMS_API_URL" in text and "PORT" not in text.split()


async def test_the_simulator_on_a_port_in_use_is_one_line_and_exit_2(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = await smsbot(tmp_path, "simulator", "--port", str(port))
    assert run.code == 2
    assert run.problems == [
        f"smsbot: --host 127.0.0.1 --port {port}: the port is in use by another program; "
        "stop it or set another --port"
    ]
