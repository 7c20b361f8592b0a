"Building blocks for the shipments' tests (in a transaction)"
from types import SimpleNamespace

from trytond.pool import Pool

from trytond.modules.order_hub.tests.tools import (
    create_city, create_order, create_product, create_warehouse, set_stock)
from trytond.modules.order_payment.tests.test_concurrency import test_provider


def create_shops():
    """Three shops (Tverskaya in Moscow, Nevsky and Galereya in St
    Petersburg), a scarf in stock on Nevsky and a hat on Tverskaya"""
    Location = Pool().get('stock.location')
    moscow = create_city("Москва", 55.755826, 37.6173)
    spb = create_city("Санкт-Петербург", 59.939095, 30.315868)
    shops = SimpleNamespace(
        tverskaya=create_warehouse("Магазин на Тверской", moscow),
        nevsky=create_warehouse("Магазин на Невском", spb),
        galereya=create_warehouse("Магазин «Галерея»", spb))
    Location.write([shops.tverskaya], {
            'hub_opening_hours': "ежедневно 10:00–22:00"})
    shops.scarf, = create_product("Шарф шерстяной", '1990')
    shops.hat, = create_product("Шапка вязаная", '890')
    set_stock(shops.scarf, shops.nevsky, 4)
    set_stock(shops.hat, shops.tverskaya, 2)
    return shops


def paid_order(lines, **values):
    "An order of lines [(product, quantity)] paid online in full"
    pool = Pool()
    Payment = pool.get('order_payment.payment')
    test_provider()
    order = create_order(lines, **values)
    payment, = Payment.create([{'order': order.id, 'kind': 'checkout',
                'provider': 'test', 'amount': order.total,
                'state': 'pending'}])
    Payment.set_provider_state(payment, 'succeeded')
    return pool.get('order_hub.order')(order.id)
