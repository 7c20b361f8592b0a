"""«Импорт заказов из файла CommerceML»: a file captured from the site
imported by an exchange administrator through the exchange's own code."""
from trytond.model import ModelView, fields
from trytond.pool import Pool
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard


class ImportFileStart(ModelView):
    "Import Orders from a CommerceML File"
    __name__ = 'site_bridge.import_file.start'

    file = fields.Binary("File", required=True, filename='filename',
        help="An order file of the website's exchange (mode=query) or one "
        "saved from it: any schema version, windows-1251 or UTF-8, zipped "
        "or not.")
    filename = fields.Char("File Name")


class ImportFileResult(ModelView):
    "Import Orders from a CommerceML File"
    __name__ = 'site_bridge.import_file.result'

    report = fields.Text("Orders", readonly=True)


class ImportFile(Wizard):
    "Import Orders from a CommerceML File"
    __name__ = 'site_bridge.import_file'

    start = StateView('site_bridge.import_file.start',
        'site_bridge.import_file_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Import", 'import_', 'tryton-ok', default=True),
            ])
    import_ = StateTransition()
    result = StateView('site_bridge.import_file.result',
        'site_bridge.import_file_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def transition_import_(self):
        """Imported as the exchange imports (not with the user's access),
        the user named in the journal"""
        pool = Pool()
        Importer = pool.get('site_bridge.importer')
        User = pool.get('res.user')
        user = User(Transaction().user).rec_name
        data, name = self.start.file, self.start.filename
        self.start.file = None      # not kept in the wizard's session
        with Transaction().set_user(0), without_check_access(), \
                Transaction().set_context(hub_importer=user):
            rows = Importer.import_file(data, name)
        self.result.report = Importer.format_report(rows)
        return 'result'

    def default_result(self, fields):
        return {'report': self.result.report}
