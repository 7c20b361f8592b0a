"The notes in the shop portal: a menu entry, a list, a record page, an action"
from pathlib import Path

from trytond.i18n import gettext
from trytond.pool import Pool, PoolMeta

GROUP = 'hub_portal_test.group_notes'


class Portal(metaclass=PoolMeta):
    __name__ = 'hub_portal.portal'

    @classmethod
    def menu_entries(cls):
        return super().menu_entries() + [{
                'page': 'notes', 'args': [], 'groups': [GROUP],
                'label': gettext('hub_portal_test.msg_menu_notes'),
                'icon': '✎'}]

    @classmethod
    def access_groups(cls):
        return dict(super().access_groups(),
            page_note=[GROUP], action_note_done=[GROUP])

    @classmethod
    def template_folders(cls):
        return dict(super().template_folders(),
            hub_portal_test=Path(__file__).parent / 'templates')

    @classmethod
    def page_notes(cls, request):
        Note = Pool().get('hub_portal_test.note')
        return cls.render(request, 'hub_portal_test/notes.html',
            title=gettext('hub_portal_test.msg_menu_notes'),
            notes=Note.search([], order=[('id', 'ASC')]))

    @classmethod
    def page_note(cls, request, note_id):
        note = cls.get_record('hub_portal_test.note', note_id)
        return cls.render(request, 'hub_portal_test/note.html',
            title=note.name, note=note)

    @classmethod
    def action_note_done(cls, request, note_id):
        Note = Pool().get('hub_portal_test.note')
        note = cls.get_record('hub_portal_test.note', note_id)
        Note.mark_done([note])
        cls.flash(request, 'info',
            gettext('hub_portal_test.msg_note_done', note=note.name))
        return cls.path('note', note.id)
