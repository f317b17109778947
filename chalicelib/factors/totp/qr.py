"""The enrolment's QR code: only the setup request pays for segno's import."""
from __future__ import annotations

import io


def qr_svg(uri: str) -> str:
    """A standalone SVG document of the URI, with a quiet zone, scannable by a phone camera."""
    import segno

    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=5, border=4, xmldecl=False,
                                    svgns=True, nl=False, dark="#000", light="#fff")
    return buffer.getvalue().decode("utf-8")
