"""The project's images, built here from their own Dockerfiles with buildah and imported into the node's containerd.

No registry is reachable, so nothing is pulled:
- the base: Debian bookworm (debootstrap, minbase) + Python 3.11 stands in for the Dockerfiles' pinned
  `python:3.11.x-slim-bookworm` through their `ARG BASE` (`--build-arg BASE=localhost/stockfeed-base:...`);
- Python packages: a wheelhouse downloaded on the host from the same hashed locks, mounted into the RUN steps at
  /mnt with a pip.conf (in a HOME mounted over /root) that turns the index off. Both mount points exist in the
  base, so nothing of them lands in an image (a mount on a missing path leaves an empty file or directory).
Each image is rebuilt only when its content hash changes (Dockerfile, every file its COPY steps read, the base's
image id and this recipe); its docker-archive tar and hash live in `<cache>/images/`. When the real node's
containerd is up (DEVSTACK_CONTAINERD_SOCKET in the env file), the archives are imported into its `k8s.io`
namespace under the names the chart uses (`stockfeed-<name>:<tag>` = `docker.io/library/stockfeed-<name>:<tag>`).
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from devstack import envfile, procs, standins
from devstack.errors import StackError
from devstack.server import Server, require_tool
from devstack.settings import Settings, _repo_root

BASE_IMAGE = "localhost/stockfeed-base:py3.11-bookworm"
DEBIAN_SUITE = "bookworm"
# What the official python:3.11-slim-bookworm has that the Dockerfiles' RUN steps and entrypoints use;
# python3-distutils is what python3.11-venv depends on (debootstrap does not resolve that virtual package).
BASE_PACKAGES = ("python3.11", "python3.11-venv", "python3-distutils", "ca-certificates", "netbase", "tzdata")
SETUPTOOLS = "80.9.0"  # the build backend of the project's own packages, for pip's isolated builds (no index)
RECIPE_VERSION = "3"  # bump when the way an image is built changes, so every image rebuilds
BASE_RECIPE = "1"  # bump when the way the base is built changes
SOCKET_VARIABLE = "DEVSTACK_CONTAINERD_SOCKET"
NAMESPACE = "k8s.io"
WHEELS_MOUNT = "/mnt"  # empty in the base, as in the official image
HOME_MOUNT = "/root"  # the RUN steps' HOME (root); pip reads $HOME/.config/pip/pip.conf
PIP_CONF = f"[global]\nno-index = true\nfind-links = {WHEELS_MOUNT}\ndisable-pip-version-check = true\n"


@dataclass(frozen=True)
class Image:
    name: str  # the chart's key under images.*
    dockerfile: str  # relative to the repository root (the build context)
    lock: str
    hashed: bool = True  # the lock carries --hash lines (every lock here does; False downloads --no-deps)
    smoke: tuple[str, ...] = ("--help",)  # arguments that make the entrypoint print and exit 0
    command: tuple[str, ...] = ()  # replaces the entrypoint for the smoke run (empty: the image's own)


IMAGES = (
    Image("simulator", "services/simulator/Dockerfile", "services/simulator/requirements.txt"),
    Image("producer", "services/producer/Dockerfile", "services/producer/requirements.txt"),
    Image("consumer", "services/consumer/Dockerfile", "services/consumer/requirements.txt"),
    Image("loader", "services/loader/Dockerfile", "services/loader/requirements.txt"),
    Image("dbt", "dbt/Dockerfile", "requirements/dbt.txt", smoke=("--version",)),
    Image("operator", "operator/Dockerfile", "operator/requirements.txt"),
    # the entrypoint passes its arguments to `streamlit run app.py`: ask streamlit itself
    Image(
        "dashboard",
        "services/dashboard/Dockerfile",
        "services/dashboard/requirements.txt",
        smoke=("version",),
        command=("streamlit",),
    ),
)


# -- pure parts (unit-tested) ----------------------------------------------------------------------------------
def chart_reference(values_yaml: str, name: str) -> str:
    """`repository:tag` of images.<name> in the chart's values.yaml (a two-level block; no YAML parser needed)."""
    fields: dict[str, str] = {}
    section, entry = False, False
    for line in values_yaml.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith(" "):
            section = line.rstrip() == "images:"
            continue
        if section and re.match(r"^  \S", line):
            entry = line.strip() == f"{name}:"
            continue
        match = re.match(r"^    (repository|tag):\s*[\"']?([^\"'\s#]+)", line)
        if section and entry and match:
            fields[match.group(1)] = match.group(2)
    if set(fields) != {"repository", "tag"}:
        raise StackError(f"images: no images.{name}.repository and .tag in the chart's values.yaml")
    return f"{fields['repository']}:{fields['tag']}"


