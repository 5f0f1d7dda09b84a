"""What the facade's few direct calls return (backend/service.py): demo phone messages, audit lines, a key
rotation. Here, imported on first use, not in service.py: the app imports the facade before the sign-in's first
frame, and each frozen dataclass costs start-up time to build (#23); the sign-in needs none of them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PhoneMessage:
    id: int
    created_at: str
    recipient: str
    body: str


@dataclass(frozen=True)
class AuditEntry:
    at: str
    actor: str
    action: str
    outcome: str
    details: str


@dataclass(frozen=True)
class Rotation:
    fingerprint: str  # of the new keys
    staff_secrets: int
    card_numbers: int
    unreadable: int  # values that did not open under the old keys either: left as they were
