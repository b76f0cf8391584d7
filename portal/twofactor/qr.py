"""QR codes drawn on the server (qrcode + Pillow), inlined as a data: URI: no third-party service sees them."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import qrcode
from qrcode.constants import ERROR_CORRECT_M


@dataclass(frozen=True)
class QrImage:
    data_uri: str
    size: int  # pixels per side: shown at exactly this size, so every module stays sharp


def qr_image(text: str, box_size: int = 5) -> QrImage:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=4)
    code.add_data(text)
    code.make(fit=True)
    image = code.make_image(fill_color="black", back_color="white")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return QrImage("data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode(), image.pixel_size)
