"""The README's code runs as written, and its quick-start commands match `.ci/run`."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _blocks(lang):
    return re.findall(rf"^```{lang}\n(.*?)^```", README, flags=re.S | re.M)


def test_readme_example_runs():
    blocks = _blocks("python")
    assert blocks, "README.md has no ```python example"
    namespace = {"__name__": "readme"}
    for code in blocks:
        exec(compile(code, "README.md", "exec"), namespace)  # the example asserts itself


def test_ci_runs_the_readme_commands():
    commands = [line for block in _blocks("bash") for line in block.splitlines()]
    commands = [c for c in commands if c.strip() and not c.startswith("#")]
    assert len(commands) == 2, f"README quick start should have two commands, got {commands}"
    test_command = commands[1].split("&&")
    install, run = test_command[1].strip(), test_command[2].strip()
    ci = (ROOT / ".ci" / "run").read_text()
    # .ci/run installs and tests with the README's commands (run from its own venv).
    assert install.replace(".venv/bin/", "") in ci
    assert run.replace(".venv/bin/", "") in ci
