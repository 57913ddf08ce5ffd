"""The cluster's PKI made with openssl: a CA, the apiserver's serving cert, the admin client cert, SA keys.

The openssl command lines and extension files are built by pure functions; `ensure_pki` runs them once
per data directory and keeps the result, so the kubeconfig stays valid across restarts.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from devstack.errors import StackError

CA_SUBJECT = "/CN=devstack-kubernetes-ca"
ADMIN_SUBJECT = "/O=system:masters/CN=devstack-admin"  # the group RBAC binds to cluster-admin
APISERVER_SUBJECT = "/CN=kube-apiserver"
VALID_DAYS = 3650  # a local test cluster: long-lived keys beat surprise expiries


@dataclass(frozen=True)
class Pki:
    directory: Path

    @property
    def ca_cert(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca.key"

    @property
    def serving_cert(self) -> Path:
        return self.directory / "apiserver.crt"

    @property
    def serving_key(self) -> Path:
        return self.directory / "apiserver.key"

    @property
    def admin_cert(self) -> Path:
        return self.directory / "admin.crt"

    @property
    def admin_key(self) -> Path:
        return self.directory / "admin.key"

    @property
    def sa_key(self) -> Path:
        return self.directory / "sa.key"

    @property
    def sa_pub(self) -> Path:
        return self.directory / "sa.pub"

    def files(self) -> tuple[Path, ...]:
        return (
            self.ca_cert, self.ca_key, self.serving_cert, self.serving_key,
            self.admin_cert, self.admin_key, self.sa_key, self.sa_pub,
        )  # fmt: skip


def serving_sans(service_ip: str, extra_ips: Sequence[str] = ()) -> list[str]:
    """Names clients use for the apiserver: loopback from the host, the `kubernetes` Service from inside.

    extra_ips: the address the apiserver advertises (the real node's), which pods reach through the Service.
    """
    service = "kubernetes.default.svc"
    dns = ["localhost", "kubernetes", "kubernetes.default", service, f"{service}.cluster.local"]
    return [f"DNS:{name}" for name in dns] + ["IP:127.0.0.1", f"IP:{service_ip}", *(f"IP:{ip}" for ip in extra_ips)]


def extensions(usage: str, sans: list[str] | None = None) -> str:
    """An openssl extension file for a leaf certificate; usage is serverAuth or clientAuth."""
    lines = [
        "basicConstraints = critical, CA:FALSE",
        "keyUsage = critical, digitalSignature, keyEncipherment",
        f"extendedKeyUsage = {usage}",
    ]
    if sans:
        lines.append("subjectAltName = " + ", ".join(sans))
    return "\n".join(lines) + "\n"


def ca_commands(pki: Pki) -> list[list[str]]:
    return [
        ["genrsa", "-out", str(pki.ca_key), "2048"],
        [
            "req", "-x509", "-new", "-key", str(pki.ca_key), "-subj", CA_SUBJECT, "-days", str(VALID_DAYS),
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-out", str(pki.ca_cert),
        ],
    ]  # fmt: skip


def leaf_commands(pki: Pki, key: Path, cert: Path, subject: str, extfile: Path) -> list[list[str]]:
    csr = cert.with_suffix(".csr")
    return [
        ["genrsa", "-out", str(key), "2048"],
        ["req", "-new", "-key", str(key), "-subj", subject, "-out", str(csr)],
        [
            "x509", "-req", "-in", str(csr), "-CA", str(pki.ca_cert), "-CAkey", str(pki.ca_key),
            "-CAcreateserial", "-days", str(VALID_DAYS), "-sha256", "-extfile", str(extfile), "-out", str(cert),
        ],
    ]  # fmt: skip


def service_account_commands(pki: Pki) -> list[list[str]]:
    return [
        ["genrsa", "-out", str(pki.sa_key), "2048"],
        ["rsa", "-in", str(pki.sa_key), "-pubout", "-out", str(pki.sa_pub)],
    ]


def ensure_pki(pki: Pki, openssl: str, service_ip: str, extra_ips: Sequence[str] = ()) -> bool:
    """Create whatever part of the PKI is missing; True if anything was made."""
    if all(path.exists() for path in pki.files()):
        return False
    pki.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    for path in pki.files():  # a partial PKI cannot be trusted to match itself: start over
        path.unlink(missing_ok=True)
    serving_ext = pki.directory / "apiserver.ext"
    serving_ext.write_text(extensions("serverAuth", serving_sans(service_ip, extra_ips)))
    admin_ext = pki.directory / "admin.ext"
    admin_ext.write_text(extensions("clientAuth"))
    commands = [
        *ca_commands(pki),
        *leaf_commands(pki, pki.serving_key, pki.serving_cert, APISERVER_SUBJECT, serving_ext),
        *leaf_commands(pki, pki.admin_key, pki.admin_cert, ADMIN_SUBJECT, admin_ext),
        *service_account_commands(pki),
    ]
    for args in commands:
        result = subprocess.run([openssl, *args], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise StackError(f"cluster: `openssl {' '.join(args)}` failed:\n{result.stderr[-2000:]}")
    for key in (pki.ca_key, pki.serving_key, pki.admin_key, pki.sa_key):
        key.chmod(0o600)
    return True
