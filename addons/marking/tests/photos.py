"""Photo-like pictures of marking codes for the tests and the benchmark:
the code rendered by zxing-cpp's writer, then put on a background with
perspective, rotation, blur, uneven light, sensor noise and JPEG
compression (Pillow only)."""
import io
import random

from PIL import Image, ImageChops, ImageFilter, ImageOps

import zxingcpp

FORMATS = {'datamatrix': zxingcpp.BarcodeFormat.DataMatrix,
    'qr': zxingcpp.BarcodeFormat.QRCode}


def render(text, kind='datamatrix', module=6, gs1=False):
    """The code as a clean black-on-white image: a GS1 symbol (FNC1, as
    printed on goods) from the (AI) form, else the text as it is"""
    if gs1:
        barcode = zxingcpp.create_barcode(hri(text), FORMATS[kind],
            gs1=True)
    else:
        barcode = zxingcpp.create_barcode(text, FORMATS[kind],
            force_square_data_matrix=True)
    image = zxingcpp.write_barcode_to_image(barcode, scale=module)
    height, width = image.shape[:2]
    return Image.frombuffer('L', (width, height), bytes(memoryview(image)),
        'raw', 'L', 0, 1)


def hri(text):
    "(01)…(21)…: the form GS1 writers take"
    from .samples import text_elements
    return ''.join(f'({ai}){value}' for ai, value in text_elements(text))


def solve(matrix, vector):
    "Gaussian elimination for the 8 perspective coefficients"
    n = len(vector)
    rows = [list(map(float, row)) + [float(v)]
        for row, v in zip(matrix, vector)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(rows[r][col]))
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(n):
            if r != col:
                factor = rows[r][col] / rows[col][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col])]
    return [rows[i][n] / rows[i][i] for i in range(n)]


def perspective_coefficients(source, target):
    "Coefficients mapping target corners back to source corners (PIL)"
    matrix, vector = [], []
    for (x, y), (u, v) in zip(target, source):
        matrix.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        matrix.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        vector += [u, v]
    return solve(matrix, vector)


def photograph(code_image, rng, size=(960, 720), tilt=0.12, angle=25,
        blur=1.2, noise=12, quality=80):
    """A photo of the printed code: placed on a grey label, seen at an
    angle (perspective), rotated, out of focus, noisy, JPEG-compressed"""
    label = ImageOps.expand(code_image, border=code_image.width // 6,
        fill=245)
    side = int(min(size) * rng.uniform(0.45, 0.7))
    label = label.resize((side, int(side * label.height / label.width)),
        Image.Resampling.BILINEAR)
    w, h = label.size
    jitter = [(rng.uniform(-tilt, tilt) * w, rng.uniform(-tilt, tilt) * h)
        for _ in range(4)]
    corners = [(0, 0), (w, 0), (w, h), (0, h)]
    target = [(x + dx + w * tilt, y + dy + h * tilt)
        for (x, y), (dx, dy) in zip(corners, jitter)]
    canvas = (int(w * (1 + 2 * tilt)), int(h * (1 + 2 * tilt)))
    warped = label.transform(canvas, Image.Transform.PERSPECTIVE,
        perspective_coefficients(corners, target),
        Image.Resampling.BILINEAR, fillcolor=0)
    mask = Image.new('L', label.size, 255).transform(canvas,
        Image.Transform.PERSPECTIVE, perspective_coefficients(corners,
            target), Image.Resampling.BILINEAR, fillcolor=0)
    turn = rng.uniform(-angle, angle)
    warped = warped.rotate(turn, Image.Resampling.BILINEAR, expand=True)
    mask = mask.rotate(turn, Image.Resampling.BILINEAR, expand=True)
    photo = Image.linear_gradient('L').resize(size).point(
        lambda v: 90 + v // 3)
    position = (rng.randint(0, max(size[0] - warped.width, 0)),
        rng.randint(0, max(size[1] - warped.height, 0)))
    photo.paste(warped, position, mask)
    photo = photo.filter(ImageFilter.GaussianBlur(blur))
    grain = Image.effect_noise(size, noise)
    photo = ImageChops.add(photo, grain, 1.0, -128)
    out = io.BytesIO()
    photo.convert('RGB').save(out, 'JPEG', quality=quality)
    return out.getvalue()


def photos(texts, seed=5, kind='datamatrix', **distortions):
    """One photo per code text, reproducibly; every other DataMatrix is a
    GS1 symbol"""
    rng = random.Random(seed)
    return [photograph(render(text, kind, module=rng.choice((4, 6, 8)),
                gs1=(kind == 'datamatrix' and index % 2 == 1
                    and '\x1d' in text)),
            rng, **distortions) for index, text in enumerate(texts)]
