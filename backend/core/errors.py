"""Typed service errors: a stable code for programs, a Spanish message for people.

The UI shows `message` as is, so every message is written for a member to read.
"""

from __future__ import annotations


class ServiceError(Exception):
    code = "error"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field

    def __str__(self) -> str:
        return self.message


class ValidationError(ServiceError):
    code = "invalid"


class AuthError(ServiceError):
    code = "auth"


class AccountLocked(AuthError):
    code = "locked"


class SessionExpired(AuthError):
    code = "session_expired"


class Forbidden(ServiceError):
    code = "forbidden"


class NotFound(ServiceError):
    code = "not_found"


class OtpError(ServiceError):
    """A code was refused; `tries_left` says whether the member may try again."""

    code = "otp"

    def __init__(self, message: str, *, code: str | None = None, tries_left: int = 0):
        super().__init__(message, code=code)
        self.tries_left = tries_left


class DeliveryError(ServiceError):
    code = "delivery"


class InsufficientFunds(ServiceError):
    code = "insufficient_funds"


class SchemaError(ServiceError):
    code = "schema"
