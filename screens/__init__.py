"""Textual screens: one module per menu section, plus the shared modals (OTP, confirm)."""
