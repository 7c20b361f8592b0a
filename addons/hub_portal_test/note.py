"A note of a user: own records only (a record rule), a button with groups"
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import PoolMeta
from trytond.transaction import Transaction


class Note(ModelSQL, ModelView):
    "Portal test note"
    __name__ = 'hub_portal_test.note'
    name = fields.Char("Name", required=True)
    owner = fields.Many2One('res.user', "Owner", required=True)
    done = fields.Boolean("Done", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({'mark_done': {}})

    @staticmethod
    def default_owner():
        return Transaction().user

    @classmethod
    @ModelView.button
    def mark_done(cls, notes):
        for note in notes:
            if note.done:
                raise UserError(gettext(
                        'hub_portal_test.msg_note_already_done',
                        note=note.name))
        cls.write(notes, {'done': True})


class Rule(metaclass=PoolMeta):
    "The user's id in record rules (as order_hub adds the user's shops)"
    __name__ = 'ir.rule'

    @classmethod
    def _get_cache_key(cls, model_names):
        return (*super()._get_cache_key(model_names), Transaction().user)

    @classmethod
    def _get_context(cls, model_name):
        return dict(super()._get_context(model_name),
            portal_test_user=Transaction().user)
