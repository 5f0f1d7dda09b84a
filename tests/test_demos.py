"""Every script in demos/ plays headless against a fresh demo co-op: a broken flow fails CI. Plus the
player itself: a failed expectation exits non-zero with the screen, and --record writes asciicast v2."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from cooprogreso_tui import play

from .channels import ROOT, artifacts, cli, make_demo

DEMOS = sorted((ROOT / "demos").glob("*.toml"))


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory) -> Path:
    return make_demo(tmp_path_factory.mktemp("demos") / "demo.sqlite3")


def _play(script: Path, db: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(cli("play", str(script), "--db", str(db), "--headless", *extra),
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("script", DEMOS, ids=[p.stem for p in DEMOS])
def test_demo_script_plays(script, demo_template, tmp_path):
    db = tmp_path / "coop.sqlite3"
    shutil.copy(demo_template, db)
    shots = artifacts("demos") / script.stem
    out = _play(script, db, "--screenshots", str(shots))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "completa" in out.stdout


def test_every_demo_parses():
    assert len(DEMOS) >= 2
    for script in DEMOS:
        assert play.load(script).steps


def test_a_failed_expectation_fails_the_run_and_shows_the_screen(demo_template, tmp_path):
    db = tmp_path / "coop.sqlite3"
    shutil.copy(demo_template, db)
    script = tmp_path / "roto.toml"
    script.write_text('title = "Roto"\ntimeout = 2\n[[step]]\nwait = "Usuario"\n[[step]]\nexpect = "Texto que no existe"\n')
    out = _play(script, db)
    assert out.returncode == 1
    assert "paso 2" in out.stderr and "Texto que no existe" in out.stderr and "Contraseña" in out.stderr


def test_record_writes_asciicast_v2(demo_template, tmp_path):
    db = tmp_path / "coop.sqlite3"
    shutil.copy(demo_template, db)
    script = tmp_path / "corto.toml"
    script.write_text('title = "Corto"\n[[step]]\nwait = "Usuario"\n[[step]]\ntype = "demo"\n'
                      '[[step]]\nexpect = "demo"\n')
    cast = tmp_path / "sesion.cast"
    out = _play(script, db, "--record", str(cast))
    assert out.returncode == 0, out.stderr
    lines = cast.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    assert header["version"] == 2 and (header["width"], header["height"]) == (80, 24)
    events = [json.loads(line) for line in lines[1:]]
    assert len(events) >= 2 and all(e[1] == "o" and isinstance(e[2], str) for e in events)
    assert [e[0] for e in events] == sorted(e[0] for e in events)
    assert any("demo" in e[2] for e in events[1:])


@pytest.mark.parametrize("text, message", [
    ('[[step]]\nwait = "x"\npress = "a"\n', "exactamente una acción"),
    ('[[step]]\nteclear = "x"\n', "clave desconocida"),
    ('size = [10, 5]\n[[step]]\nwait = "x"\n', "size"),
    ('title = "x"\n', "no tiene pasos"),
    ('[[step]]\ntype_code = "123456"\n', "type_code"),
    ('[[step\n', "TOML"),
])
def test_bad_scripts_are_refused_with_a_reason(tmp_path, text, message):
    path = tmp_path / "malo.toml"
    path.write_text(text)
    with pytest.raises(play.ScriptError, match=message):
        play.load(path)
