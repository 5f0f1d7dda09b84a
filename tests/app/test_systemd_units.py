"""The systemd units in deploy/systemd: every service that runs the app has the web's sandbox (the SSH sessions'
warm server too: its sessions write only to the pty they are handed, so a private /dev takes nothing from them),
and systemd itself accepts each unit."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.sqlite_only  # about files, not engines

UNITS = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
SERVICES = ("cooprogreso-web.service", "cooprogreso-worker.service", "cooprogreso-warm.service")
# What a unit may choose for itself; every other [Service] directive from NoNewPrivileges on is the sandbox.
OWN = {"Type", "User", "Group", "EnvironmentFile", "RuntimeDirectory", "RuntimeDirectoryMode", "ExecStart",
       "KillMode", "KillSignal", "Restart", "RestartSec", "TimeoutStopSec", "StandardOutput", "StandardError",
       "SyslogIdentifier"}


def _service(name: str) -> list[tuple[str, str]]:
    text = (UNITS / name).read_text(encoding="utf-8")
    body = text.split("[Service]", 1)[1].split("\n[", 1)[0]
    return [(m.group(1), m.group(2).strip()) for m in re.finditer(r"^([A-Za-z]+)=(.*)$", body, re.M)]


def _sandbox(name: str) -> list[tuple[str, str]]:
    return sorted(item for item in _service(name) if item[0] not in OWN)


@pytest.mark.parametrize("name", SERVICES[1:])
def test_every_service_has_the_webs_sandbox(name):
    assert _sandbox(name) == _sandbox("cooprogreso-web.service")
    assert ("PrivateDevices", "yes") in _sandbox(name)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
@pytest.mark.parametrize("name", SERVICES)
def test_systemd_accepts_the_unit(name, tmp_path):
    """`systemd-analyze verify` on a copy whose ExecStart is an executable this machine has (the app's path is
    /opt/cooprogreso/venv, which exists only where it is deployed)."""
    text = (UNITS / name).read_text(encoding="utf-8")
    copy = tmp_path / name
    copy.write_text(re.sub(r"^ExecStart=\S+", f"ExecStart={shutil.which('true')}", text, flags=re.M),
                    encoding="utf-8")
    out = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60)
    problems = [line for line in (out.stdout + out.stderr).splitlines() if name in line or "Unknown" in line]
    assert out.returncode == 0 and not problems, out.stdout + out.stderr
