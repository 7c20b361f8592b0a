"""Russian texts of the module's messages for the command line, read from
message.xml and locale/ru.po (the hub's screens use Tryton's gettext on
the same messages), and the wording of a verification result."""
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent


class Catalog:
    "msg_id → text, in Russian when ru.po has it (the command line's gettext)"

    def __init__(self, language='ru'):
        import polib
        self.texts = {r.get('id'): r.findtext('field')
            for r in ET.parse(HERE / 'message.xml').iter('record')}
        po = HERE / 'locale' / f'{language}.po'
        if po.exists():
            for entry in polib.pofile(str(po)):
                prefix = 'model:ir.message,text:'
                if entry.msgctxt and entry.msgctxt.startswith(prefix) \
                        and entry.msgstr and not entry.fuzzy:
                    self.texts[entry.msgctxt[len(prefix):]] = entry.msgstr

    def __call__(self, msg_id, **params):
        return self.texts[msg_id] % params


def error_text(error, translate):
    "A BackupError in words"
    return translate(error.msg_id, **error.params)


def verification_text(result, set_id, translate):
    if result.ok:
        return translate('msg_verify_passed', set=set_id,
            tables=result.tables, rows=result.rows, files=result.files)
    absent = translate('msg_absent')
    problems = '; '.join(problem_text(problem, absent, translate)
        for problem in result.problems)
    return translate('msg_verify_failed', set=set_id, problems=problems)


def problem_text(problem, absent, translate):
    "(table, expected, found[, 'content']) in words"
    table, expected, found = problem[:3]
    if problem[3:] == ('content',):
        return translate('msg_verify_content', table=table, rows=found)
    return translate('msg_verify_problem', table=table,
        expected=absent if expected is None else expected,
        found=absent if found is None else found)
