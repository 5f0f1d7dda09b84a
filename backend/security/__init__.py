"""Shared security pieces: sign-in (members and staff), passwords, codes (OTP, TOTP), the one flow of authorised
operations, receipts, roles, redaction and the audit log."""
