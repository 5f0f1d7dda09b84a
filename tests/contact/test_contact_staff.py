"""Atención al socio works the Contacto queue: filters, the regulator's deadline, answers the member reads,
closing, roles, hostile text and the audit trail."""

from __future__ import annotations

import pytest

from backend.core.errors import Forbidden, NotFound, ValidationError
from tests.staff_helpers import team

HOSTILE = ["\x1b[2J\x1b[31mRESUELTO", "Respuesta\u202e odacifirev", "oculto\u200b aquí y allá", "corto", "a" * 1001]


@pytest.fixture
def backend(make_backend):
    """Sessions that outlive the days a test moves the clock through."""
    return make_backend(session_idle_seconds=10**8, staff_idle_seconds=10**8)


@pytest.fixture
def staff(backend, clock):
    return team(backend, clock)


def own_cases(backend, staff, **filters):
    """The queue without the demo co-op's sample cases (tests count what they wrote)."""
    return [c for c in backend.contact_staff.cases(staff["atencion"].token, **filters) if c.created_at >= "2026-11-25"]


def test_the_queue_puts_late_reclamos_first_and_filters(backend, lucia, staff, clock):
    late = backend.contact.write(lucia.token, "reclamo", "Me cobraron dos veces la cuota del crédito.")
    clock.advance(days=1)
    consulta = backend.contact.write(lucia.token, "consulta", "¿Qué horario tiene la agencia de Cayambe?")
    recent = backend.contact.write(lucia.token, "reclamo", "La transferencia de ayer no llegó a destino.")
    clock.advance(days=15)  # the first reclamo's deadline (15 days) has passed, the second's is today
    token = staff["atencion"].token
    queue = own_cases(backend, staff)
    assert [c.id for c in queue] == [late.id, recent.id, consulta.id]
    assert queue[0].overdue and queue[0].queue_state == "Vencido" and queue[0].days_left == -1
    assert queue[1].days_left == 0 and not queue[1].overdue
    assert queue[0].member_name == "Lucía Estefanía Guamán Torres"
    assert [c.id for c in own_cases(backend, staff, state="vencidos")] == [late.id]
    assert [c.id for c in own_cases(backend, staff, subject="consulta")] == [consulta.id]
    assert own_cases(backend, staff, state="cerrados") == []
    for bad in ({"state": "abiertos' OR 1=1 --"}, {"subject": "queja"}):
        with pytest.raises(ValidationError):
            backend.contact_staff.cases(token, **bad)


