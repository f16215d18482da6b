"""The Docker image as a newcomer meets it (issue 12): no daemon or base image is reachable here, so
what the files promise is checked as text; what `docker run` without a token prints is
tests/test_cli.py's test of plain `socialbot` without a terminal or a token."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def instructions(name: str) -> list[str]:
    return [line.split(None, 1)[1].strip() for line in DOCKERFILE.splitlines() if line.upper().startswith(name + " ")]


def test_the_image_runs_as_a_numeric_non_root_user():
    user = instructions("USER")[-1]
    assert re.fullmatch(r"[1-9]\d*", user), user  # runAsNonRoot can check a number, not a name
    assert f"--uid {user}" in DOCKERFILE  # and that number is the user made for it, owning /data


def test_the_build_context_leaves_out_the_venv_the_history_and_databases():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".venv/", ".git/", "*.db"} <= ignored


def test_every_package_is_copied_and_socialbot_is_the_entrypoint():
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]
    copied = {part.split()[0] for part in instructions("COPY")}
    assert {p.rstrip("*") for p in packages["find"]["include"]} <= copied
    assert instructions("ENTRYPOINT") == ['["socialbot"]']
