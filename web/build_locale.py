#!/usr/bin/env python3
"""Compile web/locale/ru.po into the JSON catalogue loaded by sao.

sao (tryton-sao) fetches ``locale/<lang>.json`` and feeds it to gettext.js.
Upstream generates these files with ``grunt-po2json`` (po2json, ``format:
'raw'``).  This script reproduces that output byte for byte, using the
standard library only:

* one JSON object, serialised without whitespace and without ASCII escaping
  (``JSON.stringify`` style), no trailing newline;
* key ``""`` holds the PO header as an object whose keys are the header names
  in lower case (``content-type``, ``language``, ``plural-forms``...);
* every other key is the msgid (``msgctxt + "\\u0004" + msgid`` when a
  context is set) and maps to ``[msgid_plural or null, msgstr[0], ...]``;
* fuzzy entries are left out, obsolete (``#~``) entries are ignored.

Usage::

    python3 web/build_locale.py [--po web/locale/ru.po]
        [--output web/node_modules/tryton-sao/locale/ru.json]
"""
import argparse
import json
import os
import re
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PO = os.path.join(HERE, 'locale', 'ru.po')
DEFAULT_JSON = os.path.join(
    HERE, 'node_modules', 'tryton-sao', 'locale', 'ru.json')

CTXT_DELIMITER = '\x04'

_SIMPLE_ESCAPES = {
    'n': '\n', 't': '\t', 'r': '\r', 'a': '\a', 'b': '\b', 'f': '\f',
    'v': '\v', '\\': '\\', '"': '"', "'": "'", '?': '?',
}
_KEYWORD_RE = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)'
    r'\s+(".*)$')


class POError(ValueError):
    pass


def _unquote(text, lineno):
    """Decode one C-style quoted PO string ("...") into str."""
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise POError('line %d: malformed string %r' % (lineno, text))
    body = text[1:-1]
    out = []
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if c == '"':
            raise POError('line %d: unescaped quote in %r' % (lineno, text))
        if c != '\\':
            out.append(c)
            i += 1
            continue
        i += 1
        if i >= n:
            raise POError('line %d: dangling backslash' % lineno)
        c = body[i]
        if c in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[c])
            i += 1
        elif c in '01234567':
            digits = re.match(r'[0-7]{1,3}', body[i:]).group()
            out.append(chr(int(digits, 8)))
            i += len(digits)
        elif c == 'x':
            match = re.match(r'[0-9a-fA-F]+', body[i + 1:])
            if not match:
                raise POError('line %d: bad \\x escape' % lineno)
            out.append(chr(int(match.group(), 16)))
            i += 1 + len(match.group())
        else:
            raise POError('line %d: unknown escape \\%s' % (lineno, c))
    return ''.join(out)


def parse_po(text):
    """Parse PO source text into a list of entry dicts.

    Each entry has: msgctxt (str or None), msgid, msgid_plural (str or None),
    msgstr (list of str, index = plural form) and flags (set of str).
    """
    entries = []
    entry = None
    flags = set()
    field = None  # (name, index) of the string being continued

    def finish():
        nonlocal entry
        if entry is not None:
            if entry['msgid'] is None:
                raise POError('line %d: entry without msgid' % entry['line'])
            if not entry['msgstr']:
                raise POError('line %d: entry without msgstr' % entry['line'])
            size = max(entry['msgstr']) + 1
            entry['msgstr'] = [entry['msgstr'].get(i, '') for i in range(size)]
            entries.append(entry)
        entry = None

    if text.startswith('\ufeff'):
        text = text[1:]
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped:
            field = None
            continue
        if stripped.startswith('#'):
            field = None
            if stripped.startswith('#~'):
                continue  # obsolete entry
            if stripped.startswith('#,'):
                if entry is not None and entry['msgstr']:
                    finish()
                flags.update(
                    f.strip() for f in stripped[2:].split(',') if f.strip())
            continue
        if stripped.startswith('"'):
            if field is None:
                raise POError('line %d: unexpected string' % lineno)
            value = _unquote(stripped, lineno)
            name, index = field
            if name == 'msgstr':
                entry['msgstr'][index] += value
            else:
                entry[name] += value
            continue
        match = _KEYWORD_RE.match(stripped)
        if not match:
            raise POError('line %d: cannot parse %r' % (lineno, line))
        keyword, index, rest = match.groups()
        value = _unquote(rest, lineno)
        if keyword in ('msgctxt', 'msgid'):
            # Start of a new entry unless we are right after its msgctxt.
            if not (keyword == 'msgid' and entry is not None
                    and entry['msgid'] is None):
                finish()
                entry = {
                    'msgctxt': None, 'msgid': None, 'msgid_plural': None,
                    'msgstr': {}, 'flags': flags, 'line': lineno,
                    }
                flags = set()
            entry[keyword] = value
            field = (keyword, None)
        elif keyword == 'msgid_plural':
            if entry is None or entry['msgid'] is None:
                raise POError('line %d: msgid_plural without msgid' % lineno)
            entry['msgid_plural'] = value
            field = (keyword, None)
        else:
            if entry is None or entry['msgid'] is None:
                raise POError('line %d: msgstr without msgid' % lineno)
            index = int(index) if index is not None else 0
            if index in entry['msgstr']:
                raise POError('line %d: duplicate %s' % (lineno, keyword))
            entry['msgstr'][index] = value
            field = ('msgstr', index)
    finish()
    for entry in entries:
        del entry['line']
    return entries


