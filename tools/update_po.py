#!/usr/bin/env python
"""Generate/update a module's Tryton translation file (default: ru.po).

Usage (from /work/main):

    .venv/bin/python tools/update_po.py [module] [--lang ru] [--check]

1. Activates <module> (with its extras_depend of the project) in a
   throwaway in-memory SQLite database.
2. Runs the same wizards as ``trytond-admin --export-translations``
   (set, clean, update) and exports the module's translation template.
3. Merges it into addons/<module>/locale/<lang>.po:
   * keeps the existing msgstr of every entry whose msgctxt+msgid is unchanged,
   * adds new entries with an empty msgstr,
   * drops entries that no longer exist,
   * never writes ``#, fuzzy`` (Tryton's fuzzy guesses are dropped).
4. Lists the untranslated entries.
5. Checks addons/<module>/locale/override/<lang>.po against the po files
   shipped with the overridden modules (see README.md).

``--check`` does not write anything; it exits 1 if the po file is out of date,
has untranslated or fuzzy entries, or the override file has problems.
"""
import argparse
import os
import re
import sys
import tempfile

import polib

# Types whose override is looked up by source text too
SOURCE_TYPES = {'report', 'view', 'wizard_button', 'selection'}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def export_template(module, lang):
    "Return the polib.POFile of the module's current translatable strings"
    # Must be set before trytond.tests.test_tryton is imported
    os.environ['TRYTOND_DATABASE_URI'] = 'sqlite://'
    os.environ['DB_NAME'] = ':memory:'
    os.environ.pop('DB_CACHE', None)

    import logging
    logging.basicConfig(level=logging.ERROR)
    from trytond.pool import Pool
    from trytond.tests.test_tryton import DB_NAME, activate_module
    from trytond.transaction import Transaction

    # with its optional dependencies: their glue ([register X], <data
    # depends="X">) has strings of the module too
    activate_module([module] + extras(module))
    with Transaction().start(DB_NAME, 0) as transaction:
        pool = Pool()
        Lang = pool.get('ir.lang')
        Translation = pool.get('ir.translation')
        for name, button, data in [
                ('ir.translation.set', 'set_', {}),
                ('ir.translation.clean', 'clean', {}),
                ('ir.translation.update', 'update', None),
                ]:
            Wizard = pool.get(name, type='wizard')
            if data is None:
                language, = Lang.search([('code', '=', lang)])
                data = {'start': {'language': language.id}}
            session_id, _, _ = Wizard.create()
            Wizard.execute(session_id, data, button)
            Wizard.delete(session_id)
        content = Translation.translation_export(lang, module)
        transaction.rollback()
    with tempfile.NamedTemporaryFile('wb', suffix='.po') as tmp:
        tmp.write(content or b'')
        tmp.flush()
        return polib.pofile(tmp.name, wrapwidth=78)


def extras(module):
    "The module's extras_depend that are modules of the project"
    import configparser
    config = configparser.ConfigParser()
    config.read(os.path.join(ROOT, 'addons', module, 'tryton.cfg'),
        encoding='utf-8')
    names = config.get('tryton', 'extras_depend', fallback='').split()
    return [n for n in names
        if os.path.isdir(os.path.join(ROOT, 'addons', n))]


def key(entry):
    return (entry.msgctxt, entry.msgid)


def is_translated(entry):
    if 'fuzzy' in entry.flags:
        return False
    if entry.msgid_plural:
        return bool(entry.msgstr_plural.get(0))
    return bool(entry.msgstr)


def placeholders(text):
    return sorted(re.findall(r'%\(\w+\)[sd]|\$\{\w+\}|\{\}', text or ''))


def placeholder_problems(entries):
    "Entries whose translation lost or added a %(name)s placeholder"
    return ['placeholders differ: %s %r' % (e.msgctxt, e.msgid)
        for e in entries if is_translated(e)
        and placeholders(e.msgid) != placeholders(e.msgstr
            or e.msgstr_plural.get(0))]


def merge(template, existing):
    "Return a new POFile with the template entries and existing msgstr"
    old = {key(e): e for e in existing if not e.obsolete} if existing else {}
    result = polib.POFile(wrapwidth=78)
    result.metadata = {'Content-Type': 'text/plain; charset=utf-8'}
    for entry in template:
        entry.flags = [f for f in entry.flags if f != 'fuzzy']
        previous = old.get(key(entry))
        if previous is not None and is_translated(previous):
            entry.msgstr = previous.msgstr
            entry.msgstr_plural = dict(previous.msgstr_plural)
        elif entry.msgid_plural:
            entry.msgstr = ''
            entry.msgstr_plural = {0: ''}
        else:
            entry.msgstr = ''
        entry.previous_msgid = entry.previous_msgctxt = None
        result.append(entry)
    result.sort(key=key)
    return result


def module_locale(module, lang):
    "Path of the po file shipped with a Tryton module (or ir/res)"
    import trytond
    base = os.path.dirname(trytond.__file__)
    if module in {'ir', 'res'}:
        return os.path.join(base, module, 'locale', lang + '.po')
    from trytond.modules import get_module_info
    return os.path.join(
        get_module_info(module)['directory'], 'locale', lang + '.po')


def fuzzy_fix_registered(module):
    "Whether the module registers translation.Translation (see README.md)"
    cfg = os.path.join(ROOT, 'addons', module, 'tryton.cfg')
    return re.search(r'^\s*translation\.Translation\s*$',
        open(cfg, encoding='utf-8').read(), re.M) is not None


