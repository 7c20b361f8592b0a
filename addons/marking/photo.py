"""Marking codes read from photos with zxing-cpp (DataMatrix and QR)."""
import io

from PIL import Image, ImageFilter, ImageOps

import zxingcpp

FORMATS = (zxingcpp.BarcodeFormat.DataMatrix, zxingcpp.BarcodeFormat.QRCode)
MAX_SIDE = 1600     # px: phone photos are scaled down before decoding
LOCAL = zxingcpp.Binarizer.LocalAverage
FIXED = zxingcpp.Binarizer.FixedThreshold
SHARPEN = ImageFilter.UnsharpMask(2, 150, 3)


class Photo:
    "The uploaded picture, loaded in greyscale at the scales asked for"

    def __init__(self, data):
        self.data = bytes(data)
        with Image.open(io.BytesIO(self.data)) as image:
            width, height = image.size
        fit = min(1, MAX_SIDE / max(width, height))
        self.size = (round(width * fit), round(height * fit))
        self._cache = {}

    def scaled(self, scale):
        """The picture at scale × the fitted size, upright; a JPEG is
        decoded at the nearest DCT scale in greyscale (draft), far cheaper
        than decoding it whole and resizing"""
        size = tuple(max(1, round(s * scale)) for s in self.size)
        if scale in self._cache:
            return self._cache[scale]
        image = Image.open(io.BytesIO(self.data))
        image.draft('L', size)
        image = image.convert('L')
        if image.size != size:
            image = image.resize(size, Image.Resampling.BOX)
        image = ImageOps.exif_transpose(image)
        self._cache[scale] = image
        return image


def stretched(image):
    "Contrast stretched, so that a fixed threshold suits dark photos too"
    return ImageOps.autocontrast(image, cutoff=1)


def attempts(picture):
    """(image, binarizer) to try in turn, cheapest first: downscaled copies
    with a fixed threshold (zxing is fast on small images, and blurred big
    modules decode better downscaled), sharpened at half size, half size
    with the local binarizer (uneven light); then full size: lightly
    smoothed, as taken, without sensor noise (median filter)"""
    for scale in (1 / 3, 1 / 2):
        yield stretched(picture.scaled(scale)), FIXED
    half = picture.scaled(1 / 2)
    yield stretched(half.filter(SHARPEN)), FIXED
    yield half, LOCAL
    for scale in (3 / 5, 3 / 4):
        yield stretched(picture.scaled(scale)), FIXED
    full = picture.scaled(1)
    yield stretched(full.filter(ImageFilter.BoxBlur(1))), FIXED
    yield full, LOCAL
    yield stretched(full.filter(ImageFilter.MedianFilter(3))), FIXED


def decode(data):
    """The text of the first DataMatrix or QR code on the photo (GS as the
    real character), or None"""
    try:
        picture = Photo(data)
        for candidate, binarizer in attempts(picture):
            found = zxingcpp.read_barcodes(candidate, formats=FORMATS,
                try_rotate=True, try_downscale=True, binarizer=binarizer,
                text_mode=zxingcpp.TextMode.Plain)
            if found:
                return found[0].text
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return None