def parse_header(value):
    """Header msgstr -> dict with lower-cased keys (as gettext-parser)."""
    headers = {}
    for line in value.split('\n'):
        key, _, rest = line.strip().partition(':')
        key = key.strip().lower()
        if key:
            headers[key] = rest.strip()
    return headers


def _is_array_index(key):
    # JavaScript objects enumerate integer-like keys first, in numeric order.
    return (key.isdigit() and str(int(key)) == key
        and int(key) < 2 ** 32 - 1)


def catalog(entries):
    """Build the po2json 'raw' dictionary from parsed entries."""
    contexts = {}
    headers = None
    for entry in entries:
        ctxt = entry['msgctxt'] or ''
        translations = contexts.setdefault(ctxt, {})
        if headers is None and not ctxt and not entry['msgid']:
            headers = parse_header(entry['msgstr'][0])
        translations[entry['msgid']] = entry
    plural_forms = (headers or {}).get('plural-forms', '')

    result = {}
    for ctxt, translations in contexts.items():
        for msgid, entry in translations.items():
            if any('fuzzy' in flag for flag in entry['flags']):
                continue
            key = ctxt + CTXT_DELIMITER + msgid if ctxt else msgid
            plural = entry['msgid_plural']
            msgstr = list(entry['msgstr'])
            if plural_forms == 'nplurals=1; plural=0;' and plural is not None:
                msgstr = [msgstr]
            result[key] = [plural] + msgstr
    if headers is not None:
        result[''] = headers

    ordered = sorted((k for k in result if _is_array_index(k)), key=int)
    ordered += [k for k in result if not _is_array_index(k)]
    return {k: result[k] for k in ordered}


def dumps(data):
    return json.dumps(data, ensure_ascii=False, separators=(',', ':'))


def build(po_path=DEFAULT_PO, json_path=DEFAULT_JSON):
    """Compile po_path into json_path; return (written, translated)."""
    with open(po_path, encoding='utf-8') as fp:
        entries = parse_po(fp.read())
    data = catalog(entries)
    content = dumps(data)

    directory = os.path.dirname(os.path.abspath(json_path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, suffix='.tmp')
    try:
        with os.fdopen(fd, 'w', encoding='utf-8', newline='') as fp:
            fp.write(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, json_path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise

    messages = [v for k, v in data.items() if k != '']
    translated = sum(
        1 for v in messages
        if all(isinstance(s, str) and s for s in _flatten(v[1:])))
    return len(messages), translated


def _flatten(values):
    for value in values:
        if isinstance(value, list):
            yield from _flatten(value)
        else:
            yield value


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Compile a sao .po catalogue into gettext.js JSON.')
    parser.add_argument('--po', default=DEFAULT_PO,
        help='source .po file (default: %(default)s)')
    parser.add_argument('-o', '--output', default=DEFAULT_JSON,
        help='target .json file (default: %(default)s)')
    args = parser.parse_args(argv)
    try:
        written, translated = build(args.po, args.output)
    except (OSError, POError) as exc:
        print('error: %s' % exc, file=sys.stderr)
        return 1
    print('%s: wrote %d strings (%d translated) to %s' % (
            os.path.basename(args.po), written, translated, args.output))
    return 0


if __name__ == '__main__':
    sys.exit(main())
