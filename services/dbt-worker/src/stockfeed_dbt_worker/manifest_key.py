"""When a parsed project can be reused: which commands, which parse, and what must not have changed.

dbt parses the project (every model, macro and YAML file, rendered with the environment and `--vars`) before each
command; that is most of a cold start after the imports. The worker parses once and hands the manifest to every
command whose parse would come out the same: same parse-relevant flags, same DBT_*/FAKESNOW_* variables (the only
ones this project's files and profiles read: a test checks it) and no project file changed since. Anything else runs
with dbt's own parse (its partial parsing still applies).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from stockfeed_dbt_worker.protocol import Request

REUSING_COMMANDS = frozenset({"build", "run", "test"})
# flags that change what parsing produces; everything else (selection, --full-refresh, threads) is per command
PARSE_FLAGS = {
    "--project-dir": "--project-dir",
    "--profiles-dir": "--profiles-dir",
    "--profile": "--profile",
    "--target": "--target",
    "-t": "--target",
    "--vars": "--vars",
    "--target-path": "--target-path",
}
ENV_PREFIXES = ("DBT_", "FAKESNOW_")
SKIPPED_DIRS = frozenset({"target", "logs", "dbt_internal_packages", "__pycache__"})


def parse_argv(argv: Sequence[str]) -> tuple[str, ...] | None:
    """`dbt parse` with the command's parse-relevant flags; None when the command does not take a parsed manifest."""
    if not argv or argv[0] not in REUSING_COMMANDS:
        return None
    chosen: list[str] = []
    position = 1
    while position < len(argv):
        arg = argv[position]
        name, has_value, value = arg.partition("=")
        if name in PARSE_FLAGS:
            if not has_value:
                if position + 1 >= len(argv):
                    return None  # a flag without its value: let dbt's own parser say so
                value, position = argv[position + 1], position + 1
            chosen += [PARSE_FLAGS[name], value]
        position += 1
    return ("parse", *chosen)


def _flag(argv: Sequence[str], name: str) -> str | None:
    for position, arg in enumerate(argv):
        if arg == name and position + 1 < len(argv):
            return argv[position + 1]
        if arg.startswith(name + "="):
            return arg.partition("=")[2]
    return None


def watched_paths(request: Request) -> list[Path]:
    """The project directory (first) and every place dbt may read profiles.yml from, for this request."""
    cwd = Path(request.cwd)
    project = cwd / (_flag(request.argv, "--project-dir") or request.env.get("DBT_PROJECT_DIR") or ".")
    profiles = _flag(request.argv, "--profiles-dir") or request.env.get("DBT_PROFILES_DIR")
    candidates = [cwd / profiles] if profiles else [cwd, Path(request.env.get("HOME", "/nonexistent")) / ".dbt"]
    return [project, *(directory / "profiles.yml" for directory in candidates)]


def fingerprint(paths: Sequence[Path]) -> str:
    """A digest of every file's path, size and modification time under `paths` (dbt's outputs left out)."""
    digest = hashlib.sha256()
    for root in paths:
        files = [root] if root.is_file() else sorted(_project_files(root)) if root.is_dir() else []
        for file in files:
            try:
                stat = file.stat()
            except FileNotFoundError:  # removed while we looked: the next request sees the new state
                continue
            digest.update(f"{file}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _project_files(root: Path) -> list[Path]:
    found: list[Path] = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = [name for name in subdirs if name not in SKIPPED_DIRS and not name.startswith(".")]
        found += [Path(directory) / name for name in files if not name.startswith(".")]
    return found


def manifest_key(request: Request, parse: Sequence[str], files_digest: str) -> str:
    """Requests with equal keys would parse to the same manifest."""
    env = sorted((k, v) for k, v in request.env.items() if k.startswith(ENV_PREFIXES))
    material = repr((request.cwd, tuple(parse), env, files_digest)).encode()
    return hashlib.sha256(material).hexdigest()  # a digest: the key never holds a secret's value
