"""Marking codes read from photos with zxing-cpp (DataMatrix and QR)."""
import io

from PIL import Image, ImageFilter, ImageOps

import zxingcpp

FORMATS = (zxingcpp.BarcodeFormat.DataMatrix, zxingcpp.BarcodeFormat.QRCode)
MAX_SIDE = 1600     # px: phone photos are scaled down before decoding


def load(data):
    "The photo as a greyscale image, upright, at most MAX_SIDE wide"
    image = Image.open(io.BytesIO(bytes(data)))
    image = ImageOps.exif_transpose(image).convert('L')
    if max(image.size) > MAX_SIDE:
        image.thumbnail((MAX_SIDE, MAX_SIDE))
    return image


def attempts(image):
    """(image, binarizer) to try in turn: as taken; without sensor noise
    (median filter); a fixed threshold; half size (big blurred modules)"""
    local = zxingcpp.Binarizer.LocalAverage
    yield image, local
    denoised = image.filter(ImageFilter.MedianFilter(3))
    yield denoised, local
    yield denoised, zxingcpp.Binarizer.FixedThreshold
    yield image.reduce(2), local


def decode(data):
    """The text of the first DataMatrix or QR code on the photo (GS as the
    real character), or None"""
    try:
        image = load(data)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    for candidate, binarizer in attempts(image):
        found = zxingcpp.read_barcodes(candidate, formats=FORMATS,
            try_rotate=True, try_downscale=True, binarizer=binarizer,
            text_mode=zxingcpp.TextMode.Plain)
        if found:
            return found[0].text
    return None
