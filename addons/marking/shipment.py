"""One click per shipment for the electronic document exchange step: the
codes, photos, transfer numbers and sale number of a shipment as a zip
(with order_shipments)."""
import csv
import io
import zipfile

from trytond.pool import Pool
from trytond.report import Report

from .code import ACTIVE

COLUMNS = ["Отправление", "Заказ", "Заказ на сайте", "Перемещения",
    "Товар", "Единица", "Код идентификации (КИ)", "Код маркировки (КМ)",
    "Статус", "Фото"]


class ShipmentCodes(Report):
    "Marking Codes of a Shipment"
    __name__ = 'marking.shipment_codes'

    @classmethod
    def execute(cls, ids, data):
        Shipment = Pool().get('order_shipments.shipment')
        shipments = Shipment.browse(ids)
        content = cls.archive(shipments)
        name = '-'.join(s.number or str(s.id) for s in shipments)
        return ('zip', content, False, f'Коды маркировки {name}')

    @classmethod
    def archive(cls, shipments):
        out = io.BytesIO()
        with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as archive:
            rows = []
            for shipment in shipments:
                for code in cls.codes(shipment):
                    photo = cls.photo_name(shipment, code)
                    if photo:
                        archive.writestr(photo, bytes(code.photo))
                    rows.append(cls.row(shipment, code, photo))
            archive.writestr('codes.csv', cls.table(rows))
        return out.getvalue()

    @staticmethod
    def codes(shipment):
        "The active codes of the shipment's lines, by line and unit"
        return [c for l in shipment.lines if l.order_line
            for c in sorted(l.order_line.marking_units, key=lambda c: c.unit)
            if c.state in ACTIVE]

    @staticmethod
    def photo_name(shipment, code):
        if not code.photo:
            return None
        extension = (code.photo_name or '').rsplit('.', 1)[-1].lower()
        extension = extension if extension in {'jpg', 'jpeg', 'png'} else 'jpg'
        return (f'photos/{shipment.number or shipment.id}-{code.line.id}-'
            f'{code.unit}.{extension}')

    @staticmethod
    def row(shipment, code, photo):
        order = shipment.order
        return [shipment.number or '', order.number or '',
            order.site_number or '',
            ', '.join(t.number or '' for t in shipment.transfers),
            code.line.product.rec_name, code.unit, code.cis or '',
            (code.code or '').replace('\x1d', '\\x1d'), code.state_string,
            photo or '']

    @staticmethod
    def table(rows):
        text = io.StringIO()
        writer = csv.writer(text, delimiter=';')
        writer.writerow(COLUMNS)
        writer.writerows(rows)
        # a BOM: spreadsheet programs then read the file as UTF-8
        return '\ufeff' + text.getvalue()