def containerd_name(reference: str) -> str:
    """The name containerd (and the kubelet) give a short reference: docker.io/library/<repo>:<tag>."""
    first = reference.split("/", 1)[0]
    if "/" in reference and ("." in first or ":" in first or first == "localhost"):
        return reference
    return f"docker.io/{reference}" if "/" in reference else f"docker.io/library/{reference}"


def debian_mirror(sources: str, default: str = "http://deb.debian.org/debian") -> str:
    """The main Debian archive apt uses, from deb822 (`URIs:`) or one-line (`deb URI suite`) sources."""
    for uri in re.findall(r"^URIs:\s*(\S+)", sources, re.M) + re.findall(
        r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)", sources, re.M
    ):
        if uri.rstrip("/").endswith("/debian"):
            return str(uri).rstrip("/")
    return default


def copy_sources(dockerfile: str) -> list[str]:
    """The build-context paths the Dockerfile's COPY/ADD steps read (not `COPY --from=<stage>`)."""
    sources: list[str] = []
    text = re.sub(r"\\\n", " ", dockerfile)
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].upper() not in ("COPY", "ADD"):
            continue
        args = words[1:]
        if any(word.startswith("--from") for word in args):
            continue
        paths = [word for word in args if not word.startswith("--")]
        sources += [path.strip("/") or "." for path in paths[:-1]]
    return sources


def ignore_patterns(dockerignore: str) -> list[str]:
    return [line.strip() for line in dockerignore.splitlines() if line.strip() and not line.strip().startswith("#")]


def ignored(relative: str, patterns: Sequence[str]) -> bool:
    """.dockerignore semantics, enough for ours: the last matching pattern wins, `!` re-includes, `**/` any depth,
    and a directory's pattern covers what is inside it."""
    parts = relative.split("/")
    candidates = ["/".join(parts[: index + 1]) for index in range(len(parts))]
    result = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        pattern = pattern.strip("/")
        options = [pattern]
        if pattern.startswith("**/"):
            options += [pattern[3:], "*/" + pattern[3:]]
        if any(fnmatch.fnmatchcase(candidate, option) for candidate in candidates for option in options):
            result = not negate
    return result


def context_files(root: Path, sources: Sequence[str], patterns: Sequence[str]) -> list[str]:
    """Every file (relative path) a build reads from the context, .dockerignore applied, sorted."""
    found: set[str] = set()
    for source in sources:
        path = root / source
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for candidate in candidates:
            relative = candidate.relative_to(root).as_posix()
            if not ignored(relative, patterns):
                found.add(relative)
    return sorted(found)


def content_hash(root: Path, image: Image, reference: str, base_id: str) -> str:
    """What decides whether an image must be rebuilt: recipe, reference, base, Dockerfile and every input file."""
    digest = hashlib.sha256()
    dockerfile = (root / image.dockerfile).read_text()
    patterns = ignore_patterns((root / ".dockerignore").read_text()) if (root / ".dockerignore").exists() else []
    for part in (RECIPE_VERSION, reference, base_id, image.dockerfile, dockerfile):
        digest.update(part.encode() + b"\0")
    for relative in context_files(root, [*copy_sources(dockerfile), image.lock], patterns):
        digest.update(relative.encode() + b"\0" + hashlib.sha256((root / relative).read_bytes()).digest())
    return digest.hexdigest()


