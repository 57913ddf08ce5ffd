"""`make test`'s audit step: pip-audit of every lock file against a vulnerability service, bounded in time.

Exit 1 only on a known vulnerability in a pin. When no service can be reached (or answers nothing for our pins),
say so plainly and exit 0: CI must never hang or fail on the network. Services tried in order: PyPI's JSON API
(pip-audit's default; it needs https://pypi.org/pypi/<name>/<version>/json) and OSV (https://api.osv.dev).

    .venv/bin/python tools/ci/audit_locks.py [LOCK ...]     # default: every lock of the repository
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCK_PATTERNS = ("requirements/*.txt", "services/*/requirements.txt", "operator/requirements.txt")
SERVICES = ("pypi", "osv")
TIMEOUT_SECONDS = 180  # per lock and service; the dbt and Airflow locks hold a few hundred pins


def lock_files() -> list[Path]:
    return sorted({path for pattern in LOCK_PATTERNS for path in ROOT.glob(pattern)})


def pip_audit(lock: Path, service: str) -> tuple[dict[str, object] | None, str]:
    """(pip-audit's JSON report, or None when it could not produce one; why not)."""
    command = [sys.executable, "-m", "pip_audit", "--no-deps", "--disable-pip", "--progress-spinner", "off"]
    command += ["--format", "json", "--vulnerability-service", service, "--requirement", str(lock)]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        return None, f"no answer within {TIMEOUT_SECONDS} s"
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"exit {proc.returncode}: {last[:300]}"
    return report, ""


def audit(lock: Path, service: str) -> tuple[int, int, list[str], str]:
    """(pins audited, pins in the lock, findings, why nothing was audited)."""
    report, why = pip_audit(lock, service)
    if report is None:
        return 0, 0, [], why
    dependencies = report.get("dependencies", [])
    assert isinstance(dependencies, list)
    audited = [dep for dep in dependencies if "skip_reason" not in dep]
    findings = [
        f"{dep['name']}=={dep['version']}: {vuln['id']} (fixed in {', '.join(vuln.get('fix_versions', [])) or '?'})"
        for dep in audited
        for vuln in dep.get("vulns", [])
    ]
    if not audited and dependencies:
        why = f"not one of {len(dependencies)} pins could be looked up ({dependencies[0].get('skip_reason')})"
    return len(audited), len(dependencies), findings, why


def main(argv: list[str]) -> int:
    locks = [Path(arg).resolve() for arg in argv] or lock_files()
    for service in SERVICES:
        audited, why = 0, ""
        found: list[str] = []
        for number, lock in enumerate(locks):
            done, total, findings, why = audit(lock, service)
            if number == 0 and done == 0:
                break  # this service answers nothing here: do not wait on it for every lock
            audited += done
            name = lock.relative_to(ROOT)
            print(f"pip-audit ({service}): {name}: {done}/{total} pins audited, {len(findings)} known vulnerabilities")
            found += [f"{name}: {finding}" for finding in findings]
        if audited:
            for finding in found:
                print(f"VULNERABLE {finding}")
            return 1 if found else 0
        print(f"pip-audit: the {service} vulnerability service is unreachable from here: {why}")
    print("pip-audit: NOT AUDITED: no vulnerability data could be reached; not failing the build for it")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
