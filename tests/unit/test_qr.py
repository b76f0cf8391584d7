"""The server-drawn QR code: an ordinary reader (zbarimg) reads back exactly the text, at every length an
otpauth URI can have, and the image is drawn at whole pixels per module with the quiet zone."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from portal.account.qr import BORDER, qr_image
from tests.otp import decode_qr

URIS = [
    "otpauth://totp/P:a%40b.c?secret=JBSWY3DPEHPK3PXP&issuer=P",
    "otpauth://totp/2FA%20Portal:%E7%94%A8%E6%88%B7%40%E4%BE%8B%E5%AD%90.%E5%B9%BF%E5%91%8A?secret="
    + "A" * 32 + "&issuer=2FA%20Portal&algorithm=SHA1&digits=6&period=30",
    "otpauth://totp/X:" + "l" * 64 + "%40" + "d" * 180 + ".example?secret=" + "B" * 32 + "&issuer=X",
]


@pytest.mark.parametrize("uri", URIS)
def test_a_reader_reads_back_exactly_the_uri(uri, tmp_path):
    image = qr_image(uri)
    assert image.data_uri.startswith("data:image/png;base64,")
    png = base64.b64decode(image.data_uri.split(",", 1)[1])
    assert decode_qr(png, tmp_path) == uri
    picture = Image.open(io.BytesIO(png))
    assert picture.size == (image.size, image.size) and picture.mode == "1"
    # box_size 5: every module is a solid 5×5 block, so shrinking and growing again changes no pixel.
    blocks = picture.resize((image.size // 5,) * 2, Image.Resampling.NEAREST)
    assert blocks.resize((image.size,) * 2, Image.Resampling.NEAREST).tobytes() == picture.tobytes()
    # The quiet zone: BORDER modules of white on every side.
    edge = BORDER * 5
    for x, y in ((0, 0), (edge - 1, edge - 1), (image.size - 1, image.size - 1), (image.size // 2, 0)):
        assert picture.getpixel((x, y)) == 255, (x, y)
    assert picture.getpixel((edge, edge)) == 0  # the finder pattern's dark corner starts right after it
