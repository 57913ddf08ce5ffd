"""The cluster PKI: extension text (pure) and one real openssl run checked with `openssl verify`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from devstack.k8s import certs

pytestmark = pytest.mark.unit

OPENSSL = shutil.which("openssl")


def test_serving_sans_cover_loopback_and_the_kubernetes_service() -> None:
    sans = certs.serving_sans("10.0.0.1")
    assert {"DNS:localhost", "IP:127.0.0.1", "IP:10.0.0.1", "DNS:kubernetes.default.svc"} <= set(sans)


def test_extensions_name_the_usage_and_the_sans() -> None:
    text = certs.extensions("serverAuth", ["DNS:localhost", "IP:127.0.0.1"])
    assert "extendedKeyUsage = serverAuth" in text
    assert "subjectAltName = DNS:localhost, IP:127.0.0.1" in text
    assert "CA:FALSE" in text
    assert "subjectAltName" not in certs.extensions("clientAuth")


def _openssl(*args: str) -> str:
    assert OPENSSL is not None
    return subprocess.run([OPENSSL, *args], capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")
def test_ensure_pki_makes_a_chain_that_verifies_and_keeps_it(tmp_path: Path) -> None:
    assert OPENSSL is not None
    pki = certs.Pki(tmp_path / "pki")
    assert certs.ensure_pki(pki, OPENSSL, "10.0.0.1") is True
    for cert in (pki.serving_cert, pki.admin_cert):
        assert _openssl("verify", "-CAfile", str(pki.ca_cert), str(cert)).strip().endswith("OK")
    admin = _openssl("x509", "-in", str(pki.admin_cert), "-noout", "-subject")
    assert "O = system:masters" in admin
    serving = _openssl("x509", "-in", str(pki.serving_cert), "-noout", "-ext", "subjectAltName")
    assert "IP Address:127.0.0.1" in serving
    assert "IP Address:10.0.0.1" in serving
    assert (pki.ca_key.stat().st_mode & 0o077) == 0
    before = pki.ca_cert.read_bytes()
    assert certs.ensure_pki(pki, OPENSSL, "10.0.0.1") is False
    assert pki.ca_cert.read_bytes() == before
