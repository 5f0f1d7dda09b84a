"""The biller catalogue: identifier rules per entity, the shipped CSV, loading updates."""

import pytest

from backend.bill_payments import billers
from backend.core.errors import ValidationError
from tests.services_helpers import loaded


@pytest.fixture
def conn(backend):
    return loaded(backend).db.conn


@pytest.mark.parametrize("code, typed, canonical", [
    ("CNEL-GLR", "0912 345 678", "0912345678"),  # CUEN, 10 digits
    ("CNEL-GYE", "40012345", "40012345"),  # cuenta contrato
    ("EEQ", "1234567", "1234567"),  # cuenta contrato
    ("EEQ", "1710034065", "1710034065"),  # or the holder's cédula
    ("EEQ", "1790011674001", "1790011674001"),  # or RUC
    ("CNT-FIJO", "(02) 234-5678", "022345678"),
    ("CNT-FIJO", "22345678", "022345678"),  # the 0 may be left out
    ("CLARO", "+593 99 123 4567", "0991234567"),
    ("CLARO-REC", "０９９１２３４５６７", "0991234567"),  # fullwidth digits folded
    ("NETLIFE", "1710034065", "1710034065"),
    ("SRI-MAT", "pba-123", "PBA0123"),  # three-digit plates are zero-padded
    ("SRI-MAT", "GSB 1234", "GSB1234"),
    ("SRI-MAT", "P0123456A", "P0123456A"),  # RAMV
    ("ANT-MULTAS", "gsb-0123", "GSB0123"),
    ("ANT-MULTAS", "1710034065", "1710034065"),
    ("ANT-MULTAS", "AB123456", "AB123456"),  # pasaporte
    ("IESS-PLANILLA", "123456789012", "123456789012"),
    ("SUPA", "ab-1234-56", "AB123456"),
])
@pytest.mark.sqlite_only  # input checks before any engine-specific SQL: one engine is enough
def test_identifiers_are_normalised_by_each_entitys_rule(conn, code, typed, canonical):
    assert billers.normalize(billers.get(conn, code), typed) == canonical


@pytest.mark.parametrize("code, typed", [
    ("CNEL-GLR", "123456789"),  # 9 digits
    ("EEQ", "1710034064"),  # a cédula with a wrong check digit
    ("NETLIFE", "1790011675001"),  # RUC with a wrong check digit
    ("CNT-FIJO", "0123456789"),  # no such area code
    ("CLARO", "0891234567"),  # not a mobile
    ("SRI-MAT", "DBA-1234"),  # no province uses D
    ("SRI-MAT", "FBA123"),  # nor F: not a RAMV either, it is shaped like a plate
    ("ANT-MULTAS", "12345"),
    ("CNT-FIJO", "02234567８\u202e"),  # a bidi override hidden in it
    ("CLARO", "099123456\u0661\u200b"),  # zero-width space
    ("SRI-MAT", "РВА1234"),  # Cyrillic look-alike letters
    ("IESS-PLANILLA", "1234567"),
    ("SUPA", "ABCDEFG"),  # no digit
    ("CNEL-GLR", None),
])
@pytest.mark.sqlite_only  # input checks before any engine-specific SQL: one engine is enough
def test_a_wrong_identifier_is_refused_with_the_entitys_own_hint(conn, code, typed):
    biller = billers.get(conn, code)
    with pytest.raises(ValidationError) as err:
        billers.normalize(biller, typed)
    assert err.value.field == "identifier" and biller.hint in err.value.message


def test_the_shipped_catalogue_covers_every_category_with_its_own_collection_account(conn):
    everything = billers.all_billers(conn)
    assert billers.categories(conn) == list(billers.CATEGORIES)
    assert len({b.account_id for b in everything}) == len(everything)
    kinds = {r[0] for r in conn.execute("SELECT kind FROM accounts WHERE id IN (SELECT account_id FROM billers)")}
    assert kinds == {"interna"}
    assert {b.name for b in billers.in_category(conn, "Telefonía móvil")} >= {"Claro (recarga)", "Movistar (pago de plan)"}
    assert billers.get(conn, "CLARO-REC").is_topup and not billers.get(conn, "CLARO").is_topup


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_loading_a_csv_updates_entities_and_refuses_a_bad_file_whole(backend, tmp_path):
    loaded(backend)
    good = tmp_path / "billers.csv"
    good.write_text("code,category,name,id_label,rule,hint,amount_mode,commission,max_amount\n"
                    "EPMAPS,Agua,EPMAPS Agua de Quito,Número de cuenta,digits:6-10,seis a diez dígitos.,factura,0.25,900\n"
                    "EMAPA-A,Agua,EMAPA Ambato,Número de cuenta,digits:5-8,cinco a ocho dígitos.,factura,0,500\n",
                    encoding="utf-8")
    assert billers.load_csv(backend.db, good) == 2
    conn = backend.db.conn
    assert billers.get(conn, "EPMAPS").commission == 25 and billers.get(conn, "EMAPA-A").max_amount == 500_00
    bad = tmp_path / "bad.csv"
    bad.write_text("code,category,name,id_label,rule,hint,amount_mode,commission,max_amount\n"
                   "NEW-1,Agua,Nueva,Cuenta,digits:6,seis dígitos.,factura,0,100\n"
                   "NEW-2,Agua,Otra,Cuenta,regex:.*,cualquier cosa.,factura,0,100\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="Regla de identificador desconocida"):
        billers.load_csv(backend.db, bad)
    with pytest.raises(ValidationError):
        billers.get(conn, "NEW-1")  # nothing of the bad file was written
    assert backend.check() == []


def test_billers_command_lists_and_loads(backend, db_path, tmp_path):
    from tests.core.test_database import cli

    loaded(backend)
    listing = cli("billers", "--db", str(db_path))
    assert listing.returncode == 0 and "Interagua Guayaquil" in listing.stdout
    update = tmp_path / "billers.csv"
    update.write_text("code,category,name,id_label,rule,hint,amount_mode,commission,max_amount\n"
                      "EMAPA-A,Agua,EMAPA Ambato,Número de cuenta,digits:5-8,cinco a ocho dígitos.,factura,0,500\n",
                      encoding="utf-8")
    assert "cargadas o actualizadas: 1" in cli("billers", "--db", str(db_path), "--load", str(update)).stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("code,category\nX,Magia\n", encoding="utf-8")
    out = cli("billers", "--db", str(db_path), "--load", str(bad))
    assert out.returncode == 1 and "No se cargaron entidades" in out.stderr and "Traceback" not in out.stderr
