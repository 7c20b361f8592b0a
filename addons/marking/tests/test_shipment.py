"""The export of a shipment's codes and photos (with order_shipments)."""
import csv
import io
import random
import zipfile
from decimal import Decimal

from trytond.modules.order_hub.tests.tools import (
    HubTestCase, create_city, create_product, create_warehouse, set_company,
    setup_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction

from .photos import photos
from .samples import code, gtin

EAN = gtin('460555000111')


class ShipmentExportTestCase(HubTestCase):
    modules = ['marking', 'order_shipments']

    @with_transaction()
    def test_export_codes_photos_and_numbers(self):
        pool = Pool()
        Order = pool.get('order_hub.order')
        Code = pool.get('marking.code')
        Shipment = pool.get('order_shipments.shipment')
        company = setup_company()
        with set_company(company):
            city = create_city("Москва", '55.75', '37.61')
            warehouse = create_warehouse("Центральный склад", city,
                shop=False)
            product, = create_product("Кроссовки", '5000', marked=True)
            pool.get('product.template').write([product.template],
                {'marking_group': 'shoes'})
            pool.get('product.identifier').create([{'product': product.id,
                        'type': 'ean', 'code': EAN}])
            order, = Order.create([{'customer_name': "Иванова Мария",
                        'phone': '+7 916 123-45-67', 'site_number': 'S-42',
                        'delivery_city': city.id,
                        'lines': [('create', [{'product': product.id,
                                        'quantity': Decimal(2)}])]}])
            line, = order.lines
            rng = random.Random(4)
            typed = code('shoes', rng, '0' + EAN)
            pictured = code('shoes', rng, '0' + EAN)
            Code.create([{'line': line.id, 'unit': 1, 'code': typed}, {
                        'line': line.id, 'unit': 2,
                        'photo': photos([pictured], seed=2)[0],
                        'photo_name': 'IMG_0001.JPG'}])
            shipment, = Shipment.create([{'company': company.id,
                        'order': order.id, 'state': 'assembling',
                        'delivery_type': 'courier',
                        'from_warehouse': warehouse.id,
                        'lines': [('create', [{'order_line': line.id,
                                        'product': product.id,
                                        'quantity': Decimal(2),
                                        'list_price': Decimal(5000),
                                        'unit_price': Decimal(5000),
                                        'state': 'assembling'}])]}])
            ShipmentCodes = pool.get('marking.shipment_codes', type='report')
            extension, content, _, name = ShipmentCodes.execute(
                [shipment.id], {})
        self.assertEqual(extension, 'zip')
        archive = zipfile.ZipFile(io.BytesIO(content))
        table = archive.read('codes.csv').decode('utf-8-sig')
        header, *rows = list(csv.reader(io.StringIO(table), delimiter=';'))
        self.assertEqual(header[:3], ["Отправление", "Заказ",
                "Заказ на сайте"])
        self.assertEqual([(r[2], r[5], r[7].replace('\\x1d', '\x1d'))
                for r in rows], [('S-42', '1', typed), ('S-42', '2',
                    pictured)])
        photo_name = rows[1][9]
        self.assertTrue(photo_name.endswith('.jpg'))
        self.assertEqual(archive.read(photo_name)[:2], b'\xff\xd8')
