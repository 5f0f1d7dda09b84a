"""The demo phone shows one person's SMS only: the signed-in member's, or before sign-in the phone a
code was just sent to; never another member's (the demo channel is a privacy boundary too)."""

from __future__ import annotations

from backend.demo.coop import cedula
from tests.conftest import add_member, affiliate


def _sms(backend, member_id: int) -> str:
    return backend.otp.issue(member_id, "transferencia", {"amount": 1, "origin": "A", "destination": "B"}, "t").id


def test_only_the_phone_of_the_challenge_or_of_the_signed_in_member(backend):
    start = backend.last_outbox_id()
    ana, _ = add_member(backend, cedula="1104680135", mobile="0991234678")
    luis, _ = add_member(backend, cedula=cedula("170000310"), mobile="0987654321")
    other = _sms(backend, luis)
    mine = _sms(backend, ana)
    messages, last = backend.demo_phone(start, challenge_id=mine)
    assert [m.recipient for m in messages] == ["0991234678"] and last == backend.last_outbox_id()
    assert backend.demo_phone(start)[0] == []  # nobody signed in and no code asked: nothing shown
    assert [m.recipient for m in backend.demo_phone(start, challenge_id=other)[0]] == ["0987654321"]
    affiliate(backend, "1104680135", "anaprueba")
    start = backend.last_outbox_id()
    _sms(backend, luis)
    _sms(backend, ana)
    token = backend.auth.login("anaprueba", "Clave2026x").token
    assert {m.recipient for m in backend.demo_phone(start, token=token)[0]} == {"0991234678"}
