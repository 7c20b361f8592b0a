"""Prices, discounts and promo codes from the site (the site owns them).

``order_hub.pricing.price`` dispatches here when the configuration says
``site``: the basket goes to the site module's pricing endpoint
(docs/site-pricing-api.md) keyed by line id, with the offers' XML_ID = the
1C GUIDs the catalogue was loaded with.  When the site cannot answer, the
edit is refused (PricingUnavailable) and the order keeps its last prices.
"""
import logging
import uuid

from trytond.i18n import gettext
from trytond.modules.hub_sync.errors import SyncError
from trytond.modules.order_hub.exceptions import PricingUnavailable
from trytond.modules.order_hub.pricing import LinePrice, PricingResult
from trytond.modules.order_hub.promotion_rules import round_money
from trytond.pool import Pool, PoolMeta

logger = logging.getLogger(__name__)


class Configuration(metaclass=PoolMeta):
    __name__ = 'order_hub.configuration'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.pricing_method.selection.append(
            ('site', "Website prices and promotions"))


class Pricing(metaclass=PoolMeta):
    __name__ = 'order_hub.pricing'

    @classmethod
    def price_site(cls, order, lines, promo_code):
        System = Pool().get('hub_sync.system')
        result = PricingResult()
        if not lines:
            return result
        items = []
        for line in lines:
            xml_id = line.product.external_offer_id
            if not xml_id:
                raise PricingUnavailable(gettext(
                        'site_bridge.msg_product_not_on_site',
                        product=line.product.rec_name))
            items.append({'key': str(line.id), 'xml_id': xml_id,
                    'quantity': line.quantity})
        request_id = str(uuid.uuid4())
        try:
            client = System.get('site').site_client()
            answer = client.price_basket(items, coupon=promo_code or None,
                customer={'login': order.site_login}
                if order.site_login else None,
                order_number=order.site_number or None,
                request_id=request_id)
        except SyncError as error:
            logger.warning("Site pricing of order %s failed (request %s): "
                "%s %s", order.rec_name, request_id, error,
                getattr(error, 'detail', '') or '')
            raise PricingUnavailable(gettext(
                    'site_bridge.msg_site_pricing_unavailable',
                    order=order.rec_name, reason=error.message))
        for line in lines:
            priced = answer.lines[str(line.id)]
            result.lines[line.id] = LinePrice(
                round_money(priced.base_price), round_money(priced.discount))
        if promo_code and answer.coupon and not answer.coupon.applied:
            result.promo_error = answer.coupon.message
        return result
