from __future__ import annotations

import os
from pathlib import Path

import pytest
from stockfeed_dbt_worker.manifest_key import fingerprint, manifest_key, parse_argv, watched_paths
from stockfeed_dbt_worker.protocol import Request

pytestmark = pytest.mark.unit

PROJECT = ["--project-dir", "/p", "--profiles-dir", "/p"]


@pytest.mark.parametrize(
    ("argv", "parse"),
    [
        (["build", "--selector", "minute_job", *PROJECT], ("parse", *PROJECT)),
        (["test", "--select", "tag:freshness", "--vars", "{a: 1}", *PROJECT], ("parse", "--vars", "{a: 1}", *PROJECT)),
        (["run", "--target=sf", "-t", "x", "--full-refresh"], ("parse", "--target", "sf", "--target", "x")),
        (["build", "--target-path", "/t", "--threads", "8"], ("parse", "--target-path", "/t")),
        (["build"], ("parse",)),
        (["build", "--select", "a", "b+", "--exclude", "c", "--full-refresh", "-x"], ("parse",)),
    ],
)  # fmt: skip
def test_commands_that_take_a_manifest_parse_with_their_parse_flags(argv: list[str], parse: tuple[str, ...]) -> None:
    assert parse_argv(argv) == parse


@pytest.mark.parametrize(
    "argv",
    [
        ["parse"],
        ["debug"],
        ["deps"],
        ["source", "freshness"],
        ["--debug", "build"],  # global flags first: run it as given, with dbt's own parse
        ["build", "--project-dir"],  # a flag without its value: dbt's parser reports it
        ["build", "--warn-error"],  # parse warnings become errors: a parse made without it would hide them
        ["build", "--no-partial-parse"],
        ["build", "--no-static-parser"],
        ["build", "stray"],  # a word no flag takes
        ["build", "--threads", "4", "stray"],
        [],
    ],
)
def test_other_commands_parse_for_themselves(argv: list[str]) -> None:
    assert parse_argv(argv) is None


def request(env: dict[str, str], cwd: str = "/work") -> Request:
    return Request(("build",), env, cwd)


def test_the_key_follows_dbt_variables_and_ignores_the_rest() -> None:
    base = manifest_key(request({"DBT_SCHEMA": "COMMON", "AIRFLOW_CTX_DAG_RUN_ID": "a"}), ("parse",), "files")
    same = manifest_key(request({"DBT_SCHEMA": "COMMON", "AIRFLOW_CTX_DAG_RUN_ID": "b"}), ("parse",), "files")
    assert base == same, "a per-run Airflow variable must not force a parse"
    assert base != manifest_key(request({"DBT_SCHEMA": "OTHER"}), ("parse",), "files")
    assert base != manifest_key(request({"DBT_SCHEMA": "COMMON", "FAKESNOW_PORT": "1"}), ("parse",), "files")
    assert base != manifest_key(request({"DBT_SCHEMA": "COMMON"}), ("parse", "--vars", "{}"), "files")
    assert base != manifest_key(request({"DBT_SCHEMA": "COMMON"}), ("parse",), "changed files")
    assert base != manifest_key(request({"DBT_SCHEMA": "COMMON"}, cwd="/elsewhere"), ("parse",), "files")


def test_the_key_never_holds_a_secret() -> None:
    key = manifest_key(request({"DBT_ENV_SECRET_SNOWFLAKE_PASSWORD": "hunter2"}), ("parse",), "files")
    assert "hunter2" not in key


def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "models").mkdir(parents=True)
    (root / "target").mkdir()
    (root / "logs").mkdir()
    (root / "dbt_project.yml").write_text("name: p\n")
    (root / "models" / "m.sql").write_text("select 1\n")
    (root / "profiles.yml").write_text("p: {}\n")
    return root


def test_a_changed_model_changes_the_fingerprint_and_dbt_outputs_do_not(tmp_path: Path) -> None:
    root = project(tmp_path)
    before = fingerprint([root])
    (root / "target" / "manifest.json").write_text("{}")
    (root / "logs" / "dbt.log").write_text("ran\n")
    assert fingerprint([root]) == before, "dbt's own outputs are not the project"
    model = root / "models" / "m.sql"
    model.write_text("select 2\n")
    os.utime(model, ns=(1, 1))
    assert fingerprint([root]) != before
    (root / "models" / "new.sql").write_text("select 3\n")
    after_new = fingerprint([root])
    (root / "models" / "new.sql").unlink()
    assert fingerprint([root]) != after_new


def test_profiles_are_watched_where_dbt_would_read_them(tmp_path: Path) -> None:
    root = project(tmp_path)
    flagged = watched_paths(Request(("build", "--project-dir", str(root), "--profiles-dir", str(root)), {}, "/w"))
    assert flagged == [root, root / "profiles.yml"]
    from_env = watched_paths(Request(("build",), {"DBT_PROJECT_DIR": str(root), "DBT_PROFILES_DIR": "/pr"}, "/w"))
    assert from_env == [root, Path("/pr/profiles.yml")]
    default = watched_paths(Request(("build",), {"HOME": "/home/u"}, str(root)))
    assert default == [root / ".", root / "profiles.yml", Path("/home/u/.dbt/profiles.yml")]
    before = fingerprint(flagged)
    (root / "profiles.yml").write_text("p: {changed: true}\n")
    assert fingerprint(flagged) != before
    assert fingerprint([tmp_path / "missing"]) == fingerprint([]), "a path that is not there is no error"


def test_the_last_project_dir_counts_as_for_dbt(tmp_path: Path) -> None:
    paths = watched_paths(Request(("build", "--project-dir", "/a", "--project-dir=/b"), {}, "/w"))
    assert paths[0] == Path("/b")


def test_dbtignore_is_watched(tmp_path: Path) -> None:
    root = project(tmp_path)
    before = fingerprint([root])
    (root / ".dbtignore").write_text("models/m.sql\n")
    assert fingerprint([root]) != before, ".dbtignore changes which files dbt parses"
