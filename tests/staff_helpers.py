"""Staff users for tests: enrolled, and signed in with a code from their authenticator secret."""

from __future__ import annotations

from dataclasses import dataclass

from backend.security import totp

PASSWORD = "Ventanilla-2026"


@dataclass
class Staff:
    username: str
    role: str
    secret: str
    token: str = ""


def enrol(backend, username: str, role: str, name: str = "", cedula: str | None = None) -> Staff:
    enrolment = backend.auth.staff_directory.add(username, role, PASSWORD, name or username.title(), cedula=cedula)
    return Staff(enrolment.username, role, enrolment.secret)


def code_now(backend, staff: Staff, steps: int = 0) -> str:
    return totp.code_at(staff.secret, totp.step_at(backend.now(), backend.ctx.clock.zone) + steps)


def sign_in(backend, staff: Staff, clock=None) -> Staff:
    """Password then code; advances the fixed clock a step first so a code is never reused."""
    if clock is not None:
        clock.advance(seconds=totp.STEP_SECONDS)
    challenge = backend.auth.login(staff.username, PASSWORD)
    staff.token = backend.auth.staff_code(challenge.ticket, code_now(backend, staff)).token
    return staff


def team(backend, clock) -> dict[str, Staff]:
    """One signed-in user per staff role, plus a second cajero and supervisor (maker-checker)."""
    people = {  # fictional cédulas with valid check digits (Guayas), none a member's or a demo staff user's
        "cajero": enrol(backend, "cajero1", "cajero", "Rosa Quispe", "0901234567"),
        "cajero2": enrol(backend, "ventanilla2", "cajero", "Pablo Andrade", "0902345677"),
        "atencion": enrol(backend, "atencion1", "atencion", "Marta Vélez", "0903456788"),
        "supervisor": enrol(backend, "supervisor1", "supervisor", "Hugo Torres", "0904567898"),
        "supervisor2": enrol(backend, "supervisor2", "supervisor", "Inés Mora", "0905678918"),
        "auditor": enrol(backend, "auditor1", "auditor", "Ana Ruiz", "0906789128"),
        "cumplimiento": enrol(backend, "cumplimiento1", "cumplimiento", "Nora Salazar", "0907891238"),
    }
    clock.advance(seconds=totp.STEP_SECONDS)  # one step for all: each has their own secret, so no code repeats,
    for staff in people.values():  # and the first signed in is not left idle while the others sign in
        sign_in(backend, staff)
    return people
