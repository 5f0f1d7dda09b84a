"""6. Contacto: the directory as data, «Escríbenos» cases, their deadlines, ownership and hostile text."""

import pytest

from backend.contact import contact
from backend.core.errors import NotFound, ValidationError
from backend.core.settings import Settings
from tests.conftest import without_demo_cases

HOSTILE = ["\x1b[2J\x1b[31mPAGADO", "Hola\u202e odacifirev", "texto\u200b oculto aquí", "nul\x00 byte aquí ok",
           "a" * 1001, "corto", "   \n   "]


def count(backend, table):
    return backend.db.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_directory_is_the_bundled_demo_set_until_a_deployment_loads_its_own(backend, lucia, tmp_path):
    channels = backend.contact.channels(lucia.token)
    assert {c.kind for c in channels} == {"call_center", "whatsapp", "email", "web"}
    assert all(c.demo for c in channels)
    quito = backend.contact.agencies(lucia.token, "Quito")
    assert quito and all(a.city == "Quito" for a in quito)
    assert len(backend.contact.agencies(lucia.token)) > len(quito)
    assert "Quito" in backend.contact.cities(lucia.token)
    assert backend.contact.agencies(lucia.token, "Quito' OR '1'='1") == []
    own = tmp_path / "agencias.csv"
    own.write_text("code,name,city,address,hours,phone\nLOJA,Loja Centro,Loja,Bolívar 10-20,L–V 08:00–16:00,"
                   "(07) 258-0000\n", encoding="utf-8")
    assert contact.load_csv(backend.db, agencies=own) == (0, 1)
    agencies = backend.contact.agencies(lucia.token)
    assert [(a.code, a.demo) for a in agencies] == [("LOJA", False)]
    assert backend.contact.channels(lucia.token) == channels  # channels untouched


def test_reloading_the_agencies_keeps_each_agencys_printer(backend, tmp_path):
    """Issue 22: `cooprogreso printer` sets an agency's CUPS queue; a new agencies file (hours changed) must not
    silently leave the tellers of that agency without «Imprimir»."""
    def agencies_file(*rows: str):
        path = tmp_path / "agencias.csv"
        path.write_text("code,name,city,address,hours,phone\n" + "".join(rows), encoding="utf-8")
        return path

    loja = "LOJA,Loja Centro,Loja,Bolívar 10-20,L–V 08:00–16:00,(07) 258-0000\n"
    quito = "QUITO,Quito Norte,Quito,Av. Amazonas N34,L–V 08:00–17:00,(02) 399-8001\n"
    assert contact.load_csv(backend.db, agencies=agencies_file(loja, quito)) == (0, 2)
    with backend.db.write() as conn:  # as `cooprogreso printer --agency CODE --queue QUEUE` does
        conn.execute("UPDATE agencies SET printer = 'loja-caja1' WHERE code = 'LOJA'")
        conn.execute("UPDATE agencies SET printer = 'quito-caja' WHERE code = 'QUITO'")
    cuenca = "CUENCA,Cuenca,Cuenca,Gran Colombia 7-21,L–V 08:00–16:00,(07) 283-0000\n"
    assert contact.load_csv(backend.db, agencies=agencies_file(loja.replace("16:00", "17:00"), cuenca)) == (0, 2)
    rows = dict(backend.db.conn.execute("SELECT code, printer FROM agencies").fetchall())
    assert rows == {"LOJA": "loja-caja1", "CUENCA": ""}  # QUITO left the file and its printer with it
    assert backend.db.conn.execute("SELECT hours FROM agencies WHERE code = 'LOJA'").fetchone()[0].endswith("17:00")


def test_a_directory_file_with_hidden_characters_is_refused(backend, tmp_path):
    bad = tmp_path / "canales.csv"
    bad.write_text("kind,label,value,hours\nweb,Sitio,https://evil\u202e.ec,siempre\n", encoding="utf-8")
    before = count(backend, "contact_channels")
    with pytest.raises(ValidationError):
        contact.load_csv(backend.db, channels=bad)
    assert count(backend, "contact_channels") == before


