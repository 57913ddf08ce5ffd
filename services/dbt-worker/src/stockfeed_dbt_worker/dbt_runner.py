"""dbt's programmatic runner behind the worker's two operations: parse once, run a command with that manifest."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from stockfeed_dbt_worker.protocol import EXIT_ERROR, EXIT_FAILED, EXIT_OK, Request


class DbtRunner:
    def __init__(self) -> None:
        from dbt.cli.main import dbtRunner  # the import the worker exists to pay once (~1.3 s)

        self._runner_class = dbtRunner

    def parse(self, parse_argv: Sequence[str]) -> Any | None:
        """The parsed project (a dbt Manifest), or None when it does not parse: the command then reports why."""
        # Without dbt's static parser: it is a native library that starts threads of its own, and a child forked
        # after that (one that parses for itself: a changed project, another command) would wait for them forever.
        result = self._runner_class().invoke([*parse_argv, "--quiet", "--no-static-parser"])
        return result.result if result.success else None

    def invoke(self, request: Request, manifest: Any | None) -> int:
        """Run the command, as the `dbt` CLI would exit: 0 success, 1 it ran and failed, 2 it could not run."""
        result = self._runner_class(manifest=manifest).invoke(list(request.argv))
        if result.success:
            return EXIT_OK
        if result.exception is not None:  # e.g. an unknown option: the CLI would have printed it
            print(f"dbt could not run `dbt {' '.join(request.argv)}`: {result.exception}", file=sys.stderr)
            return EXIT_ERROR
        return EXIT_FAILED
