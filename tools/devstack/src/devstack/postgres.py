"""PostgreSQL from Debian's packages, as a cluster of our own (own data dir, port and socket dir)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
from pathlib import Path

from devstack import health, procs
from devstack.credentials import credential
from devstack.errors import StackError
from devstack.server import Server
from devstack.settings import Settings

USER = "stockfeed"
DATABASE = "stockfeed"


def find_bindir() -> Path:
    """The newest installed server's bin dir (Debian keeps initdb/pg_ctl out of PATH)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[4]))
    if candidates:
        return Path(candidates[-1]).parent
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).resolve().parent
    raise StackError("missing prerequisite: PostgreSQL server (pg_ctl, initdb); apt-get install postgresql")


class Postgres(Server):
    name = "postgres"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.data_dir = settings.data("postgres")
        self.cluster = self.data_dir / "cluster"
        self.socket_dir = self.data_dir / "sock"

    @property
    def password(self) -> str:
        return credential(self.settings.home, "DEVSTACK_POSTGRES_PASSWORD")

    def install(self) -> None:
        find_bindir()

    def _as_owner(self, argv: list[str]) -> list[str]:
        # initdb and postgres refuse to run as root: run them as the packages' `postgres` user then.
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *argv]
        return argv

    def _run(self, argv: list[str], what: str, env: dict[str, str] | None = None) -> str:
        result = subprocess.run(self._as_owner(argv), capture_output=True, text=True, check=False, env=env)
        if result.returncode != 0:
            raise StackError(f"postgres: {what} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
        return result.stdout

    def _prepare_dirs(self) -> None:
        for path in (self.data_dir, self.socket_dir, self.settings.logs):
            path.mkdir(parents=True, exist_ok=True)
        self.log_file.touch()
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            for path in (self.data_dir, self.socket_dir, self.log_file):
                os.chown(path, owner.pw_uid, owner.pw_gid)
            # The server user must be able to reach its data dir through our home.
            for parent in self.data_dir.parents:
                if parent == Path("/"):
                    break
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    os.chmod(parent, mode | 0o001)

    def _initdb(self, bindir: Path) -> None:
        if (self.cluster / "PG_VERSION").exists():
            return
        pwfile = self.data_dir / ".pwfile"
        pwfile.write_text(self.password + "\n")
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(pwfile, owner.pw_uid, owner.pw_gid)
        pwfile.chmod(0o600)
        try:
            self._run(
                [
                    str(bindir / "initdb"), "-D", str(self.cluster), "-U", USER, f"--pwfile={pwfile}",
                    "--auth-host=scram-sha-256", "--auth-local=peer", "-E", "UTF8", "--no-sync",
                ],
                "initdb",
            )  # fmt: skip
        finally:
            pwfile.unlink(missing_ok=True)

    def start(self) -> None:
        if self.running() and self.healthy():
            return
        port = self.settings.postgres_port

        procs.require_free_ports("postgres", {"DEVSTACK_POSTGRES_PORT": port})
        bindir = find_bindir()
        self._prepare_dirs()
        self._initdb(bindir)
        options = (
            f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.socket_dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            [str(bindir / "pg_ctl"), "-D", str(self.cluster), "-l", str(self.log_file), "-o", options, "-w",
             "-t", "60", "start"],
            "pg_ctl start",
        )  # fmt: skip
        health.wait_until(self.healthy, what="postgres", timeout=30, log_file=self.log_file)
        self._ensure_database(bindir)

    def _ensure_database(self, bindir: Path) -> None:
        env = {**os.environ, "PGPASSWORD": self.password}
        exists = subprocess.run(
            [str(bindir / "psql"), "-h", "127.0.0.1", "-p", str(self.settings.postgres_port), "-U", USER,
             "-d", "postgres", "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"],
            capture_output=True, text=True, env=env, check=False,
        )  # fmt: skip
        if exists.stdout.strip() != "1":
            subprocess.run(
                [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.settings.postgres_port), "-U", USER,
                 DATABASE],
                check=True, env=env, capture_output=True,
            )  # fmt: skip

    def stop(self) -> bool:
        if not self.running():
            return False
        self._run([str(find_bindir() / "pg_ctl"), "-D", str(self.cluster), "-m", "fast", "-w", "stop"], "pg_ctl stop")
        return True

    def running(self) -> bool:
        pid_file = self.cluster / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return False
        return Path(f"/proc/{pid}").exists()

    def healthy(self) -> bool:
        try:
            bindir = find_bindir()
        except StackError:
            return False
        result = subprocess.run(
            [str(bindir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.settings.postgres_port)],
            check=False,
        )
        return result.returncode == 0

    def address(self) -> str:
        return f"127.0.0.1:{self.settings.postgres_port}"

    def env(self) -> dict[str, str]:
        port = self.settings.postgres_port
        return {
            "DEVSTACK_PG_HOST": "127.0.0.1",
            "DEVSTACK_PG_PORT": str(port),
            "DEVSTACK_PG_USER": USER,
            "DEVSTACK_PG_PASSWORD": self.password,
            "DEVSTACK_PG_DATABASE": DATABASE,
            "DEVSTACK_PG_DSN": f"postgresql://{USER}:{self.password}@127.0.0.1:{port}/{DATABASE}",
        }
