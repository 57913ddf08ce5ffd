"""The pure parts of `devstack up images`: chart references, content hashes, .dockerignore, command lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack import images
from devstack.settings import _repo_root

pytestmark = pytest.mark.unit

REPO = _repo_root()
VALUES = """\
# comment
images:
  operator:
    repository: stockfeed-operator
    tag: "0.1.0"
    pullPolicy: IfNotPresent
  dbt:
    repository: stockfeed-dbt
    tag: '1.2'

kafka:
  operator:
    repository: not-this
    tag: "9"
"""


def test_chart_reference_reads_the_images_block() -> None:
    assert images.chart_reference(VALUES, "operator") == "stockfeed-operator:0.1.0"
    assert images.chart_reference(VALUES, "dbt") == "stockfeed-dbt:1.2"
    with pytest.raises(images.StackError):
        images.chart_reference(VALUES, "producer")


def test_every_image_is_named_as_the_chart_references_it() -> None:
    values = (REPO / "charts" / "stockfeed" / "values.yaml").read_text()
    references = {image.name: images.chart_reference(values, image.name) for image in images.IMAGES}
    assert references == {name: f"stockfeed-{name}:0.1.0" for name in references}
    assert set(references) == {"simulator", "producer", "consumer", "loader", "dbt", "operator", "dashboard"}
    for image in images.IMAGES:
        assert (REPO / image.dockerfile).is_file()
        assert (REPO / image.lock).is_file()


def test_containerd_names_short_references_as_the_kubelet_does() -> None:
    assert images.containerd_name("stockfeed-producer:0.1.0") == "docker.io/library/stockfeed-producer:0.1.0"
    assert images.containerd_name("acme/app:1") == "docker.io/acme/app:1"
    assert images.containerd_name("quay.io/acme/app:1") == "quay.io/acme/app:1"
    assert images.containerd_name("localhost/app:1") == "localhost/app:1"


def test_debian_mirror_from_deb822_and_one_line_sources() -> None:
    deb822 = (
        "Types: deb\nURIs: http://deb.debian.org/debian-security\n\nTypes: deb\nURIs: http://mirror.example/debian/\n"
    )
    assert images.debian_mirror(deb822) == "http://mirror.example/debian"
    assert (
        images.debian_mirror("deb [arch=amd64] http://ftp.example/debian bookworm main\n")
        == "http://ftp.example/debian"
    )
    assert images.debian_mirror("deb https://packages.cloud.google.com/apt cloud-sdk main\n") == (
        "http://deb.debian.org/debian"
    )


def test_copy_sources_skip_stages_and_flags() -> None:
    dockerfile = (
        "ARG BASE=x\nFROM ${BASE} AS build\nCOPY services/a/requirements.txt /src/requirements.txt\n"
        "COPY --chown=1:1 contracts/src \\\n  services/a/src /src/\n"
        "FROM ${BASE}\nCOPY --from=build /opt/venv /opt/venv\n"
        "copy dbt /app/dbt\n"
    )
    assert images.copy_sources(dockerfile) == ["services/a/requirements.txt", "contracts/src", "services/a/src", "dbt"]


def test_dockerignore_semantics() -> None:
    patterns = images.ignore_patterns("# c\n**/tests\n!dbt/tests\n**/__pycache__\ndbt/target\n*.duckdb\n")
    assert images.ignored("services/a/tests/test_x.py", patterns)
    assert images.ignored("tests", patterns)
    assert not images.ignored("dbt/tests/freshness/x.sql", patterns)
    assert images.ignored("contracts/src/pkg/__pycache__/m.pyc", patterns)
    assert images.ignored("dbt/target/manifest.json", patterns)
    assert images.ignored("x.duckdb", patterns)
    assert not images.ignored("services/a/src/pkg/m.py", patterns)


def _context(tmp_path: Path) -> tuple[Path, images.Image]:
    (tmp_path / "svc" / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "svc" / "tests").mkdir()
    (tmp_path / "svc" / "Dockerfile").write_text(
        "ARG BASE=b\nFROM ${BASE}\nCOPY svc/requirements.txt /r.txt\nCOPY svc/src /src\n"
    )
    (tmp_path / "svc" / "requirements.txt").write_text("a==1\n")
    (tmp_path / "svc" / "src" / "pkg" / "m.py").write_text("x = 1\n")
    (tmp_path / "svc" / "tests" / "test_m.py").write_text("")
    (tmp_path / "svc" / "README.md").write_text("not copied\n")
    (tmp_path / ".dockerignore").write_text("**/tests\n**/__pycache__\n")
    return tmp_path, images.Image("svc", "svc/Dockerfile", "svc/requirements.txt")


def test_content_hash_changes_with_every_input_and_only_with_them(tmp_path: Path) -> None:
    root, image = _context(tmp_path)
    first = images.content_hash(root, image, "svc:1", "base1")
    assert images.content_hash(root, image, "svc:1", "base1") == first
    # not inputs: files no COPY reads, ignored files, bytecode caches
    (root / "svc" / "README.md").write_text("changed\n")
    (root / "svc" / "tests" / "test_m.py").write_text("changed\n")
    (root / "svc" / "src" / "pkg" / "__pycache__").mkdir()
    (root / "svc" / "src" / "pkg" / "__pycache__" / "m.pyc").write_bytes(b"x")
    assert images.content_hash(root, image, "svc:1", "base1") == first
    # inputs: the base, the reference, the lock, the code (content and names), the Dockerfile
    changed = {images.content_hash(root, image, "svc:1", "base2"), images.content_hash(root, image, "svc:2", "base1")}
    (root / "svc" / "requirements.txt").write_text("a==2\n")
    changed.add(images.content_hash(root, image, "svc:1", "base1"))
    (root / "svc" / "src" / "pkg" / "m.py").write_text("x = 2\n")
    changed.add(images.content_hash(root, image, "svc:1", "base1"))
    (root / "svc" / "src" / "pkg" / "m.py").rename(root / "svc" / "src" / "pkg" / "n.py")
    changed.add(images.content_hash(root, image, "svc:1", "base1"))
    (root / "svc" / "Dockerfile").write_text((root / "svc" / "Dockerfile").read_text() + "USER 1\n")
    changed.add(images.content_hash(root, image, "svc:1", "base1"))
    assert first not in changed
    assert len(changed) == 6


def test_the_real_dockerfiles_inputs_include_lock_and_code() -> None:
    patterns = images.ignore_patterns((REPO / ".dockerignore").read_text())
    producer = next(image for image in images.IMAGES if image.name == "producer")
    files = images.context_files(REPO, images.copy_sources((REPO / producer.dockerfile).read_text()), patterns)
    assert "services/producer/requirements.txt" in files
    assert "contracts/pyproject.toml" in files
    assert any(path.startswith("services/producer/src/") and path.endswith(".py") for path in files)
    assert not any("/tests/" in path or "__pycache__" in path for path in files)


def test_command_lines(tmp_path: Path) -> None:
    buildah = images.Buildah("/usr/bin/buildah", tmp_path / "root", tmp_path / "run")
    image = images.Image("producer", "services/producer/Dockerfile", "services/producer/requirements.txt")
    bud = buildah.bud(REPO, image, "stockfeed-producer:0.1.0", tmp_path / "wheels", tmp_path / "home")
    assert bud[:7] == ["/usr/bin/buildah", "--root", str(tmp_path / "root"), "--runroot", str(tmp_path / "run"),
                       "--storage-driver", "overlay"]  # fmt: skip
    assert bud[7] == "bud"
    assert "--pull=never" in bud
    assert "--isolation=oci" in bud
    assert bud[bud.index("--build-arg") + 1] == f"BASE={images.BASE_IMAGE}"
    volumes = [bud[index + 1] for index, word in enumerate(bud) if word == "--volume"]
    assert volumes == [f"{tmp_path / 'wheels'}:/mnt:ro", f"{tmp_path / 'home'}:/root:ro"]
    assert bud[bud.index("--file") + 1] == str(REPO / "services/producer/Dockerfile")
    assert bud[bud.index("--tag") + 1] == "localhost/stockfeed-producer:0.1.0"
    assert bud[-1] == str(REPO)
    assert buildah.image_id("stockfeed-producer:0.1.0")[-1] == "localhost/stockfeed-producer:0.1.0"
    push = buildah.push("sha256:abc", "stockfeed-producer:0.1.0", tmp_path / "p.tar")
    assert push[-2:] == ["sha256:abc", f"docker-archive:{tmp_path / 'p.tar'}:stockfeed-producer:0.1.0"]
    download = images.pip_download("python3.11", image, REPO, tmp_path / "wheels")
    assert "--only-binary=:all:" in download
    assert "--require-hashes" in download
    assert "--no-deps" not in download
    dbt = images.pip_download(
        "python3.11", images.Image("dbt", "d", "requirements/dbt.txt", hashed=False), REPO, tmp_path
    )
    assert "--no-deps" in dbt
    assert "--require-hashes" not in dbt
    assert images.ctr_import("ctr", "/run/c.sock", tmp_path / "p.tar") == [
        "ctr", "--address", "/run/c.sock", "--namespace", "k8s.io", "images", "import", str(tmp_path / "p.tar")
    ]  # fmt: skip
    assert "no-index = true" in images.PIP_CONF
    assert "find-links = /mnt" in images.PIP_CONF


def test_base_key_follows_mirror_and_packages() -> None:
    assert images.base_key("http://a/debian") == images.base_key("http://a/debian")
    assert images.base_key("http://a/debian") != images.base_key("http://b/debian")