def base_key(mirror: str) -> str:
    text = "\0".join([BASE_RECIPE, DEBIAN_SUITE, mirror, *BASE_PACKAGES])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Buildah:
    """buildah with its own storage (overlay) under the cache; never the machine's default storage."""

    binary: str
    root: Path
    runroot: Path

    def argv(self, *args: str) -> list[str]:
        return [self.binary, "--root", str(self.root), "--runroot", str(self.runroot), "--storage-driver", "overlay",
                *args]  # fmt: skip

    def bud(self, context: Path, image: Image, reference: str, wheelhouse: Path, pip_home: Path) -> list[str]:
        return self.argv(
            "bud", "--pull=never", "--isolation=oci", "--network=host", "--layers",
            "--build-arg", f"BASE={BASE_IMAGE}",
            "--volume", f"{wheelhouse}:{WHEELS_MOUNT}:ro", "--volume", f"{pip_home}:{HOME_MOUNT}:ro",
            "--file", str(context / image.dockerfile), "--tag", f"localhost/{reference}", str(context),
        )  # fmt: skip

    def image_id(self, reference: str) -> list[str]:
        return self.argv("images", "--no-trunc", "--quiet", f"localhost/{reference}")

    def push(self, image_id: str, reference: str, archive: Path) -> list[str]:
        """By image id, so the archive names only `reference` (a name would add `localhost/<reference>`)."""
        return self.argv("push", "--quiet", image_id, f"docker-archive:{archive}:{reference}")


def pip_download(python: str, image: Image, root: Path, wheelhouse: Path) -> list[str]:
    """Wheels for the lock (this machine is linux x86_64 with Debian's glibc, as the image is)."""
    command = [python, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--only-binary=:all:",
               "--dest", str(wheelhouse), "--requirement", str(root / image.lock)]  # fmt: skip
    command += ["--require-hashes"] if image.hashed else ["--no-deps"]
    return command


def ctr_import(ctr: str, socket: str, archive: Path) -> list[str]:
    return [ctr, "--address", socket, "--namespace", NAMESPACE, "images", "import", str(archive)]


