"""The demo co-op's staff: one user per role, with authenticator secrets derived from the seed so a
newcomer can add them to an app (or use `cooprogreso staff code`)."""

from __future__ import annotations

import base64
import random
from typing import TYPE_CHECKING

from backend.core.clock import iso
from backend.security import staff_secrets
from backend.security.passwords import hash_password

if TYPE_CHECKING:
    from backend.service import Backend

DEMO_STAFF_PASSWORD = "Ventanilla-2026"
# Fictional cédulas with valid check digits (Pichincha, 17): each links the user to the person
# (backend/security/staff_conflicts.py); none is a demo member's (a clash would only keep that user off that member).
DEMO_STAFF = [
    ("cajero", "cajero", "Rosa Elena Quispe Mora", "1705123451"),
    ("cajero2", "cajero", "Pablo Andrés Andrade Ruiz", "1706234562"),
    ("atencion", "atencion", "Marta Lucía Vélez Paz", "1707345672"),
    ("supervisor", "supervisor", "Hugo Fernando Torres Vaca", "1708456783"),
    ("auditor", "auditor", "Ana Cristina Ruiz Lara", "1709567893"),
    ("cumplimiento", "cumplimiento", "Nora Isabel Salazar Paredes", "1711890127"),  # last: the earlier secrets keep their seed
]
# Where the demo staff work (backend/data/agencies.csv): «Imprimir» names it. Its printer stays unset, as the
# bundled agencies' do: the co-op names its CUPS queue (`cooprogreso printer --agency MATRIZ --queue COLA`).
DEMO_AGENCY = "MATRIZ"


def add_demo_staff(backend: Backend, rng: random.Random) -> tuple[tuple[str, str, str], ...]:
    from backend.contact.contact import ensure_loaded

    ensure_loaded(backend.db)  # the bundled agencies, the staff's among them
    s = backend.ctx.settings
    stored = hash_password(DEMO_STAFF_PASSWORD, log_n=s.scrypt_log_n, r=s.scrypt_r, p=s.scrypt_p)
    out = []
    with backend.db.write() as conn:
        for username, role, name, cedula in DEMO_STAFF:
            secret = base64.b32encode(rng.randbytes(20)).decode()
            conn.execute("INSERT INTO staff_users (username, full_name, role, password_hash, totp_secret,"
                         " created_at, created_by, cedula, agency) VALUES (?, ?, ?, ?, ?, ?, 'demo', ?, ?)",
                         (username, name, role, stored,
                          staff_secrets.seal(backend.ctx.secret("otp_pepper"), username, secret),
                          iso(backend.ctx.now()), cedula, DEMO_AGENCY))
            out.append((username, role, secret))
    return tuple(out)
