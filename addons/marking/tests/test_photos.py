"""Photos generated from codes of every group (DataMatrix, GS1 DataMatrix
and QR, with perspective, rotation, blur, noise, JPEG) decoded back."""
import io
import random
import unittest

from PIL import Image

from trytond.modules.marking import photo
from trytond.modules.marking.parser import parse

from .photos import photos, render
from .samples import code

GROUPS = ('shoes', 'lp', 'perfumery', 'milk', 'water', 'tobacco')


class PhotoTestCase(unittest.TestCase):

    def codes(self, seed):
        rng = random.Random(seed)
        return [(g, code(g, rng)) for g in GROUPS for _ in range(2)]

    def assert_decoded(self, pairs, pictures, share=1.0):
        decoded = 0
        for (group, text), picture in zip(pairs, pictures):
            result = photo.decode(picture)
            if result is not None:
                self.assertEqual(parse(result, group).code, text)
                decoded += 1
        self.assertGreaterEqual(decoded, share * len(pairs))

    def test_datamatrix_photos(self):
        pairs = self.codes(1)
        self.assert_decoded(pairs, photos([t for _, t in pairs], seed=2))

    def test_qr_photos(self):
        pairs = self.codes(3)
        self.assert_decoded(pairs, photos([t for _, t in pairs], seed=4,
                kind='qr'))

    def test_harsh_photos_mostly_decoded(self):
        pairs = self.codes(5)
        self.assert_decoded(pairs, photos([t for _, t in pairs], seed=6,
                tilt=0.2, angle=180, blur=1.8, noise=25, quality=50),
            share=0.75)

    def test_png_and_clean_render(self):
        text = code('shoes')
        out = io.BytesIO()
        render(text, module=3).save(out, 'PNG')
        self.assertEqual(photo.decode(out.getvalue()), text)

    def test_not_a_code(self):
        out = io.BytesIO()
        Image.effect_noise((400, 300), 60).save(out, 'JPEG')
        self.assertIsNone(photo.decode(out.getvalue()))
        self.assertIsNone(photo.decode(b'not an image'))
        blurred, = photos([code('shoes')], seed=1, blur=9)
        self.assertIsNone(photo.decode(blurred))