# -- the build -------------------------------------------------------------------------------------------------
class Builder:
    def __init__(self, settings: Settings, root: Path | None = None) -> None:
        self.settings = settings
        self.root = root or _repo_root()
        self.cache = settings.cache / "images"
        self.log_file = self.cache / "build.log"
        self.values = (self.root / "charts" / "stockfeed" / "values.yaml").read_text()

    def reference(self, image: Image) -> str:
        return chart_reference(self.values, image.name)

    def archive(self, image: Image) -> Path:
        return self.cache / f"{image.name}.tar"

    def hash_file(self, image: Image) -> Path:
        return self.cache / f"{image.name}.hash"

    @property
    def buildah(self) -> Buildah:
        return Buildah(require_tool("buildah", "apt-get install buildah"), self.cache / "buildah", self.cache / "run")

    def run(self, command: Sequence[str], what: str, timeout: float = 3600, capture: bool = False) -> str:
        """Run a build step, its output streamed to the build log (or returned, with `capture`)."""
        nice = shutil.which("nice")
        if nice is not None:  # the machine is shared: builds yield to interactive work
            command = [nice, "-n", "10", *command]
        with self.log_file.open("a") as log:
            log.write(f"$ {' '.join(command)}\n")
            log.flush()
            result = subprocess.run(
                command, stdout=subprocess.PIPE if capture else log, stderr=log, text=True, timeout=timeout,
                check=False, env={**os.environ, "BUILDAH_FORMAT": "docker"},
            )  # fmt: skip
            if capture:
                log.write(result.stdout)
        if result.returncode != 0:
            tail = "\n".join(self.log_file.read_text().splitlines()[-25:])
            raise StackError(f"images: {what} failed (log: {self.log_file}):\n{tail}")
        return result.stdout if capture else ""

    # -- base ----------------------------------------------------------------------------------------------
    def base_id(self) -> str | None:
        result = subprocess.run(
            self.buildah.argv("inspect", "--type", "image", "--format", "{{.FromImageID}}", BASE_IMAGE),
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        stamp = self.cache / "base.key"
        mirror = debian_mirror(_apt_sources())
        if result.returncode != 0 or not stamp.exists() or stamp.read_text().strip() != base_key(mirror):
            return None
        return result.stdout.strip()

    def build_base(self) -> str:
        debootstrap = shutil.which("debootstrap") or "/usr/sbin/debootstrap"
        if not Path(debootstrap).is_file():
            raise StackError("missing prerequisite: debootstrap (apt-get install debootstrap)")
        mirror = debian_mirror(_apt_sources())
        rootfs = self.cache / "base-rootfs"
        shutil.rmtree(rootfs, ignore_errors=True)
        debs = self.cache / "debs"
        debs.mkdir(parents=True, exist_ok=True)
        _say(f"building the base {BASE_IMAGE}: debootstrap {DEBIAN_SUITE} from {mirror} (one time)")
        self.run(
            [debootstrap, "--variant=minbase", f"--cache-dir={debs}", f"--include={','.join(BASE_PACKAGES)}",
             DEBIAN_SUITE, str(rootfs), mirror],
            "debootstrap", timeout=1800,
        )  # fmt: skip
        _slim(rootfs)
        buildah = self.buildah
        container = self.run(buildah.argv("from", "--pull=never", "scratch"), "buildah from", capture=True).strip()
        try:
            mount = Path(self.run(buildah.argv("mount", container), "buildah mount", capture=True).strip())
            self.run(["cp", "-a", f"{rootfs}/.", f"{mount}/"], "copying the base root filesystem")
            self.run(buildah.argv("umount", container), "buildah umount")
            self.run(
                buildah.argv("config", "--env", "PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
                             "--env", "LANG=C.UTF-8", "--cmd", "python3", container),
                "buildah config",
            )  # fmt: skip
            self.run(buildah.argv("commit", "--rm", "--quiet", container, BASE_IMAGE), "buildah commit")
        except BaseException:
            subprocess.run(buildah.argv("rm", container), capture_output=True, check=False)
            raise
        shutil.rmtree(rootfs, ignore_errors=True)
        (self.cache / "base.key").write_text(base_key(mirror) + "\n")
        base = self.base_id()
        if base is None:
            raise StackError(f"images: {BASE_IMAGE} is not in buildah's storage after the build")
        return base

    # -- the PostgreSQL stand-in (standins.py) ----------------------------------------------------------------
    def postgres_archive(self) -> Path:
        return self.cache / "postgres-standin.tar"

    def build_postgres(self) -> None:
        """Built like our images (buildah, the same base) from postgres_standin/, only when that changed."""
        base = self.base_id() or self.build_base()
        wanted = standins.postgres_hash(base)
        stamp = self.cache / "postgres-standin.hash"
        if self.postgres_archive().is_file() and stamp.is_file() and stamp.read_text().strip() == wanted:
            return
        began = time.monotonic()
        context = standins.POSTGRES_CONTEXT
        tag = "localhost/devstack-postgres-standin"
        self.run(
            self.buildah.argv("bud", "--pull=never", "--isolation=oci", "--network=host", "--layers",
                              "--build-arg", f"BASE={BASE_IMAGE}", "--file", str(context / "Dockerfile"),
                              "--tag", tag, str(context)),
            f"building {standins.POSTGRES_REFERENCE}",
        )  # fmt: skip
        image_id = self.run(self.buildah.argv("images", "--no-trunc", "--quiet", tag), "buildah images", capture=True)
        partial = self.postgres_archive().with_suffix(".partial")
        partial.unlink(missing_ok=True)
        self.run(
            self.buildah.push(image_id.split()[0], standins.POSTGRES_REFERENCE, partial),
            f"writing {self.postgres_archive().name}",
        )
        os.replace(partial, self.postgres_archive())
        stamp.write_text(wanted + "\n")
        _say(f"built {standins.POSTGRES_REFERENCE} in {time.monotonic() - began:.0f}s")

    # -- wheels ----------------------------------------------------------------------------------------------
    def wheelhouse(self, images: Sequence[Image]) -> Path:
        wheels = self.cache / "wheelhouse"
        wheels.mkdir(parents=True, exist_ok=True)
        python = _host_python()
        for image in images:
            lock = (self.root / image.lock).read_bytes()
            stamp = wheels / f".{image.name}-{hashlib.sha256(lock).hexdigest()[:16]}.done"
            if stamp.exists():
                continue
            _say(f"wheelhouse: downloading {image.lock}")
            self.run(pip_download(python, image, self.root, wheels), f"pip download {image.lock}")
            stamp.touch()
        stamp = wheels / f".setuptools-{SETUPTOOLS}.done"
        if not stamp.exists():
            self.run(
                [python, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--only-binary=:all:",
                 "--no-deps", "--dest", str(wheels), f"setuptools=={SETUPTOOLS}"],
                "pip download setuptools",
            )  # fmt: skip
            stamp.touch()
        return wheels

    # -- images ----------------------------------------------------------------------------------------------
    def current(self, image: Image, base: str) -> bool:
        digest = content_hash(self.root, image, self.reference(image), base)
        hash_file = self.hash_file(image)
        return self.archive(image).is_file() and hash_file.exists() and hash_file.read_text().strip() == digest

    def build(self, names: Sequence[str] = ()) -> dict[str, float]:
        """Build the base and every image whose inputs changed; seconds per image built (empty: all current)."""
        chosen = [image for image in IMAGES if not names or image.name in names]
        self.cache.mkdir(parents=True, exist_ok=True)
        timings: dict[str, float] = {}
        with procs.exclusive(self.cache / ".build.lock", "images"):
            base = self.base_id()
            if base is None or not all(self.current(image, base) for image in chosen):
                self.log_file.write_text("")  # the log of this build only
            if base is None:
                began = time.monotonic()
                base = self.build_base()
                timings["base"] = time.monotonic() - began
                _say(f"built {BASE_IMAGE} in {timings['base']:.0f}s ({_size(self.buildah, BASE_IMAGE)})")
            stale = [image for image in chosen if not self.current(image, base)]
            if stale:
                # our own storage, under our lock: what an interrupted build left is garbage
                self.run(self.buildah.argv("rm", "--all"), "removing leftover build containers")
                wheels = self.wheelhouse(stale)
                pip_home = self.cache / "pip-home"
                (pip_home / ".config" / "pip").mkdir(parents=True, exist_ok=True)
                (pip_home / ".config" / "pip" / "pip.conf").write_text(PIP_CONF)
            for image in stale:
                reference = self.reference(image)
                began = time.monotonic()
                self.run(self.buildah.bud(self.root, image, reference, wheels, pip_home), f"building {reference}")
                archive = self.archive(image)
                partial = archive.with_suffix(".partial")
                partial.unlink(missing_ok=True)
                image_id = self.run(self.buildah.image_id(reference), "buildah images", capture=True).split()[0]
                self.run(self.buildah.push(image_id, reference, partial), f"writing {archive.name}")
                os.replace(partial, archive)
                self.hash_file(image).write_text(content_hash(self.root, image, reference, base) + "\n")
                timings[image.name] = time.monotonic() - began
                size = _size(self.buildah, f"localhost/{reference}")
                _say(f"built {reference} in {timings[image.name]:.0f}s ({size}; archive {_mib(archive)})")
            for image in chosen:
                if image not in stale:
                    _say(f"{self.reference(image)} is current ({_mib(self.archive(image))} archive)")
        return timings


def _apt_sources() -> str:
    texts = []
    for path in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        if path.is_file() and path.suffix in (".list", ".sources", ""):
            texts.append(path.read_text(errors="replace"))
    return "\n".join(texts)


def _slim(rootfs: Path) -> None:
    """What the official slim image also leaves out, plus the `python` the Dockerfiles call (/usr/local/bin)."""
    for relative in ("var/lib/apt/lists", "var/cache/apt", "var/cache/debconf/templates.dat-old", "debootstrap"):
        target = rootfs / relative
        if target.is_dir():
            for child in target.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
    share = rootfs / "usr" / "share"
    for relative in ("man", "info", "locale", "lintian", "linda"):
        shutil.rmtree(share / relative, ignore_errors=True)
    for package in sorted((share / "doc").glob("*")):  # each package's copyright notice stays
        if package.is_symlink() or not package.is_dir():
            continue
        for path in package.iterdir():
            if path.name == "copyright":
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    bin_dir = rootfs / "usr" / "local" / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in ("python", "python3"):
        link = bin_dir / name
        link.unlink(missing_ok=True)
        link.symlink_to("/usr/bin/python3.11")


def _host_python() -> str:
    """A Python 3.11 with pip on this machine (same arch and a glibc no newer than bookworm's)."""
    candidates = [shutil.which("python3.11"), sys.executable, "/usr/bin/python3.11"]
    for candidate in candidates:
        if not candidate:
            continue
        probe = subprocess.run(
            [candidate, "-c", "import sys, pip; assert sys.version_info[:2] == (3, 11)"],
            capture_output=True, check=False, timeout=60,
        )  # fmt: skip
        if probe.returncode == 0:
            return candidate
    raise StackError("images: no Python 3.11 with pip on this machine to download the wheelhouse")


def _size(buildah: Buildah, reference: str) -> str:
    result = subprocess.run(
        buildah.argv("images", "--format", "{{.Size}}", reference), capture_output=True, text=True, check=False
    )
    return (result.stdout.strip().splitlines() or ["size unknown"])[0]


def _mib(path: Path) -> str:
    return f"{path.stat().st_size / 2**20:.0f} MiB" if path.exists() else "no archive"


def _say(message: str) -> None:
    print(f"images: {message}", file=sys.stderr, flush=True)


# -- the stack's view: `devstack up images` --------------------------------------------------------------------
class Images(Server):
    """Not a process: `install` builds, `start` imports into the node's containerd when there is one."""

    name = "images"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.builder = Builder(settings)
        self.stamps = settings.data("images")
        self.built = False

    def socket(self) -> str | None:
        value = os.environ.get(SOCKET_VARIABLE) or envfile.read(self.settings.env_file).get(SOCKET_VARIABLE)
        return value if value and Path(value).exists() else None

    def install(self) -> None:
        self.builder.build()
        standins.install(self.settings)
        with procs.exclusive(self.builder.cache / ".build.lock", "images"):
            self.builder.build_postgres()
        self.built = True

    def start(self) -> None:
        if not self.built:  # `up` has just run install()
            self.install()
        socket = self.socket()
        if socket is None:
            _say(f"no node containerd ({SOCKET_VARIABLE} unset or absent): archives stay in {self.builder.cache}")
        else:
            self.import_all(socket)
            for reference in standins.import_missing(self.settings, socket, self.present(socket), self.builder.cache):
                _say(f"imported the stand-in {reference} into {NAMESPACE}")
            self.import_postgres(socket)
        self.stamps.mkdir(parents=True, exist_ok=True)
        (self.stamps / "up").write_text(socket or "")

    def import_all(self, socket: str) -> None:
        ctr = require_tool("ctr", "apt-get install containerd")
        present = self.present(socket)
        for image in IMAGES:
            reference = self.builder.reference(image)
            digest = self.builder.hash_file(image).read_text().strip()
            stamp = self.stamps / f"{image.name}.imported"
            stamp.parent.mkdir(parents=True, exist_ok=True)
            if containerd_name(reference) in present and stamp.exists() and stamp.read_text() == f"{socket} {digest}":
                continue
            began = time.monotonic()
            self.builder.run(ctr_import(ctr, socket, self.builder.archive(image)), f"importing {reference}")
            stamp.write_text(f"{socket} {digest}")
            _say(f"imported {containerd_name(reference)} into {NAMESPACE} in {time.monotonic() - began:.0f}s")

    def import_postgres(self, socket: str) -> None:
        """Like import_all: again only when the archive changed since this node imported it."""
        built = (self.builder.cache / "postgres-standin.hash").read_text().strip()
        stamp = self.stamps / "postgres-standin.imported"
        if standins.POSTGRES_REFERENCE in self.present(socket) and stamp.exists() and stamp.read_text() == built:
            return
        ctr = require_tool("ctr", "apt-get install containerd")
        self.builder.run(ctr_import(ctr, socket, self.builder.postgres_archive()), "importing the PostgreSQL stand-in")
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(built)
        _say(f"imported the stand-in {standins.POSTGRES_REFERENCE} into {NAMESPACE}")

    def present(self, socket: str) -> set[str]:
        ctr = require_tool("ctr", "apt-get install containerd")
        result = subprocess.run(
            [ctr, "--address", socket, "--namespace", NAMESPACE, "images", "ls", "--quiet"],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        return set(result.stdout.split()) if result.returncode == 0 else set()

    def stop(self) -> bool:
        """The images stay (in the cache and in containerd); only the stack's record of `up` goes."""
        up = self.stamps / "up"
        if up.exists():
            up.unlink()
            return True
        return False

    def running(self) -> bool:
        return (self.stamps / "up").exists()

    def healthy(self) -> bool:
        if not all(self.builder.archive(image).is_file() for image in IMAGES):
            return False
        socket = self.socket()
        if socket is None:
            return True
        wanted = {containerd_name(self.builder.reference(image)) for image in IMAGES}
        wanted |= {stand_in.reference for stand_in in standins.STAND_INS} | {standins.POSTGRES_REFERENCE}
        return wanted <= self.present(socket)

    def address(self) -> str:
        return self.socket() or str(self.builder.cache)

    def env(self) -> dict[str, str]:
        return {
            "DEVSTACK_IMAGES": " ".join(containerd_name(self.builder.reference(image)) for image in IMAGES),
            "DEVSTACK_IMAGES_DIR": str(self.builder.cache),
            **standins.env(),
        }
