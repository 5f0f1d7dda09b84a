"""8. Ayuda: the FAQ as data, its search, per-screen help from BINDINGS, F1 and the command palette."""

import importlib
import inspect
import pkgutil
import re
from dataclasses import replace

import pytest
from textual.screen import Screen

import screens
from backend.core.settings import Settings
from backend.help.faq import faqs, fold, search
from tests.conftest import unaffiliated_cedula
from screens.contact.contact import ContactScreen
from screens.help.help import AboutScreen, FaqScreen, HelpModal, screen_help, screen_purpose
from screens.menu.registry import by_key
from screens.products.position import MovementsScreen
from screens.security.login import LoginScreen
from tests.ui import SIZE, login, make_app, screen_text, settle, type_into


def test_search_finds_a_faq_by_a_word_only_in_its_answer():
    entries = faqs(Settings())
    found = search(entries, "señal")
    assert [e.id for e in found] == ["codigo-no-llega"]
    assert "señal" not in found[0].question.lower() and "señal" in found[0].answer


def test_search_ignores_accents_and_case_and_needs_every_word():
    entries = faqs(Settings())
    assert [e.id for e in search(entries, "CODIGO  Contrasena telefono")] == ["seguridad-codigo"]
    assert search(entries, "cosede") == search(entries, "Cosedé")
    assert search(entries, "") == entries
    assert search(entries, "zzzz") == []
    assert search(entries, "blo")[0].id == "usuario-bloqueado"  # a word being typed matches as a prefix


def test_answers_say_what_this_deployment_does():
    custom = replace(Settings(), lockout_minutes=45, limit_terceros_tx=123_45, reclamo_response_days=9)
    answers = {e.id: e.answer for e in faqs(custom)}
    assert "45 minutos" in answers["usuario-bloqueado"]
    assert "$123.45 por transacción" in answers["limites"]
    assert "9 días" in answers["reclamos"]
    for entry in faqs(Settings()):
        assert "{" not in entry.answer and "}" not in entry.answer
    topics = {e.id for e in faqs(Settings())}
    for needed in ("afiliacion", "codigo-no-llega", "usuario-bloqueado", "limites", "estados-interbancaria",
                   "diferidos", "pagos-programados", "seguridad-codigo"):
        assert needed in topics


def test_faq_placeholders_never_reach_secrets(monkeypatch):
    from backend.help import faq as help_mod

    raw = ({"id": "x", "tema": "t", "pregunta": "p", "respuesta": "{sms_gateway_token}"},)
    monkeypatch.setattr(help_mod, "_raw", lambda: raw)
    try:
        faqs(replace(Settings(), sms_gateway_token="s3cr3t"))
    except KeyError:
        pass
    else:
        raise AssertionError("a FAQ printed a gateway token")


BASES = {"MemberScreen"}  # frames other screens are built on, never shown by themselves


def _screen_classes():
    for info in pkgutil.walk_packages(screens.__path__, "screens."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Screen) and cls.__module__ == module.__name__ and cls.__name__ not in BASES:
                yield cls


def test_every_screen_says_what_it_is_for():
    missing = []
    for cls in _screen_classes():
        fake = cls.__new__(cls)  # help is read from the class: no need to build the screen
        title, purpose = screen_purpose(fake)
        if not purpose:
            missing.append(cls.__name__)
    assert not missing, f"add HELP = '…' (what it is for, in Spanish) to: {missing}"


def test_screen_keys_come_from_its_bindings():
    topic = screen_help(MovementsScreen.__new__(MovementsScreen))
    keys = dict(topic.keys)
    assert keys["e"] == "Exportar CSV: guardar los movimientos filtrados" and keys["n"].startswith("Siguiente")
    assert keys["Esc"].startswith("Volver") and keys["Ctrl+S"].startswith("SALIR") and keys["F1"].startswith("Ayuda")
    assert "Tab" not in keys  # Textual's own keys are not the co-op's to explain
    section_screen = ContactScreen()
    section_screen.section_key = "contacto_mensajes"
    assert screen_purpose(section_screen) == ("Mis mensajes", by_key("contacto_mensajes").help)


@pytest.mark.sqlite_only  # a Pilot test over help texts: UI tests run on SQLite (as test_ui_* modules)
async def test_f1_opens_the_help_of_the_screen_on_top(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpModal) and "Regístrate aquí" in screen_text(app)
        await pilot.press("f1")  # F1 again closes it, it does not stack
        await pilot.pause()
        assert isinstance(app.screen, LoginScreen)
        await login(pilot)
        await pilot.press("1")
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause()
        text = screen_text(app)
        assert "Ayuda · Productos" in text and "Amortización: cuotas del crédito" in text, text[-3000:]
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpModal)


