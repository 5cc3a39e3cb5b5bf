"""The README stays true: every option of every command is documented there."""

from __future__ import annotations

from pathlib import Path

import typer

from lstmcli.cli import app

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _commands(group, prefix=()):
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):  # a group of subcommands
            yield from _commands(cmd, (*prefix, name))
        else:
            yield (*prefix, name), cmd


def test_every_option_is_in_the_readme():
    missing = []
    for path, cmd in _commands(typer.main.get_command(app)):
        for param in cmd.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--") and opt != "--help" and opt not in README:
                    missing.append(f"lstm {' '.join(path)} {opt}")
    assert not missing, missing


def test_the_two_setup_commands_are_there():
    assert ".venv/bin/pip install . && .venv/bin/lstm train" in README
    assert ".venv/bin/pip install '.[test]' && .venv/bin/ruff check . && .venv/bin/pytest" in README
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert ".venv/bin/pip install -q '.[test]' && .venv/bin/ruff check . && .venv/bin/pytest" in ci
