"""The shop's phone portal page for returns (with ``hub_portal``).

«Возвраты»: the returns of the user's shops whose goods were shipped to the
customer and are not taken in yet, each with «Товар получен» — the desktop
button's method (``Block.receive``) as the logged-in user: the same record
rules, button access, logs, 1C return and return to circulation."""
from pathlib import Path

from trytond.i18n import gettext
from trytond.pool import Pool, PoolMeta

SHOP = 'order_hub.group_shop'


class Portal(metaclass=PoolMeta):
    __name__ = 'hub_portal.portal'

    @classmethod
    def menu_entries(cls):
        return super().menu_entries() + [{
                'page': 'returns', 'args': [], 'groups': [SHOP],
                'label': gettext('order_returns.msg_portal_returns'),
                'icon': '↩',
                }]

    @classmethod
    def access_groups(cls):
        return dict(super().access_groups(), action_return_receive=[SHOP])

    @classmethod
    def template_folders(cls):
        return dict(super().template_folders(),
            order_returns=Path(__file__).resolve().parent / 'portal')

    @classmethod
    def returns_domain(cls):
        "Returns whose goods may still come back (record rules apply)"
        return [('state', '=', 'to_return'), ('refund_money', '=', True),
            ('received', '=', None)]

    @classmethod
    def page_returns(cls, request):
        "«Возвраты»: the oldest first, only those with goods to take in"
        Block = Pool().get('order_returns.block')
        blocks = Block.search(cls.returns_domain(),
            order=[('date', 'ASC'), ('id', 'ASC')])
        return cls.render(request, 'order_returns/returns.html',
            title=gettext('order_returns.msg_portal_returns'),
            blocks=[b for b in blocks if b.goods_out])

    @classmethod
    def action_return_receive(cls, request, block_id):
        "«Товар получен» of a return"
        Block = Pool().get('order_returns.block')
        block = cls.get_record('order_returns.block', block_id)
        Block.receive([block])
        cls.flash(request, 'info', gettext(
                'order_returns.msg_portal_received', block=block.rec_name))
        return cls.path('returns')
