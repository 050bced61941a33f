"""The installs the README promises are reproducible: one lock, used everywhere."""

from __future__ import annotations

import re
import shlex
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "constraints.txt"
# The installer itself comes with the venv; pip-compile leaves it out of the lock on purpose.
INSTALLER = {"pip", "setuptools"}


def locked() -> dict[str, str]:
    """Distribution name → pinned version, from constraints.txt."""
    pins: dict[str, str] = {}
    for line in LOCK.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        pin = line.split(";", 1)[0]  # an environment marker, e.g. uvloop's not on Windows
        name, sep, version = pin.partition("==")
        assert sep, f"constraints.txt: {line!r} is not pinned with =="
        pins[canonicalize_name(name)] = version.strip()
    return pins


def readme_commands() -> list[str]:
    """The two commands the README starts with: the demo and the tests."""
    blocks = re.findall(r"```sh\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S)
    return blocks[:2]


def needed(extras: tuple[str, ...] = ("test",)) -> set[str]:
    """Every distribution smsbot needs with its test extra, found through installed metadata."""
    seen: set[str] = set()
    todo = [("smsbot", extras)]
    while todo:
        name, wanted = todo.pop()
        for text in distribution(name).requires or []:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker and not any(marker.evaluate({"extra": e}) for e in (*wanted, "")):
                continue
            key = canonicalize_name(requirement.name)
            if key not in seen and key not in INSTALLER:
                seen.add(key)
                todo.append((requirement.name, tuple(requirement.extras)))
    return seen


def test_the_readme_and_ci_install_from_the_lock():
    demo, tests = readme_commands()
    assert "pip install -c constraints.txt -e . " in demo + " "
    assert "pip install -c constraints.txt -e '.[test]'" in tests
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert shlex.split(ci) == shlex.split(tests), "CI must run exactly the README's test command"


def test_every_dependency_is_pinned_in_the_lock():
    missing = needed() - set(locked())
    assert not missing, f"not in constraints.txt (regenerate it, see README): {sorted(missing)}"
    assert "ruff" in locked()


def test_the_environment_was_installed_from_the_lock():
    pins = locked()
    drift = {}
    for name in needed():
        try:
            installed = distribution(name).version
        except PackageNotFoundError:
            drift[name] = "not installed"
            continue
        if installed != pins.get(name):
            drift[name] = f"{installed}, locked {pins.get(name)}"
    assert not drift, f"install with the README's command (pip install -c constraints.txt): {drift}"
