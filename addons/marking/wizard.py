from trytond.model import ModelView, fields
from trytond.pool import Pool
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard


class RelabelStart(ModelView):
    "Relabel a Unit"
    __name__ = 'marking.relabel.start'

    old = fields.Many2One('marking.code', "Code", readonly=True)
    code = fields.Char("New Marking Code", strip=False, required=True,
        help="The code of the new label, scanned or typed.")


class Relabel(Wizard):
    "Relabel a Unit"
    __name__ = 'marking.relabel'

    start = StateView('marking.relabel.start',
        'marking.relabel_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Relabel", 'relabel', 'tryton-ok', default=True),
            ])
    relabel = StateTransition()

    def default_start(self, fields):
        return {'old': Transaction().context.get('active_id')}

    def transition_relabel(self):
        Code = Pool().get('marking.code')
        Code(self.start.old.id).replace_with(self.start.code)
        return 'end'