def test_a_reclamo_gets_a_number_the_regulators_deadline_and_an_sms(backend, lucia):
    without_demo_cases(backend)
    case = backend.contact.write(lucia.token, "reclamo", "Me debitaron dos veces la planilla de luz.\nRevisen.")
    assert case.number == f"C-2026-{case.id:06d}" and case.state == "Recibido"
    assert case.due_on.isoformat() == "2026-12-10" and case.days_left == 15  # 15 calendar days from 25/11
    assert case.body == "Me debitaron dos veces la planilla de luz.\nRevisen."
    sms = backend.outbox(last=1)[-1].body
    assert case.number in sms and "10/12/2026" in sms
    audit = backend.audit_log(last=1)[-1]
    assert audit.action == "contacto.escribir" and "planilla" not in audit.details
    consulta = backend.contact.write(lucia.token, "consulta", "¿Cuál es el horario de la agencia Cayambe?")
    assert consulta.due_on is None and consulta.days_left is None
    assert [c.id for c in backend.contact.cases(lucia.token)] == [consulta.id, case.id]


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_the_deadline_counts_down_and_shows_when_late(make_backend, lucia, clock):
    backend = make_backend(reclamo_response_days=5)
    case = backend.contact.write(lucia.token, "reclamo", "No me llegó la transferencia de ayer.")
    clock.advance(days=7)
    token = backend.auth.login("demo", "Demo-2026!").token
    late = backend.contact.case(token, case.id)
    assert late.days_left == -2 and late.state_label == "Recibido · plazo vencido"


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.sqlite_only  # input checks before any engine-specific SQL: one engine is enough
def test_hostile_or_bad_text_is_refused_and_nothing_is_stored(backend, lucia, text):
    before = (count(backend, "contact_cases"), count(backend, "outbox"))
    with pytest.raises(ValidationError) as info:
        backend.contact.write(lucia.token, "consulta", text)
    assert info.value.field == "text"
    assert (count(backend, "contact_cases"), count(backend, "outbox")) == before


@pytest.mark.sqlite_only(covered=True)
def test_a_subject_off_the_list_is_refused(backend, lucia):
    with pytest.raises(ValidationError) as info:
        backend.contact.write(lucia.token, "denuncia'; DROP TABLE users;--", "Un mensaje suficientemente largo.")
    assert info.value.field == "subject"


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_exactly_1000_characters_are_accepted(backend, lucia):
    case = backend.contact.write(lucia.token, "sugerencia", "x" * 1000)
    assert len(case.body) == 1000


@pytest.mark.sqlite_only(covered=True)
def test_a_member_sees_only_their_own_cases(backend, lucia, ana):
    case = backend.contact.write(lucia.token, "consulta", "Una consulta privada de Lucía.")
    with pytest.raises(NotFound):
        backend.contact.case(ana.token, case.id)
    assert backend.contact.cases(ana.token) == []


@pytest.mark.sqlite_only(covered=True)
def test_messages_per_day_are_limited(make_backend, lucia):
    backend = make_backend(contact_max_messages_per_day=2)
    for n in range(2):
        backend.contact.write(lucia.token, "consulta", f"Consulta número {n} de hoy.")
    with pytest.raises(ValidationError) as info:
        backend.contact.write(lucia.token, "consulta", "Una más, la tercera de hoy.")
    assert info.value.code == "contact_limit"


def test_case_numbers_parse_back():
    assert contact.parse_case_number(" C-2026-000123 ") == 123
    with pytest.raises(ValidationError):
        contact.parse_case_number("C-2026-12a")


def test_settings_default_to_the_regulators_fifteen_days():
    assert Settings().reclamo_response_days == 15


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_cli_loads_the_cooperatives_own_agencies(db_path, tmp_path, capsys):
    from cooprogreso_tui.cli import main

    own = tmp_path / "agencias.csv"
    own.write_text("code,name,city,address,hours,phone\nLOJA,Loja Centro,Loja,Bolívar 10-20,L–V,(07) 258-0000\n",
                   encoding="utf-8")
    assert main(["contacto", "--db", str(db_path), "--agencias", str(own)]) == 0
    assert "agencias cargadas: 1" in capsys.readouterr().out
    bad = tmp_path / "malas.csv"
    bad.write_text("code,name,city,address,hours,phone\nX Y,\x1b[31m,Loja,a,b,c\n", encoding="utf-8")
    assert main(["contacto", "--db", str(db_path), "--agencias", str(bad)]) == 1
    assert "\x1b" not in capsys.readouterr().err
    assert main(["contacto", "--db", str(db_path)]) == 2
