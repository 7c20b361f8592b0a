"""Decoding photos of marking codes (marking module, zxing-cpp).

    .venv/bin/python benchmarks/marking_photos.py [--samples 120] [--backend sqlite]

Photos are generated as in the tests (addons/marking/tests/photos.py): codes
of six product groups rendered as DataMatrix (half of them GS1 symbols) or
QR, put on a label seen at an angle, rotated, blurred, noisy, saved as JPEG
(960×720).  Two sets: «ordinary» (the tests' defaults) and «harsh» (stronger
tilt, any rotation, more blur and noise, JPEG quality 50).  Measured per
image: ``photo.decode`` (load, greyscale, zxing-cpp with its fallbacks),
the share decoded correctly; the baseline is zxing-cpp on the clean
rendered code (no photo, no fallbacks), measured in the same run.  Then the
whole upload: a ``marking.code`` created with the photo (decoded, parsed,
checked, its registry check queued) and committed, one per transaction.
Target: p95 < 300 ms per photo.
"""
import argparse
import random

from common import (drop_database, machine, setup_database, show, summary,
    timed)

GROUPS = ('shoes', 'lp', 'perfumery', 'milk', 'water', 'tobacco')


def texts(count, seed):
    from trytond.modules.marking.tests.samples import code
    rng = random.Random(seed)
    return [code(GROUPS[i % len(GROUPS)], rng) for i in range(count)]


def decode_set(title, codes, pictures):
    from trytond.modules.marking import photo
    samples, decoded = [], 0
    for text, picture in zip(codes, pictures):
        elapsed, result = timed(photo.decode, picture)
        samples.append(elapsed)
        decoded += result == text
    stats = summary(samples)
    stats['decoded_%'] = 100.0 * decoded / len(codes)
    show(title, stats)
    return stats


def baseline(codes):
    import zxingcpp
    from trytond.modules.marking.tests.photos import render
    images = [render(t) for t in codes]
    samples = [timed(zxingcpp.read_barcodes, image,
            text_mode=zxingcpp.TextMode.Plain)[0] for image in images]
    stats = summary(samples)
    show('baseline: zxing-cpp on the clean render', stats)
    return stats


def upload(backend, codes, pictures):
    "A code created from each photo and committed"
    db = setup_database(backend, modules=('marking',))
    from decimal import Decimal

    from trytond.modules.order_hub.tests.tools import (
        create_product, setup_company)
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    try:
        with Transaction().start(db, 0) as transaction:
            pool = Pool()
            company = setup_company()
            from trytond.modules.company.tests import set_company
            with set_company(company):
                product, = create_product("Кроссовки", '5000', marked=True)
                pool.get('product.template').write([product.template],
                    {'marking_group': 'shoes'})
                Order = pool.get('order_hub.order')
                orders = Order.create([{'customer_name': "Покупатель",
                            'phone': '+7 916 000-00-00',
                            'lines': [('create', [{'product': product.id,
                                            'quantity': Decimal(1)}])]}
                        for _ in pictures])
                lines = [o.lines[0].id for o in orders]
            transaction.commit()
        samples = []
        for line, picture in zip(lines, pictures):
            def create():
                with Transaction().start(db, 0) as transaction:
                    Code = Pool().get('marking.code')
                    Code.create([{'line': line, 'unit': 1,
                                'photo': picture, 'photo_name': 'code.jpg'}])
                    transaction.commit()
            samples.append(timed(create)[0])
        stats = summary(samples)
        show(f'upload of a photo, committed ({backend})', stats)
        return stats
    finally:
        drop_database()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--samples', type=int, default=120)
    parser.add_argument('--backend', default='sqlite')
    parser.add_argument('--no-upload', action='store_true')
    args = parser.parse_args()
    setup_database(args.backend, modules=('marking',))
    from trytond.modules.marking.tests.photos import photos
    print(machine())
    shoes_like = [t for t in texts(args.samples, 1)]
    base = baseline(shoes_like)
    ordinary = photos(shoes_like, seed=2)
    stats = decode_set('ordinary photos, DataMatrix', shoes_like, ordinary)
    qr_codes = texts(args.samples, 3)
    qr = decode_set('ordinary photos, QR', qr_codes,
        photos(qr_codes, seed=4, kind='qr'))
    harsh_codes = texts(args.samples, 5)
    harsh = decode_set('harsh photos, DataMatrix', harsh_codes,
        photos(harsh_codes, seed=6, tilt=0.2, angle=180, blur=1.8,
            noise=25, quality=50))
    for title, figures in (('ordinary DataMatrix', stats), ('QR', qr),
            ('harsh DataMatrix', harsh)):
        print(f'ratio p95 {title} / baseline p95: '
            f'{figures["p95_ms"] / base["p95_ms"]:.1f}')
    drop_database()
    if not args.no_upload:
        decoded_codes = [t for t in shoes_like]
        from trytond.modules.marking.tests.samples import code
        rng = random.Random(9)
        # the product's own codes: one GTIN for every photo
        gtin = shoes_like[0][2:16]
        own = [code('shoes', rng, gtin) for _ in decoded_codes]
        upload(args.backend, own, photos(own, seed=8))
    print(machine())


if __name__ == '__main__':
    main()
