"""Glue with order_returns (optional): the order's return blocks in the
deal's story, and each block's creation and outcome as timeline comments,
each once.  Registered only when order_returns is activated; a block logs
its changes on its order, which pushes the deal."""
from trytond.i18n import gettext
from trytond.modules.order_hub.pricing import format_money
from trytond.pool import PoolMeta


class Order(metaclass=PoolMeta):
    __name__ = 'order_hub.order'

    def b24_story_sections(self, system):
        return super().b24_story_sections(system) + [
            self.b24_story_returns(system)]

    def b24_return_blocks(self):
        return sorted(self.return_blocks, key=lambda b: (b.number or 0, b.id))

    def b24_story_returns(self, system):
        blocks = self.b24_return_blocks()
        if not blocks:
            return None
        return '\n'.join([gettext('b24_bridge.msg_story_returns')] + [
                self.b24_story_return(b, system) for b in blocks])

    def b24_return_goods(self, block):
        return block.describe_goods() or '—'

    def b24_story_return(self, block, system):
        text = gettext('b24_bridge.msg_story_return',
            number=block.number or block.id, state=block.state_string,
            goods=self.b24_return_goods(block),
            amount=format_money(block.amount or 0),
            reason=block.reason.rec_name if block.reason else '—')
        if block.documents:
            text += ', ' + gettext('b24_bridge.msg_story_return_documents',
                documents=block.documents)
        return text

    def get_b24_timeline(self, system):
        entries = super().get_b24_timeline(system)
        for block in self.b24_return_blocks():
            entries.update(self.b24_timeline_return(block, system))
        return entries

    def b24_timeline_return(self, block, system):
        "{key: comment}: the block opened, then its outcome"
        number = block.number or block.id
        entries = {f'return:{block.id}:to_return': gettext(
                'b24_bridge.msg_timeline_return', number=number,
                goods=self.b24_return_goods(block),
                amount=format_money(block.amount or 0),
                reason=block.reason.rec_name if block.reason else '—')}
        if block.state != 'to_return':
            entries[f'return:{block.id}:{block.state}'] = gettext(
                'b24_bridge.msg_timeline_return_state', number=number,
                state=block.state_string)
        return entries