def test_an_answer_reaches_the_member_with_an_sms_and_is_audited(backend, lucia, staff):
    case = backend.contact.write(lucia.token, "reclamo", "Me debitaron dos veces la planilla de luz.")
    answered = backend.contact_staff.answer(staff["atencion"].token, case.id,
                                            "Revisamos tu cuenta y devolvimos el débito duplicado.\nGracias.")
    assert answered.state == "Respondido" and answered.days_left is None
    assert answered.replies[-1].author == "atencion1"
    seen = backend.contact.case(lucia.token, case.id)
    assert seen.state == "Respondido"
    assert seen.replies[-1].body == "Revisamos tu cuenta y devolvimos el débito duplicado.\nGracias."
    sms = backend.outbox(last=1)[-1].body
    assert case.number in sms and "devolvimos" not in sms  # the answer is read in the app, not in an SMS
    entry = backend.audit_log(last=1)[-1]
    assert (entry.actor, entry.action, entry.outcome) == ("atencion1", "contacto.responder", "ok")
    assert "devolvimos" not in entry.details and case.number in entry.details
    member = backend.db.conn.execute("SELECT member_id FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert member == answered.member_id
    assert [c.id for c in own_cases(backend, staff, state="Respondido")] == [case.id]


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_an_answer_after_the_deadline_is_audited_as_late(backend, lucia, staff, clock):
    case = backend.contact.write(lucia.token, "reclamo", "No se acreditó mi depósito del viernes.")
    clock.advance(days=16)
    backend.contact_staff.answer(staff["supervisor"].token, case.id, "Ya se acreditó; disculpa la demora.")
    assert backend.audit_log(last=1)[-1].outcome == "fuera_de_plazo"


@pytest.mark.sqlite_only  # input refused before any SQL (see the marker in pyproject.toml)
@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_answers_are_refused_and_change_nothing(backend, lucia, staff, text):
    case = backend.contact.write(lucia.token, "consulta", "¿Puedo cambiar la fecha de pago de mi cuota?")
    outbox = backend.last_outbox_id()
    with pytest.raises(ValidationError):
        backend.contact_staff.answer(staff["atencion"].token, case.id, text)
    assert backend.contact.case(lucia.token, case.id).replies == ()
    assert backend.last_outbox_id() == outbox


@pytest.mark.sqlite_only(covered="shapes")  # statements covered on PostgreSQL (tests/pg_census.py, rule 2)
def test_closing_a_case(backend, lucia, staff):
    token = staff["atencion"].token
    reclamo = backend.contact.write(lucia.token, "reclamo", "Me cobraron una comisión que no conozco.")
    with pytest.raises(ValidationError, match="después de responderlo"):
        backend.contact_staff.close(token, reclamo.id)
    sugerencia = backend.contact.write(lucia.token, "sugerencia", "Abran una agencia en Tabacundo, por favor.")
    closed = backend.contact_staff.close(token, sugerencia.id)
    assert closed.queue_state == "Cerrado" and closed.closed_by == "atencion1"
    with pytest.raises(ValidationError, match="cerrado"):
        backend.contact_staff.answer(token, sugerencia.id, "Gracias por tu sugerencia, la estudiaremos.")
    with pytest.raises(ValidationError, match="ya está cerrado"):
        backend.contact_staff.close(token, sugerencia.id)
    backend.contact_staff.answer(token, reclamo.id, "Era el costo del estado de cuenta; lo devolvimos.")
    backend.contact_staff.close(token, reclamo.id)
    assert own_cases(backend, staff) == []
    assert {c.id for c in own_cases(backend, staff, state="cerrados")} == {reclamo.id, sugerencia.id}
    assert backend.audit_log(last=1)[-1].action == "contacto.cerrar"


@pytest.mark.sqlite_only(covered=True)
def test_members_and_other_roles_cannot_work_the_queue(backend, lucia, staff):
    case = backend.contact.write(lucia.token, "consulta", "¿Cuál es el cupo de transferencias diario?")
    for token in (lucia.token, staff["cajero"].token, staff["auditor"].token, ""):
        for call in (lambda t: backend.contact_staff.cases(t), lambda t: backend.contact_staff.case(t, case.id),
                     lambda t: backend.contact_staff.answer(t, case.id, "Respuesta de alguien que no debe."),
                     lambda t: backend.contact_staff.close(t, case.id)):
            with pytest.raises((Forbidden, Exception)) as err:
                call(token)
            assert not isinstance(err.value, (ValidationError, NotFound))
    assert backend.contact.case(lucia.token, case.id).replies == ()


@pytest.mark.sqlite_only(covered=True)
def test_unknown_cases(backend, staff):
    for bad in (10**6, True, "1"):
        with pytest.raises(NotFound):
            backend.contact_staff.case(staff["atencion"].token, bad)


def test_the_demo_queue(backend, staff):
    """The demo member's sample cases: a reclamo answered, a reclamo open three days before its deadline."""
    demo = [c for c in backend.contact_staff.cases(staff["atencion"].token, state="todos")
            if c.created_at < "2026-11-25"]
    assert [(c.subject, c.state, c.days_left) for c in demo] == [("reclamo", "Recibido", 3),
                                                                ("reclamo", "Respondido", None),
                                                                ("consulta", "Recibido", None)]
    assert backend.contact_staff.case(staff["atencion"].token, demo[1].id).replies[0].author == "atencion"


def test_a_member_replies_to_an_answer_and_the_case_reopens_for_staff(backend, lucia, staff, clock, ana):
    token = staff["atencion"].token
    case = backend.contact.write(lucia.token, "reclamo", "Me debitaron dos veces la planilla de luz.")
    with pytest.raises(ValidationError, match="espera nuestra respuesta"):  # nothing to reply to yet
        backend.contact.reply(lucia.token, case.id, "¿Ya lo revisaron? Sigo esperando.")
    backend.contact_staff.answer(token, case.id, "Devolvimos el débito duplicado a tu cuenta.")
    assert backend.contact.case(lucia.token, case.id).can_reply
    with pytest.raises(NotFound):  # another member's case
        backend.contact.reply(ana.token, case.id, "Quiero ver este caso ajeno, por favor.")
    for text in HOSTILE:
        with pytest.raises(ValidationError):
            backend.contact.reply(lucia.token, case.id, text)
    clock.advance(days=20)  # the first deadline has passed: the reply brings a fresh one
    seen = backend.contact.reply(lucia.token, case.id, "Solo devolvieron uno de los dos débitos.")
    assert seen.state == "Recibido" and not seen.can_reply and seen.days_left == 15
    assert [(r.from_member, r.body[:5]) for r in seen.replies] == [(False, "Devol"), (True, "Solo ")]
    queue = {c.id: c for c in own_cases(backend, staff, state="Recibido")}
    assert queue[case.id].queue_state == "Recibido" and not queue[case.id].overdue
    detail = backend.contact_staff.case(token, case.id)
    assert [(r.from_member, r.author) for r in detail.replies] == [(False, "atencion1"), (True, lucia_name(backend))]
    assert backend.audit_log(last=1)[-1].action == "contacto.replicar"
    backend.contact_staff.answer(token, case.id, "Devolvimos también el segundo débito.")
    backend.contact_staff.close(token, case.id)
    with pytest.raises(ValidationError, match="cerrado"):
        backend.contact.reply(lucia.token, case.id, "Gracias, todo en orden ahora.")
    assert len(backend.contact.case(lucia.token, case.id).replies) == 3


@pytest.mark.sqlite_only(covered=True)
def test_replies_count_toward_the_messages_per_day(make_backend, lucia, clock):
    backend = make_backend(contact_max_messages_per_day=2, session_idle_seconds=10**8, staff_idle_seconds=10**8)
    staff = team(backend, clock)
    case = backend.contact.write(lucia.token, "consulta", "¿Qué horario tiene la agencia de Cayambe?")
    backend.contact_staff.answer(staff["atencion"].token, case.id, "De lunes a viernes de 08:30 a 17:00.")
    backend.contact.reply(lucia.token, case.id, "¿Y los sábados abren también?")
    with pytest.raises(ValidationError, match="hasta 2 mensajes"):
        backend.contact.write(lucia.token, "consulta", "¿Tienen cajero automático en Cayambe?")


def lucia_name(backend) -> str:
    return backend.db.conn.execute("SELECT username FROM users WHERE member_id = 1").fetchone()[0]
