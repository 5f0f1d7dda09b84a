"""Text from people is data: checked at the service boundary, and shown with nothing hidden.

`clean_text` folds compatibility look-alikes (NFKC: fullwidth letters, the ideographic space) and
refuses what could steer a terminal or hide what a text says (C0/C1 controls such as ESC and NUL,
bidirectional overrides and isolates, zero-width and other invisible format characters);
`visible` renders any stored text with such characters made visible, for output to a terminal;
`ascii_digits` folds look-alike digits (fullwidth, Arabic-Indic, …) so only ASCII is stored or sent.
"""

from __future__ import annotations

import unicodedata

from backend.core.errors import ValidationError

# Unicode categories never accepted in what a person types: controls, format (bidi, zero-width, BOM),
# surrogates, private use and unassigned code points, and line/paragraph separators.
_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def is_refused(ch: str) -> bool:
    """A control, format or other invisible character: never stored, never printed raw."""
    return unicodedata.category(ch) in _REFUSED_CATEGORIES


def clean_text(value: object, *, field: str, label: str, max_len: int, min_len: int = 0,
               multiline: bool = False) -> str:
    """The canonical form of a free text (NFKC, runs of spaces folded) or a Spanish ValidationError.

    `label` names the field for the member («El motivo», «El alias»). With `multiline`, line breaks
    are kept (each line folded); everything else invisible or controlling is refused, never stripped,
    so what is stored is exactly what the member saw.
    """
    if not isinstance(value, str):
        raise ValidationError(f"{label} no es un texto válido.", field=field)
    # NFKC before the checks: «ＡＢＣ　Ｔｅｓｔ» is stored and searched as «ABC Test», not «ＡＢＣＴｅｓｔ».
    text = unicodedata.normalize("NFKC", value)
    lines = text.replace("\r\n", "\n").split("\n") if multiline else [text]
    for line in lines:
        if line.isprintable():  # the usual case, and a fast one (under the write lock of every transfer):
            continue  # every refused category is one that str.isprintable refuses too
        for ch in line:
            if ch == "\t":
                continue
            if is_refused(ch):
                raise ValidationError(
                    f"{label} contiene caracteres no permitidos (de control o invisibles).", field=field)
    folded = [" ".join(line.replace("\t", " ").split()) for line in lines]
    text = "\n".join(folded).strip("\n") if multiline else folded[0]
    if len(text) < min_len:
        raise ValidationError(f"{label} debe tener al menos {min_len} caracteres." if min_len > 1
                              else f"Escribe {label[0].lower()}{label[1:]}.", field=field)
    if len(text) > max_len:
        raise ValidationError(f"{label} admite hasta {max_len} caracteres.", field=field)
    return text


def ascii_digits(value: object, *, field: str, label: str, keep: str = "") -> str:
    """Fold any Unicode decimal digit to ASCII; spaces and hyphens are dropped; anything else refused.

    `keep` lists extra ASCII characters allowed through unchanged (e.g. "." for amounts).
    """
    if not isinstance(value, str):
        raise ValidationError(f"{label} no es válido.", field=field)
    if value.isascii():  # the usual case, typed or stored: ASCII digits, spaces and hyphens only
        digits = value.strip().replace(" ", "").replace("-", "")
        if digits.isdigit():
            return digits
    out = []
    for ch in unicodedata.normalize("NFC", value).strip():
        if ch in " -":
            continue
        if ch in keep and ch.isascii():
            out.append(ch)
            continue
        if ch.isdecimal():
            out.append(str(unicodedata.decimal(ch)))
            continue
        raise ValidationError(f"{label} solo admite dígitos.", field=field)
    return "".join(out)


def fold_digits(value: object) -> str:
    """A typed code with look-alike digits folded to ASCII and nothing refused (a wrong code just
    fails to match); for codes checked at a service boundary, whatever channel they came from."""
    if not isinstance(value, str):
        return ""
    if value.isascii():  # what every keyboard sends for digits: nothing to fold (NFC leaves ASCII as it is)
        return value.strip()
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch
                   for ch in unicodedata.normalize("NFC", value)).strip()


def visible(text: object) -> str:
    """Text safe to print to a terminal: every control or invisible character shown as «\\u…»."""
    text = "" if text is None else str(text)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() and not is_refused(ch) else f"\\u{ord(ch):04x}" for ch in text)


def csv_cell(text: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula: one starting with = + - @, even after spaces (which a
    spreadsheet skips), or with a tab or carriage return, is kept as text by a leading apostrophe. Amounts are
    written without a sign, so no figure is touched. The one rule for every CSV we write.

    A CSV is read in a terminal too (`cat`, `less`): every control or invisible character but a tab and a line
    break is shown as «\\u…», as on screen (a stored text written by hand may carry an escape sequence)."""
    text = "" if text is None else str(text)
    guarded = "'" + text if text[:1] in ("\t", "\r") or text.lstrip()[:1] in ("=", "+", "-", "@") else text
    if guarded.isprintable():
        return guarded
    return "".join(f"\\u{ord(ch):04x}" if is_refused(ch) and ch not in "\t\n" else ch for ch in guarded)


def counted(count: int, singular: str, plural: str) -> str:
    """«1 movimiento», «2 movimientos»: a count with its noun in the right number (never «1 movimientos»)."""
    return f"{count} {singular if count == 1 else plural}"


def duration(seconds: int) -> str:
    """«5 minutos», «1 minuto», «90 segundos»: how the SMS and the help say one time alike."""
    if seconds >= 60 and seconds % 60 == 0:
        return counted(seconds // 60, "minuto", "minutos")
    return counted(seconds, "segundo", "segundos")
