"""Regulatory data we could not verify says so: the areas read the flag, `check` and `status` warn, Ayuda tells
the member what is verified and what is not (backend/core/regulatory_data.py)."""

import pytest

from backend.branch import cash_declaration
from backend.cards import card_arrears
from backend.core import regulatory_data
from backend.core.settings import Settings
from backend.help.faq import faqs
from cooprogreso_tui import cli


def test_the_card_mora_and_the_resu_layout_are_read_as_unverified_with_what_is_missing():
    mora = card_arrears.mora_rule()
    assert mora.verified is False and "escala por días de atraso" in mora.unverified
    assert "hasta 10 %" in mora.unverified  # what is verified is said too
    resu = cash_declaration.rule()
    assert resu.verified_layout is False and "formato oficial RESU" in resu.unverified
    said = regulatory_data.warnings()
    assert len(said) == 2
    assert said[0].startswith("Interés de mora de tarjetas: datos sin verificar") and "mora_tarjeta.toml" in said[0]
    assert said[1].startswith("Reporte RESU de efectivo para la UAFE: datos sin verificar") and "uafe_resu.toml" in said[1]


@pytest.mark.parametrize("text", [
    'factor = "1.03"\n',  # no flag: never read as verified
    'verificado = "no"\nfactor = "1.03"\n',  # not a boolean
    'verificado = false\nsin_verificar = "  "\n',  # unverified without saying what
])
def test_a_file_that_does_not_say_whether_it_is_verified_is_refused(text):
    with pytest.raises(ValueError):
        regulatory_data.parse("x.toml", text)


def test_a_verified_file_has_no_warning():
    assert regulatory_data.parse("x.toml", "verificado = true\n")["verificado"] is True
    assert regulatory_data.Provenance("x.toml", "X", True, "").warning() is None


@pytest.mark.sqlite_only  # the command line over the same files
def test_check_and_status_warn_about_unverified_data(backend, db_path, capsys):
    import json

    capsys.readouterr()
    assert cli.main(["check", "--db", str(db_path)]) == 0  # told, never a failure of the books
    out = capsys.readouterr().out
    assert "Aviso: Interés de mora de tarjetas: datos sin verificar" in out
    assert "Aviso: Reporte RESU de efectivo para la UAFE: datos sin verificar" in out
    code = cli.main(["status", "--db", str(db_path), "--json"])
    report = json.loads(capsys.readouterr().out)
    flagged = [c for c in report["verificaciones"] if c["name"] == "datos_regulatorios"]
    assert [c["level"] for c in flagged] == ["AVISO", "AVISO"] and code >= 1
    assert "escala por días de atraso" in flagged[0]["message"]


def test_ayuda_says_what_is_verified_about_card_mora_and_what_is_not():
    answer = next(f for f in faqs(Settings()) if f.id == "tarjeta-mora").answer
    assert "Código Civil (art. 2113)" in answer
    assert "Banco Central del Ecuador" in answer and "hasta 10 %" in answer  # verified, with its source
    if not card_arrears.mora_rule().verified:
        assert "aún no hemos verificado" in answer and "escala de recargos por días de atraso" in answer
    assert f"recargo del {(card_arrears.mora_rule().factor - 1) * 100:.0f} %" in answer  # the factor applied
