"""Text from people is data: look-alike digits become ASCII, controls are refused, nothing crashes.

The fuzz tests drive every service entry that takes text with hostile strings (ESC, NUL, C1 controls,
bidi overrides, zero-width characters, lone surrogates, fullwidth and Arabic-Indic digits) and assert
the only outcomes are a typed error or the canonical form, with no control character ever stored.
"""

import json
import re
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.core import institutions
from backend.core.errors import AuthError, NotFound, OtpError, ServiceError, ValidationError
from backend.core.identity import normalize_id, validate_mobile
from backend.core.money import MAX_CENTS, parse_money
from backend.core.text import clean_text, visible
from backend.core.movement_filter import MovementFilter, parse_filter
from backend.security.passwords import USERNAME, check_policy, check_username
from backend.transfers.payees import coop_account
from tests.conftest import add_member, affiliate, last_code, unaffiliated_cedula
from tests.transfer_helpers import number_of

HOSTILE = ["\x1b", "\x00", "\x07", "\x9b", "\u202e", "\u2066", "\u200b", "\ufeff", "\ud800", "\n", "\t",
           "\u2028", "١", "٧", "５", "０", "۳", "\u0301", "Ñ", "é", " ", "-", "/", ".", ",", "$", "%", "_", "'"]
hostile_text = st.lists(st.one_of(st.sampled_from(HOSTILE), st.characters(codec=None), st.sampled_from("0123456789"),
                                  st.sampled_from("abcdefghijklmnopqrstuvwxyzAB")), max_size=24).map("".join)
DB_FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def no_controls(text: str) -> bool:
    return not any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"} for ch in text)


# -- identifiers and amounts: look-alike digits folded, only ASCII kept --------------------------------
def test_lookalike_digits_fold_to_ascii():
    assert normalize_id("cedula", "١٧١٠٠٣٤٠٦٥") == "1710034065"
    assert normalize_id("cedula", "１７１０-０３４ ０６５") == "1710034065"
    assert normalize_id("ruc", "۱۷۱۰۰۳۴۰۶۵۰۰۱") == "1710034065001"
    assert normalize_id("pasaporte", "ab١٢٣٤٥٦") == "AB123456"
    assert validate_mobile("０９９ １２３ ٤٦٧٨") == "0991234678"
    assert parse_money("１٢.٥") == 12_50


@pytest.mark.parametrize("value", ["1710034065\x1b", "17100\u200b34065", "1710034065\u202e", "ＡＢ123456"])
def test_hidden_characters_in_an_id_are_refused(value):
    with pytest.raises(ValidationError) as err:
        normalize_id("pasaporte" if "Ａ" in value else "cedula", value)
    assert err.value.field == "id_number"


def test_affiliation_with_arabic_indic_digits_finds_the_member(backend):
    arabic = "".join(chr(0x0660 + int(d)) for d in unaffiliated_cedula())
    start = backend.auth.start_affiliation("cedula", arabic)
    assert start.member_name == "Jorge Luis Chicaiza Vega"
    actors = [r[0] for r in backend.db.conn.execute("SELECT actor FROM audit_log")]
    assert all(a.isascii() for a in actors)


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_account_numbers_fold_to_ascii(backend, ana):
    number = number_of(backend, ana.accounts[0])
    fullwidth = "".join(chr(0xFF10 + int(d)) for d in number)
    assert coop_account(backend.db.conn, fullwidth).number == number
    institutions.ensure_loaded(backend.db)
    assert institutions.validate_account(backend.db.conn, "0010", "٢٢٠٠١٢٣٤٥٦") == "2200123456"
    with pytest.raises(ValidationError):
        institutions.validate_account(backend.db.conn, "0010", "2200\x1b123456")


# -- free text ------------------------------------------------------------------------------------
def test_movement_filter_text_refuses_controls():
    with pytest.raises(ValidationError) as err:
        parse_filter("", "", "sueldo\x1b[2J")
    assert err.value.field == "texto"
    assert parse_filter("", "", "  Retiro   cajero ").text == "Retiro cajero"
    assert parse_filter("٠١/١٠/٢٠٢٦", "", "").date_from.isoformat() == "2026-10-01"


