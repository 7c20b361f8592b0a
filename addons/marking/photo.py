"""Marking codes read from photos with zxing-cpp (DataMatrix and QR)."""
import io

from PIL import Image, ImageOps

import zxingcpp

FORMATS = zxingcpp.BarcodeFormat.DataMatrix | zxingcpp.BarcodeFormat.QRCode
MAX_SIDE = 1600     # px: phone photos are scaled down before decoding


def load(data):
    "The photo as a greyscale image, upright, at most MAX_SIDE wide"
    image = Image.open(io.BytesIO(bytes(data)))
    image = ImageOps.exif_transpose(image).convert('L')
    if max(image.size) > MAX_SIDE:
        image.thumbnail((MAX_SIDE, MAX_SIDE))
    return image


def decode(data):
    "The text of the first DataMatrix or QR code on the photo, or None"
    try:
        image = load(data)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    for candidate in (image, ImageOps.autocontrast(image)):
        found = zxingcpp.read_barcodes(candidate, formats=FORMATS,
            try_rotate=True, try_downscale=True,
            text_mode=zxingcpp.TextMode.Plain)
        if found:
            return found[0].text
    return None
