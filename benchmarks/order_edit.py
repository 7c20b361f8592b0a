"""Order create + edit throughput; opening and editing a 300-line order.

    .venv/bin/python benchmarks/order_edit.py [--backend sqlite|postgresql]

"Open" reads what the web client reads for the order form: the header fields
and every line's list columns (as sao's form and the lines' list view do).
The baseline is the same open and edit on a 1-line order, in the same run.
"""
import argparse
from decimal import Decimal

from common import (
    drop_database, machine, setup_database, show, summary, timed)

Pool = Transaction = None  # imported in main(), after the configuration

ORDER_FIELDS = ['number', 'site_number', 'date', 'state', 'customer_name',
    'phone', 'email', 'site_login', 'loyalty_level', 'bonus_balance',
    'delivery_service', 'delivery_terms', 'delivery_cost', 'delivery_city',
    'delivery_address', 'promo_code', 'promo_note', 'total_without_discount',
    'discount_total', 'total', 'lines']
LINE_FIELDS = ['product', 'product.rec_name', 'size', 'marked', 'quantity',
    'unit_price', 'discount', 'promotion', 'amount']


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--backend', default='sqlite',
        choices=['sqlite', 'postgresql'])
    parser.add_argument('--orders', type=int, default=200)
    parser.add_argument('--opens', type=int, default=100,
        help="samples of opening and editing the 1- and 300-line orders")
    args = parser.parse_args()
    db = setup_database(args.backend)
    # trytond reads its configuration on import: only now
    global Pool, Transaction
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    from trytond.modules.order_hub.tests.tools import (
        create_product, create_promotion, set_company, setup_company)

    print(f'backend: {args.backend}; {machine()}', flush=True)
    with Transaction().start(db, 0, context={'language': 'ru'}) as tx:
        with set_company(setup_company()):
            products = [create_product(f'Товар {i}', 1000 + i,
                    sizes=('S', 'M', 'L'))
                for i in range(100)]
            variants = [v for p in products for v in p]
            create_promotion("Скидка 5% от 10 000", '5',
                min_amount=Decimal(10000))
            tx.commit()
            throughput(tx, variants, args.orders)
            open_and_edit(tx, variants, args.opens)
    print(f'{"after the run":48} {machine()}')
    drop_database()


def throughput(tx, variants, count):
    pool = Pool()
    Order = pool.get('order_hub.order')
    Line = pool.get('order_hub.order.line')
    create, edit = [], []
    for i in range(count):
        lines = [{'product': variants[(i * 7 + k) % len(variants)].id,
                'quantity': Decimal(1 + k % 2)} for k in range(5)]
        seconds, (order,) = timed(Order.create, [{
                    'customer_name': 'Покупатель', 'lines': [
                        ('create', lines)]}])
        create.append(seconds)
        line = order.lines[0]
        seconds, _ = timed(Line.write, [line], {'quantity': Decimal(3)})
        edit.append(seconds)
        tx.commit()
    show('create a 5-line order', summary(create))
    show('edit a line (quantity) in a 5-line order', summary(edit))
    total = sum(create) + sum(edit)
    print(f'{"throughput":48} {count / total:.1f} orders/s '
        f'(create + one edit, committed)')


def open_and_edit(tx, variants, samples):
    Order = Pool().get('order_hub.order')
    results = {}
    for size in (1, 300):
        order, = Order.create([{'customer_name': 'Покупатель', 'lines': [
                        ('create', [{'product': variants[k % len(variants)].id,
                                    'quantity': Decimal(1)}
                                for k in range(size)])]}])
        tx.commit()
        opens, edits = [], []
        for k in range(samples):
            seconds, _ = timed(open_order, order.id)
            opens.append(seconds)
            seconds, _ = timed(edit_line, order.id, k)
            edits.append(seconds)
            tx.commit()
        results[size] = (summary(opens), summary(edits))
        show(f'open a {size}-line order', results[size][0])
        show(f'edit one line of a {size}-line order', results[size][1])
    for i, what in enumerate(('open', 'edit')):
        ratio = results[300][i]['median_ms'] / results[1][i]['median_ms']
        print(f'{what + " ratio 300 lines / 1 line":48} {ratio:.1f}x')


def open_order(order_id):
    pool = Pool()
    Order = pool.get('order_hub.order')
    Line = pool.get('order_hub.order.line')
    with Transaction().set_context(_check_access=True):
        order, = Order.read([order_id], ORDER_FIELDS)
        Line.read(order['lines'], LINE_FIELDS)


def edit_line(order_id, k):
    pool = Pool()
    Order = pool.get('order_hub.order')
    order = Order(order_id)
    line = order.lines[k % len(order.lines)]
    Order.write([order], {'lines': [
                ('write', [line.id], {'quantity': line.quantity + 1})]})


if __name__ == '__main__':
    main()