def test_unknown_username_is_never_stored_raw(backend):
    hostile = "\x1b]0;pwned\x07demo\u202e"
    typed_password = "MiClave-Secreta1"  # a member who typed the password in the user field
    for name in (hostile, typed_password):
        with pytest.raises(AuthError):
            backend.auth.login(name, "x")
    rows = backend.db.conn.execute("SELECT actor, details FROM audit_log WHERE action = 'login'").fetchall()
    stored = " ".join(r[0] + r[1] for r in rows)
    assert no_controls(stored) and "pwned" not in stored and typed_password not in stored
    assert rows[0][0] != rows[1][0] and all(r[0].startswith("desconocido:") for r in rows)
    with pytest.raises(AuthError):  # the same unknown name is the same actor: tries can be correlated
        backend.auth.login(hostile, "y")
    assert backend.db.conn.execute("SELECT actor FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()[0] == rows[0][0]


def test_institutions_csv_refuses_bad_encoding_and_controls(backend, tmp_path):
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("code,name,kind\n0999,Cooperativa Andalucía,cooperative\n".encode("latin-1"))
    with pytest.raises(ValidationError) as err:
        institutions.load_csv(backend.db, bad)
    assert "UTF-8" in err.value.message
    evil = tmp_path / "evil.csv"
    evil.write_text("code,name,kind\n0999,Coop \x1b[31mRoja,cooperative\n", encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        institutions.load_csv(backend.db, evil)
    assert "Línea 2" in err.value.message
    good = tmp_path / "good.csv"
    good.write_text("\ufeffcode,name,kind\n0999,  Cooperativa   Andalucía ,cooperative\n", encoding="utf-8")
    assert institutions.load_csv(backend.db, good) == 1
    assert backend.db.conn.execute("SELECT name FROM institutions WHERE code = '0999'").fetchone()[0] == \
        "Cooperativa Andalucía"


def test_visible_shows_what_would_steer_a_terminal():
    assert visible("ok") == "ok"
    shown = visible("a\x1b[2Jb\u202ec\x00")
    assert "\x1b" not in shown and "\u202e" not in shown and "\x00" not in shown
    assert "\\u001b" in shown and "\\u202e" in shown


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_ids_out_of_range_are_typed_errors(backend, lucia):
    for bad in (2**70, -1, 0, "1", 1.0, True):
        with pytest.raises(NotFound):
            backend.products.movements(lucia.token, bad)
        with pytest.raises(NotFound):
            backend.products.loan_schedule(lucia.token, bad)
    with pytest.raises(ValidationError):
        backend.products.movements(lucia.token, lucia.accounts[0], after=f"2026-01-01 00:00:00|{2**70}")


# -- fuzz: every entry that takes text ----------------------------------------------------------------
@given(st.sampled_from(["cedula", "ruc", "pasaporte", "otro", "\x1b"]), hostile_text)
def test_fuzz_normalize_id(id_type, text):
    try:
        number = normalize_id(id_type, text)
    except ValidationError:
        return
    assert re.fullmatch(r"[A-Z0-9]{6,13}", number)


@given(hostile_text)
def test_fuzz_mobile_and_money(text):
    try:
        assert re.fullmatch(r"09[0-9]{8}", validate_mobile(text))
    except ValidationError:
        pass
    try:
        assert 0 < parse_money(text) <= MAX_CENTS
    except ValidationError:
        pass


def test_printable_text_has_no_refused_character():
    """clean_text skips its character-by-character check for a printable line: that is only sound while no code
    point str.isprintable accepts is in a category clean_text refuses (checked over all of Unicode, this Python)."""
    import sys

    from backend.core.text import is_refused

    assert [hex(cp) for cp in range(sys.maxunicode + 1) if chr(cp).isprintable() and is_refused(chr(cp))] == []


@given(hostile_text, st.integers(min_value=0, max_value=200))
def test_fuzz_clean_text(text, max_len):
    try:
        out = clean_text(text, field="f", label="El texto", max_len=max_len)
    except ValidationError:
        return
    assert no_controls(out.replace("\n", "")) and len(out) <= max_len and out == out.strip()


@given(hostile_text, hostile_text)
def test_fuzz_username_and_password_rules(username, password):
    try:
        assert USERNAME.fullmatch(check_username(username))
    except ValidationError:
        pass
    try:
        check_policy(password, username="jorge.luis", id_number="1710034065")
    except ValidationError:
        return
    assert no_controls(password)


@given(hostile_text, hostile_text, hostile_text)
def test_fuzz_movement_filter(date_from, date_to, text):
    try:
        flt = parse_filter(date_from, date_to, text)
    except ValidationError:
        return
    assert isinstance(flt, MovementFilter) and no_controls(flt.text) and len(flt.text) <= 60


@given(st.binary(max_size=200) | hostile_text.map(lambda t: ("code,name,kind\n0999," + t + ",bank\n")
                                                  .encode("utf-8", "surrogatepass")))
def test_fuzz_institutions_csv(data):
    try:
        rows = institutions.parse_csv(data)
    except ValidationError:
        return
    for code, name, kind in rows:
        assert re.fullmatch(r"[0-9]{4}", code) and no_controls(name) and re.fullmatch(r"[a-z]{2,20}", kind)


@DB_FUZZ
@given(username=hostile_text, password=hostile_text)
def test_fuzz_login(backend, username, password):
    with pytest.raises(AuthError):
        backend.auth.login(username, password)
    actor, details = backend.db.conn.execute(
        "SELECT actor, details FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    assert no_controls(actor) and no_controls(details) and actor.isascii()


@DB_FUZZ
@given(id_type=st.sampled_from(["cedula", "ruc", "pasaporte", "x"]), number=hostile_text)
def test_fuzz_start_affiliation(backend, id_type, number):
    try:
        backend.auth.start_affiliation(id_type, number)
    except (ValidationError, OtpError):
        pass
    for actor, details in backend.db.conn.execute("SELECT actor, details FROM audit_log"):
        assert actor.isascii() and no_controls(actor) and no_controls(details)


@DB_FUZZ
@given(challenge=hostile_text, code=hostile_text)
def test_fuzz_affiliation_code(backend, challenge, code):
    with pytest.raises(OtpError):
        backend.auth.verify_affiliation_code(challenge, code)


@DB_FUZZ
@given(username=hostile_text, password=hostile_text)
def test_fuzz_complete_affiliation(backend, username, password):
    start = backend.auth.start_affiliation("cedula", unaffiliated_cedula()) if not _affiliated(backend) else None
    if start:
        backend.auth.verify_affiliation_code(start.challenge.id, last_code(backend))
        cid = start.challenge.id
    else:
        cid = backend.db.conn.execute("SELECT id FROM otp_challenges ORDER BY created_at DESC LIMIT 1").fetchone()[0]
    try:
        backend.auth.complete_affiliation(cid, username, password)
    except (ValidationError, OtpError):
        pass
    for (name,) in backend.db.conn.execute("SELECT username FROM users"):
        assert USERNAME.fullmatch(name)


def _affiliated(backend) -> bool:
    return backend.db.conn.execute(
        "SELECT COUNT(*) FROM otp_challenges WHERE verified_at IS NOT NULL AND purpose = 'afiliacion'").fetchone()[0] > 0


@DB_FUZZ
@given(number=hostile_text, code=st.sampled_from(["0010", "0036", "COOP", "\x1b", ""]))
def test_fuzz_account_numbers(backend, number, code):
    institutions.ensure_loaded(backend.db)
    conn = backend.db.conn
    for check in (lambda: coop_account(conn, number).number, lambda: institutions.validate_account(conn, code, number)):
        try:
            out = check()
        except ValidationError:
            continue
        assert re.fullmatch(r"[0-9]{5,20}", out)


@DB_FUZZ
@given(cursor=hostile_text, text=hostile_text)
def test_fuzz_movement_pages(backend, lucia, cursor, text):
    try:
        backend.products.movements(lucia.token, lucia.accounts[0], MovementFilter(text=text), after=cursor or None)
    except ServiceError:
        pass


def test_fuzz_keeps_details_json(backend):
    """The audit details column stays JSON whatever was typed (a crash here would lose the entry)."""
    with pytest.raises(AuthError):
        backend.auth.login("\ud800\x00", "\udfff")
    details = backend.db.conn.execute("SELECT details FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert isinstance(json.loads(details), dict)


def test_member_with_hostile_name_is_shown_visibly_in_the_cli(backend, db_path):
    from tests.core.test_database import cli

    add_member(backend, cedula="1104680135", first="Ana\x1b[2J", last="Prueba")
    affiliate(backend, "1104680135", "ana.prueba")
    with backend.db.write() as conn:
        backend.ctx.audit(conn, "ana.prueba\x1b[31m", "prueba", "ok", nota="\u202eabc\x07")
        conn.execute("INSERT INTO outbox (created_at, channel, recipient, body) VALUES (?, 'outbox', ?, ?)",
                     ("2026-11-25 10:00:00", "0991234678", "Hola \x1b]0;titulo\x07 \u202e"))
    for command in ("audit", "outbox"):
        out = cli(command, "--db", str(db_path))
        assert out.returncode == 0, out.stderr
        assert no_controls(out.stdout.replace("\n", "")), command
        assert "\\u001b" in out.stdout


def test_audit_entries_never_store_a_control_character(backend):
    with backend.db.write() as conn:
        backend.ctx.audit(conn, "x\x1b[2J\u202e", "prueba", "ok", motivo="a\x9bb\u2066c\x00", n=3)
    actor, details = backend.db.conn.execute(
        "SELECT actor, details FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    assert no_controls(actor) and no_controls(details)
    assert json.loads(details) == {"motivo": "a\x9bb\u2066c\x00", "n": 3}  # still exact when read back


def test_fullwidth_names_fold_to_plain_letters_and_spaces():
    assert clean_text("ＡＢＣ　Ｔｅｓｔ", field="name", label="El nombre", max_len=40) == "ABC Test"
    assert clean_text("Ｊｏｓé　　Ｐéｒｅｚ", field="name", label="El nombre", max_len=40) == "José Pérez"
    assert clean_text("línea　１\nｄｏｓ", field="m", label="El mensaje", max_len=40, multiline=True) == "línea 1\ndos"
    with pytest.raises(ValidationError):  # folding never lets a hidden character through
        clean_text("ＡＢＣ\u200bＴｅｓｔ", field="name", label="El nombre", max_len=40)