@pytest.mark.sqlite_only  # a Pilot test over help texts: UI tests run on SQLite (as test_ui_* modules)
async def test_faq_filters_as_you_type(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        app.push_screen(FaqScreen())
        await settle(pilot)
        await type_into(pilot, "#faq-search", "cosede")
        await pilot.pause()
        screen = app.screen
        assert [e.id for e in screen.shown] == ["seguro-depositos"]
        assert "Seguro de Depósitos" in screen_text(app)
        await type_into(pilot, "#faq-search", "qqqq")
        await pilot.pause()
        assert "No encontramos esa palabra" in screen_text(app)


@pytest.mark.sqlite_only  # a Pilot test over help texts: UI tests run on SQLite (as test_ui_* modules)
async def test_palette_reaches_sections_and_help_topics(backend):
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"agencias")
        await pilot.pause(0.3)
        assert "Abrir" not in screen_text(app)  # nobody is signed in: help only
        await pilot.press("escape")
        await pilot.pause()
        await login(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"agencias")
        await pilot.pause(0.3)
        assert "Abrir · Contacto" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ContactScreen)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"bolsillo")  # hostile nonsense: nothing matches, nothing breaks
        await pilot.pause(0.3)
        await pilot.press("escape")
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"señal")  # a word that only an answer holds
        await pilot.pause(0.3)
        assert "No me llega el código" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, HelpModal) and "Reenviar código" in screen_text(app)


def test_fold():
    assert fold("Código ÑANDÚ") == "codigo nandu"
    assert re.fullmatch(r"[a-z ]+", fold("Árbol Éxito"))


@pytest.mark.sqlite_only  # a Pilot test over help texts: UI tests run on SQLite (as test_ui_* modules)
async def test_ayuda_shows_the_calendar_in_force_and_its_source(backend):
    from screens.help.help import HolidaysScreen

    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        app.push_screen(FaqScreen())
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, HolidaysScreen)
        text = screen_text(app)
        assert "Feriados 2026" in text and "02/01/2026" in text and "Puente de Año Nuevo" in text, text
        assert "siguiente día hábil" in text and "Fuente:" in text
        app.screen.query_one("#holidays-scroll").scroll_end(animate=False)
        await settle(pilot)
        assert "Decreto Ejecutivo 249" in screen_text(app)
        await pilot.press("right")
        await settle(pilot)
        text = screen_text(app)
        assert "Feriados 2027" in text and "09/08/2027" in text and "sin verificar" in text
        assert "10/08/2027" not in text  # the moved holiday's historical date is a business day


async def test_about_names_the_database_on_either_engine(backend):
    """«Acerca de» on a PostgreSQL co-op ended the app (`PgDatabase` has no `path`): it shows the URL, no password."""
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        app.push_screen(AboutScreen())
        await settle(pilot)
        assert isinstance(app.screen, AboutScreen)
        text = screen_text(app)
        assert "Base de datos" in text
        assert str(backend.db.target)[:30] in text  # the file, or the URL (wrapped at 80 columns)


@pytest.mark.sqlite_only  # a Pilot test over help texts: UI tests run on SQLite (as test_ui_* modules)
async def test_ayuda_shows_the_rate_caps_in_force_with_their_source(backend):
    from screens.help.help import RatesScreen

    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        app.push_screen(FaqScreen())
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        assert isinstance(app.screen, RatesScreen)
        text = screen_text(app)
        assert "Tasas máximas vigentes al 25/11/2026" in text, text
        assert "Consumo" in text and "16.77%" in text and "Inmobiliario" in text and "10.40%" in text
        assert "sin verificar" in text
        app.screen.query_one("#rates-scroll").scroll_end(animate=False)
        await settle(pilot)
        text = screen_text(app)
        assert "Fuente" in text and "JPRF-F-2022-031" in text and "31/12/2025" in text
        assert "cada mes" in text  # the shipped table is older than rate_table_max_age_days: said, not hidden


@pytest.mark.sqlite_only(covered=True)
def test_the_faq_says_the_code_lasts_as_long_as_the_sms_says(backend):
    """Issue 21 point 12: the FAQ said «300 segundos» where the SMS said «5 min»."""
    backend.auth.start_affiliation("cedula", unaffiliated_cedula())
    assert "Vence en 5 minutos." in backend.outbox(last=1)[-1].body
    answer = {e.id: e.answer for e in faqs(Settings())}["codigo-no-llega"]
    assert "vale 5 minutos" in answer and "300" not in answer
    assert "Pasados 30 segundos" in answer
    assert {e.id: e.answer for e in faqs(replace(Settings(), otp_ttl_seconds=90))}["codigo-no-llega"].count("90 segundos") == 1
