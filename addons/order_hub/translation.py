# This file is part of order_hub.
"""Make locale/override/*.po entries effective even when Tryton keeps them fuzzy.

ir.translation.translation_import only updates an overridden entry (and its
fuzzy flag) when the override's text differs from the stored one. When a
module ships a *fuzzy* guess that happens to be the right text (e.g. party's
"Party" → "Контрагент"), the override leaves the entry fuzzy, and fuzzy
entries are ignored at run time. This clears the flag for those entries.
"""
import polib

from trytond.pool import Pool, PoolMeta

SOURCE_TYPES = {'report', 'view', 'wizard_button', 'selection'}


class Translation(metaclass=PoolMeta):
    __name__ = 'ir.translation'

    @classmethod
    def translation_import(cls, lang, module, po_path):
        result = super().translation_import(lang, module, po_path)
        cls._unfuzzy_overrides(lang, module, po_path)
        return result

    @classmethod
    def _unfuzzy_overrides(cls, lang, module, po_path):
        ModelData = Pool().get('ir.model.data')
        if isinstance(po_path, str):
            po_path = [po_path]
        wanted = set()
        for path in po_path:
            for entry in polib.pofile(path):
                if (entry.obsolete or 'fuzzy' in entry.flags
                        or entry.msgid_plural or not entry.msgstr):
                    continue
                ttype, name, res_id = entry.msgctxt.split(':')
                if '.' not in res_id:
                    continue
                res_module, fs_id = res_id.split('.', 1)
                db_id = ModelData.get_id(res_module, fs_id) if fs_id else -1
                src = entry.msgid if ttype in SOURCE_TYPES else None
                wanted.add(
                    (ttype, name, res_module, db_id, src, entry.msgstr))
        if not wanted:
            return
        to_write = []
        for translation in cls.search([
                    ('lang', '=', lang),
                    ('fuzzy', '=', True),
                    ('module', 'in', list({w[2] for w in wanted})),
                    ], order=[]):
            src = (translation.src if translation.type in SOURCE_TYPES
                else None)
            if (translation.type, translation.name, translation.module,
                    translation.res_id, src, translation.value) in wanted:
                to_write.append(translation)
        if to_write:
            cls.write(to_write, {'fuzzy': False, 'overriding_module': module})
