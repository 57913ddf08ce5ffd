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
# flags that change what parsing produces: passed on to the parse, part of the key
PARSE_FLAGS = {
    "--project-dir": "--project-dir",
    "--profiles-dir": "--profiles-dir",
    "--profile": "--profile",
    "--target": "--target",
    "-t": "--target",
    "--vars": "--vars",
    "--target-path": "--target-path",
}
# flags known to act on the command only (what to select, how to run, where to log); any other flag (--warn-error,
# --no-partial-parse, parser switches, ...) may change the parse: such a command parses for itself
COMMAND_VALUE_FLAGS = frozenset({"--selector", "--threads", "--log-path", "--indirect-selection"})
COMMAND_MULTI_VALUE_FLAGS = frozenset({"--select", "-s", "--exclude", "--resource-type", "--resource-types",
                                       "--exclude-resource-type", "--exclude-resource-types"})  # fmt: skip
COMMAND_SWITCHES = frozenset({"--full-refresh", "-f", "--fail-fast", "-x", "--no-fail-fast", "--store-failures",
                              "--quiet", "-q"})  # fmt: skip
ENV_PREFIXES = ("DBT_", "FAKESNOW_")
SKIPPED_DIRS = frozenset({"target", "logs", "dbt_internal_packages", "__pycache__"})
WATCHED_HIDDEN_FILES = frozenset({".dbtignore"})  # changes which files dbt parses


def parse_argv(argv: Sequence[str]) -> tuple[str, ...] | None:
    """`dbt parse` with the command's parse flags; None when the command cannot take a manifest parsed ahead: not a
    build/run/test, or a flag that is not known to leave parsing alone."""
    if not argv or argv[0] not in REUSING_COMMANDS:
        return None
    chosen: list[str] = []
    position, in_values = 1, False
    while position < len(argv):
        arg = argv[position]
        name, has_value, value = arg.partition("=")
        if not arg.startswith("-"):
            if not in_values:
                return None  # a word no flag of ours takes: let dbt's own parser judge the command
        elif name in PARSE_FLAGS or name in COMMAND_VALUE_FLAGS:
            if not has_value:
                if position + 1 >= len(argv):
                    return None  # a flag without its value: let dbt's own parser say so
                value, position = argv[position + 1], position + 1
            if name in PARSE_FLAGS:
                chosen += [PARSE_FLAGS[name], value]
            in_values = False
        elif name in COMMAND_MULTI_VALUE_FLAGS:
            in_values = True  # --select a b c
        elif arg in COMMAND_SWITCHES:
            in_values = False
        else:
            return None
        position += 1
    return ("parse", *chosen)


def _flag(argv: Sequence[str], name: str) -> str | None:
    """The flag's last value, as dbt's command line parser takes it."""
    found = None
    for position, arg in enumerate(argv):
        if arg == name and position + 1 < len(argv):
            found = argv[position + 1]
        elif arg.startswith(name + "="):
            found = arg.partition("=")[2]
    return found


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
    for directory, subdirs, files in os.walk(root, followlinks=True):
        subdirs[:] = [name for name in subdirs if name not in SKIPPED_DIRS and not name.startswith(".")]
        found += [Path(directory) / name for name in files
                  if not name.startswith(".") or name in WATCHED_HIDDEN_FILES]  # fmt: skip
    return found


def manifest_key(request: Request, parse: Sequence[str], files_digest: str) -> str:
    """Requests with equal keys would parse to the same manifest."""
    env = sorted((k, v) for k, v in request.env.items() if k.startswith(ENV_PREFIXES))
    material = repr((request.cwd, tuple(parse), env, files_digest)).encode()
    return hashlib.sha256(material).hexdigest()  # a digest: the key never holds a secret's value