def check_override(path, lang, fuzzy_fix=False):
    """Check the override entries against the overridden modules' po files.

    Returns a list of problems. A missing target entry makes module
    activation crash; an override whose value equals the shipped *fuzzy*
    value is silently ignored by Tryton (the entry stays fuzzy)."""
    problems = []
    if not os.path.exists(path):
        return problems
    shipped = {}
    seen = set()
    for entry in polib.pofile(path):
        if entry.obsolete:
            continue
        where = '%s %r' % (entry.msgctxt, entry.msgid)
        if key(entry) in seen:
            problems.append('duplicate: ' + where)
        seen.add(key(entry))
        ttype, name, res_id = entry.msgctxt.split(':')
        problems.extend(placeholder_problems([entry]))
        if '.' not in res_id:
            problems.append('no "<module>." in msgctxt: ' + where)
            continue
        module, fs_id = res_id.split('.', 1)
        if module not in shipped:
            try:
                shipped[module] = {}
                for e in polib.pofile(module_locale(module, lang)):
                    shipped[module][key(e)] = e
                    shipped[module].setdefault(e.msgctxt, []).append(e)
            except (OSError, IOError) as exc:
                problems.append('%s: %s' % (where, exc))
                shipped[module] = {}
        ctxt = '%s:%s:%s' % (ttype, name, fs_id)
        same_ctxt = shipped[module].get(ctxt, [])
        target = (shipped[module].get((ctxt, entry.msgid))
            or (same_ctxt[0] if same_ctxt else None))
        if 'fuzzy' in entry.flags:
            problems.append('fuzzy: ' + where)
        if not is_translated(entry):
            problems.append('untranslated: ' + where)
        if target is None:
            problems.append(
                'not in %s/locale/%s.po (activation would crash): %s'
                % (module, lang, where))
        elif len(same_ctxt) > 1 and ttype not in SOURCE_TYPES:
            problems.append('%s/locale/%s.po has several %s entries, Tryton '
                'cannot override them (activation would crash): %s'
                % (module, lang, ctxt, where))
        elif target.msgid != entry.msgid and ttype in SOURCE_TYPES:
            problems.append(
                'msgid not in %s/locale/%s.po (activation would crash): %s'
                % (module, lang, where))
        elif target.msgid != entry.msgid:
            problems.append('msgid changed upstream to %r: %s'
                % (target.msgid, where))
        elif (not fuzzy_fix and 'fuzzy' in target.flags
                and target.msgstr == entry.msgstr
                and target.msgstr_plural == entry.msgstr_plural):
            problems.append(
                'same text as the shipped fuzzy guess, Tryton would keep it '
                'fuzzy (ignored): ' + where)
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('module', nargs='?', default='order_hub')
    parser.add_argument('--lang', default='ru')
    parser.add_argument('--check', action='store_true',
        help="don't write; exit 1 if anything is out of date or untranslated")
    parser.add_argument('--override-only', action='store_true',
        help="only check locale/override/<lang>.po (fast, no database)")
    args = parser.parse_args()

    locale_dir = os.path.join(ROOT, 'addons', args.module, 'locale')
    po_path = os.path.join(locale_dir, args.lang + '.po')
    override = os.path.join(locale_dir, 'override', args.lang + '.po')
    failed = False

    if not args.override_only:
        existing = polib.pofile(po_path) if os.path.exists(po_path) else None
        merged = merge(export_template(args.module, args.lang), existing)
        old_keys = {key(e) for e in existing or [] if not e.obsolete}
        new_keys = {key(e) for e in merged}
        added, dropped = new_keys - old_keys, old_keys - new_keys
        content = str(merged) + '\n'
        changed = (not os.path.exists(po_path)
            or open(po_path, encoding='utf-8').read() != content)

        for label, keys in [('new', added), ('dropped', dropped)]:
            for ctxt, msgid in sorted(keys):
                print('%s: %s %r' % (label, ctxt, msgid))
        untranslated = [e for e in merged if not is_translated(e)]
        for entry in untranslated:
            print('untranslated: %s %r' % (entry.msgctxt, entry.msgid))
        problems = placeholder_problems(merged)
        for problem in problems:
            print(problem)
        print('%s: %d entries, %d new, %d dropped, %d untranslated'
            % (os.path.relpath(po_path, ROOT), len(merged), len(added),
                len(dropped), len(untranslated)))
        if args.check:
            if changed:
                print('%s is out of date: run tools/update_po.py %s'
                    % (os.path.relpath(po_path, ROOT), args.module))
            failed |= bool(changed or untranslated or problems)
        elif changed:
            os.makedirs(locale_dir, exist_ok=True)
            with open(po_path, 'w', encoding='utf-8') as fp:
                fp.write(content)

    if os.path.exists(override):
        problems = check_override(override, args.lang,
            fuzzy_fix=fuzzy_fix_registered(args.module))
        for problem in problems:
            print('override: ' + problem)
        print('%s: %d entries, %d problems' % (
                os.path.relpath(override, ROOT),
                len(polib.pofile(override)), len(problems)))
        failed |= bool(problems) and (args.check or args.override_only)
    return 1 if failed else 0

if __name__ == '__main__':
    sys.exit(main())
