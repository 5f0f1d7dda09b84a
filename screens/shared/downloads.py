"""One way to hand a member a file (a saved receipt, a CSV export), whatever the channel.

In a browser (`cooprogreso web`) the file goes to the member's browser as a download and nothing is
left on the server; in a terminal, local or over SSH, it is written with `files.write_private`
(0600, never overwriting, never following a symlink) into the export folder. Screens call
`hand_over` from their worker thread and show the sentence it returns.
"""

from __future__ import annotations

import io
import threading

from backend.core.files import write_private


def hand_over(app, stem: str, suffix: str, data: bytes, mime_type: str) -> str:
    """Deliver `data` as `<stem><suffix>`; returns what to tell the member (in Spanish)."""
    if app.is_web:
        name = f"{stem}{suffix}"

        def deliver() -> None:
            app.deliver_binary(io.BytesIO(data), save_filename=name, mime_type=mime_type)

        if threading.get_ident() == app._thread_id:
            deliver()
        else:
            app.call_from_thread(deliver)
        return f"Se descargó {name} en tu navegador."
    path = write_private(app.export_dir, stem, suffix, data)
    return f"Guardado en {path}"
