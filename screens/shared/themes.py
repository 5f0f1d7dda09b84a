"""The display themes a member chooses from the command palette (Ctrl+P) and keeps for their next sign-in.

The names are the ones `backend.security.auth.THEMES` stores. «Cooprogreso» is the look every screen was
drawn in (co-op green headings and borders on dark); «Alto contraste» is white and yellow on black with
no half tones; «Claro» is dark text on a light background.
"""

from __future__ import annotations

from textual.theme import Theme

COOPROGRESO = Theme(name="cooprogreso", primary="#0178D4", secondary="#004578", warning="#ffa62b",
                    error="#ba3c5b", success="#4EBF71", accent="#ffa62b", foreground="#e0e0e0", dark=True)
ALTO_CONTRASTE = Theme(name="alto-contraste", primary="#FFFF00", secondary="#FFFFFF", warning="#FFFF00",
                       error="#FF6B6B", success="#00FF66", accent="#FFFF00", foreground="#FFFFFF",
                       background="#000000", surface="#000000", panel="#1A1A1A", dark=True,
                       luminosity_spread=0.3, text_alpha=1.0,
                       variables={"text-muted": "#FFFFFF", "text-disabled": "#C0C0C0",
                                  "footer-key-foreground": "#FFFF00", "block-cursor-background": "#FFFF00",
                                  "block-cursor-foreground": "#000000", "input-cursor-background": "#FFFF00",
                                  "input-cursor-foreground": "#000000"})
CLARO = Theme(name="claro", primary="#00602D", secondary="#0B5394", warning="#8A4B00", error="#A4161A",
              success="#1E6B34", accent="#8A4B00", foreground="#111111", background="#F4F4F0",
              surface="#ECECE6", panel="#DADAD2", dark=False, text_alpha=1.0,
              variables={"footer-key-foreground": "#00602D"})

THEMES = {COOPROGRESO.name: ("Cooprogreso", COOPROGRESO), ALTO_CONTRASTE.name: ("Alto contraste", ALTO_CONTRASTE),
          CLARO.name: ("Claro", CLARO)}
DEFAULT = COOPROGRESO.name
