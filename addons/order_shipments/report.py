"""The pickup slip: printed for the pickup shop, with a QR code that opens
the shipment on the shop's phone."""
import io

import qrcode
import qrcode.image.svg
from genshi.core import Markup

from trytond.pool import Pool
from trytond.report import Report


def qr_svg(text):
    "The QR code of text as inline SVG (no image files to fetch)"
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage,
        box_size=12)
    data = io.BytesIO()
    image.save(data)
    svg = data.getvalue().decode('utf-8')
    return svg[svg.index('<svg'):]


class PickupSlip(Report):
    __name__ = 'order_shipments.shipment.slip'

    @classmethod
    def get_context(cls, records, header, data):
        Configuration = Pool().get('order_shipments.configuration')
        context = super().get_context(records, header, data)
        config = Configuration(1)
        context['url'] = config.shipment_url
        context['qr'] = lambda shipment: Markup(
            qr_svg(config.shipment_url(shipment)))
        return context
