"""OData v3 plumbing of the 1C standard interface (``standard.odata``).

Query options ($filter, $select, $orderby, $top, $skip, $inlinecount), key
and function-argument syntax, JSON/Atom serialisation and the ``odata.error``
body.  Knows nothing about UT11 objects: :mod:`sandbox.ut11` feeds it rows.
"""
import datetime
import heapq
import itertools
import json
import re
from decimal import Decimal
from xml.sax.saxutils import escape, quoteattr

EMPTY_REF = '00000000-0000-0000-0000-000000000000'
EMPTY_DATE = '0001-01-01T00:00:00'
GUID_RE = re.compile(r'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-'
    r'[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')
INTERNAL_ERROR = ('Произошла внутренняя ошибка OData сервиса. Дополнительные '
    'сведения можно найти в технологическом журнале.')


class ODataError(Exception):
    "An error 1C reports as ``odata.error`` with its internal code"

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = str(code)
        self.message = message


def query_error(message):
    return ODataError(400, 14, message)


# -- values ------------------------------------------------------------------

def to_decimal(value):
    if isinstance(value, bool):
        raise ValueError('boolean is not a number')
    if isinstance(value, Decimal):
        return value
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    raise ValueError(f'not a number: {value!r}')


def normalize_date(value):
    """1C dates have no time zone: drop any offset the client sent.

    Returns the canonical ``YYYY-MM-DDTHH:MM:SS`` form or raises ValueError.
    """
    if not isinstance(value, str):
        raise ValueError(f'not a date: {value!r}')
    text = re.sub(r'(Z|[+-]\d\d:?\d\d)$', '', value.strip())
    text = text.split('.')[0]
    for fmt in ('%Y-%m-%dT%H:%M:%S', '%Y-%m-%dT%H:%M', '%Y-%m-%d'):
        try:
            parsed = datetime.datetime.strptime(text, fmt)
        except ValueError:
            continue
        return parsed.strftime('%Y-%m-%dT%H:%M:%S').rjust(19, '0')
    raise ValueError(f'not a date: {value!r}')


def json_default(value):
    # 1C writes numbers as JSON numbers, never as strings
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f'cannot serialise {type(value).__name__}')


def dumps(data):
    return json.dumps(data, ensure_ascii=False, default=json_default)


# -- $filter ----------------------------------------------------------------

_TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<guid>guid'(?P<guidv>[^']*)')
  | (?P<datetime>datetime'(?P<datev>[^']*)')
  | (?P<string>'(?P<strv>(?:[^']|'')*)')
  | (?P<number>-?\d+(?:\.\d+)?)[mMdDlLfF]?
  | (?P<name>[^\W\d][\w/]*)
  | (?P<punct>[(),])
""", re.VERBOSE)

COMPARISONS = {
    'eq': lambda a, b: a == b, 'ne': lambda a, b: a != b,
    'gt': lambda a, b: a > b, 'ge': lambda a, b: a >= b,
    'lt': lambda a, b: a < b, 'le': lambda a, b: a <= b,
    }


def _date_part(index):
    def part(value):
        return int(normalize_date(value).replace('T', '-').replace(':', '-')
            .split('-')[index])
    return part


FUNCTIONS = {
    'substringof': (2, lambda a, b: a.lower() in b.lower()),
    'startswith': (2, lambda s, p: s.startswith(p)),
    'endswith': (2, lambda s, p: s.endswith(p)),
    'length': (1, lambda s: Decimal(len(s))),
    'indexof': (2, lambda s, p: Decimal(s.find(p))),
    'substring': ((2, 3), lambda s, i, n=None: s[int(i):]
        if n is None else s[int(i):int(i) + int(n)]),
    'tolower': (1, lambda s: s.lower()),
    'toupper': (1, lambda s: s.upper()),
    'trim': (1, lambda s: s.strip()),
    'year': (1, _date_part(0)), 'month': (1, _date_part(1)),
    'day': (1, _date_part(2)), 'hour': (1, _date_part(3)),
    'minute': (1, _date_part(4)), 'second': (1, _date_part(5)),
    }


def tokenize(text):
    pos, tokens = 0, []
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if not match:
            raise query_error(
                f'Ошибка разбора выражения $filter в позиции {pos + 1}')
        pos = match.end()
        kind = match.lastgroup
        if kind == 'ws':
            continue
        if kind == 'guid':
            if not GUID_RE.match(match.group('guidv')):
                raise query_error('Неверный литерал guid')
            tokens.append(('lit', match.group('guidv').lower()))
        elif kind == 'datetime':
            try:
                tokens.append(('lit', normalize_date(match.group('datev'))))
            except ValueError:
                raise query_error('Неверный литерал datetime')
        elif kind == 'string':
            tokens.append(('lit', match.group('strv').replace("''", "'")))
        elif kind == 'number':
            tokens.append(('lit', Decimal(match.group('number'))))
        elif kind == 'name':
            word = match.group('name')
            literals = {'true': True, 'false': False, 'null': None}
            if word in literals:
                tokens.append(('lit', literals[word]))
            else:
                tokens.append(('name', word))
        else:
            tokens.append(('punct', match.group()))
    return tokens


class FilterParser:
    """Recursive descent over OData v3 boolean expressions.

    Produces a small AST of tuples; :func:`compile_filter` turns it into a
    predicate on row dicts.
    """

    def __init__(self, text, fields):
        self.tokens = tokenize(text)
        self.pos = 0
        self.fields = fields

    def parse(self):
        node = self.or_expr()
        if self.pos != len(self.tokens):
            raise query_error('Ошибка разбора выражения $filter: '
                'лишние символы в конце выражения')
        return node

    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else (
            None, None)

    def take(self):
        token = self.peek()
        self.pos += 1
        return token

    def keyword(self, word):
        if self.peek() == ('name', word):
            self.pos += 1
            return True
        return False

    def expect(self, punct):
        if self.take() != ('punct', punct):
            raise query_error(f'Ошибка разбора выражения $filter: '
                f'ожидается "{punct}"')

    def or_expr(self):
        node = self.and_expr()
        while self.keyword('or'):
            node = ('or', node, self.and_expr())
        return node

    def and_expr(self):
        node = self.not_expr()
        while self.keyword('and'):
            node = ('and', node, self.not_expr())
        return node

    def not_expr(self):
        if self.keyword('not'):
            return ('not', self.not_expr())
        return self.comparison()

    def comparison(self):
        left = self.primary()
        kind, value = self.peek()
        if kind == 'name' and value in COMPARISONS:
            self.pos += 1
            return ('cmp', value, left, self.primary())
        return left

    def primary(self):
        kind, value = self.take()
        if kind == 'lit':
            return ('lit', value)
        if (kind, value) == ('punct', '('):
            node = self.or_expr()
            self.expect(')')
            return node
        if kind != 'name':
            raise query_error('Ошибка разбора выражения $filter')
        if self.peek() == ('punct', '('):
            return self.call(value)
        if self.fields is not None and value not in self.fields:
            raise ODataError(400, 10, f'Не найдено свойство "{value}"')
        return ('prop', value)

    def call(self, name):
        if name not in FUNCTIONS:
            raise query_error(f'Неизвестная функция "{name}" в $filter')
        self.expect('(')
        args = []
        if self.peek() != ('punct', ')'):
            args.append(self.or_expr())
            while self.peek() == ('punct', ','):
                self.pos += 1
                args.append(self.or_expr())
        self.expect(')')
        arity = FUNCTIONS[name][0]
        if len(args) not in (arity if isinstance(arity, tuple) else (arity,)):
            raise query_error(f'Неверное число параметров функции "{name}"')
        return ('call', name, args)


def _comparable(a, b):
    "Numbers compare as Decimal, GUIDs case-insensitively"
    if isinstance(a, (int, float)) and not isinstance(a, bool):
        a = Decimal(str(a))
    if isinstance(b, (int, float)) and not isinstance(b, bool):
        b = Decimal(str(b))
    if isinstance(a, str) and isinstance(b, str) and GUID_RE.match(b):
        a = a.lower()
    return a, b


def _evaluator(node):
    kind = node[0]
    if kind == 'lit':
        value = node[1]
        return lambda row: value
    if kind == 'prop':
        name = node[1]
        return lambda row: row.get(name)
    if kind in ('and', 'or'):
        left, right = _evaluator(node[1]), _evaluator(node[2])
        if kind == 'and':
            return lambda row: bool(left(row)) and bool(right(row))
        return lambda row: bool(left(row)) or bool(right(row))
    if kind == 'not':
        inner = _evaluator(node[1])
        return lambda row: not inner(row)
    if kind == 'cmp':
        op = COMPARISONS[node[1]]
        left, right = _evaluator(node[2]), _evaluator(node[3])

        def compare(row):
            a, b = _comparable(left(row), right(row))
            try:
                return op(a, b)
            except TypeError:
                # 1C compares values of different types as not equal
                return node[1] == 'ne'
        return compare
    func = FUNCTIONS[node[1]][1]
    args = [_evaluator(arg) for arg in node[2]]

    def call(row):
        try:
            return func(*(a(row) for a in args))
        except (TypeError, AttributeError, ValueError):
            return None
    return call


def compile_filter(text, fields=None):
    "Return (predicate, ast) for a $filter string, validated against fields"
    ast = FilterParser(text, fields).parse()
    return _evaluator(ast), ast


def equalities(ast):
    "Property eq literal pairs that every matching row must satisfy"
    if ast is None:
        return {}
    if ast[0] == 'and':
        return {**equalities(ast[1]), **equalities(ast[2])}
    if ast[0] == 'cmp' and ast[1] == 'eq':
        left, right = ast[2], ast[3]
        if left[0] == 'lit':
            left, right = right, left
        if left[0] == 'prop' and right[0] == 'lit':
            return {left[1]: right[1]}
    return {}


def alternatives(ast, name):
    """The values property name can take in rows matching ast, or None when
    the filter does not narrow it to a list (``X eq a or X eq b``, with
    ``and`` around it)"""
    if ast is None:
        return None
    kind = ast[0]
    if kind == 'cmp' and ast[1] == 'eq':
        pair = {ast[2][0]: ast[2][1], ast[3][0]: ast[3][1]}
        if pair.get('prop') == name and 'lit' in pair:
            return {pair['lit']}
        return None
    if kind in ('and', 'or'):
        left, right = alternatives(ast[1], name), alternatives(ast[2], name)
        if kind == 'or':
            return None if left is None or right is None else left | right
        if left is None or right is None:
            return right if left is None else left
        return left & right
    return None


# -- URL segments -----------------------------------------------------------

_SEGMENT_RE = re.compile(r'^(?P<name>[^()]+)(?:\((?P<args>.*)\))?$', re.S)
_KEY_RE = re.compile(r"^guid'(?P<guid>[^']*)'$")


def split_segment(segment):
    "'Name(args)' -> (name, args or None)"
    match = _SEGMENT_RE.match(segment)
    if not match:
        raise ODataError(400, 6, f'Неверный сегмент URL "{segment}"')
    return match.group('name'), match.group('args')


def parse_key(args):
    "The (guid'…') key of a catalog or document"
    if not args or not args.strip():
        raise ODataError(400, 7, 'Не указан ключ сущности')
    match = _KEY_RE.match(args.strip())
    if not match or not GUID_RE.match(match.group('guid')):
        raise ODataError(400, 6, f'Неверное значение ключа "({args})"')
    return match.group('guid').lower()


_FUNCTION_ARG_NAMES = ('Period', 'Condition', 'Dimensions', 'StartPeriod',
    'EndPeriod', 'Periodicity')


def parse_function_args(args):
    """Arguments of a virtual table: ``Period=datetime'…',Condition='…'``.

    Condition quotes may be doubled (``guid''…''``) or simply nested
    (``guid'…'``) - client libraries do both, so accept both.
    """
    result = {}
    if not args or not args.strip():
        return result
    names = '|'.join(_FUNCTION_ARG_NAMES)
    parts = re.split(rf",\s*(?=(?:{names})\s*=)", args.strip())
    for part in parts:
        name, sep, value = part.partition('=')
        name, value = name.strip(), value.strip()
        if not sep or name not in _FUNCTION_ARG_NAMES:
            raise ODataError(400, 12, f'Неверный параметр "{name}" '
                'виртуальной таблицы')
        if name in ('Period', 'StartPeriod', 'EndPeriod'):
            match = re.match(r"^datetime'([^']*)'$", value)
            try:
                result[name] = normalize_date(match.group(1) if match
                    else value)
            except ValueError:
                raise ODataError(400, 4, f'Неверное значение параметра '
                    f'"{name}"')
        else:
            if len(value) < 2 or value[0] != "'" or value[-1] != "'":
                raise ODataError(400, 4, f'Неверное значение параметра '
                    f'"{name}"')
            result[name] = value[1:-1].replace("''", "'")
    return result


# -- query options ---------------------------------------------------------

def _nonnegative(args, name):
    value = args.get(name)
    if value is None:
        return None
    if not value.isdigit():
        raise query_error(f'Неверное значение параметра запроса {name}')
    return int(value)


def parse_orderby(text, fields):
    keys = []
    for item in (text or '').split(','):
        words = item.split()
        if not words:
            continue
        if len(words) > 2 or (len(words) == 2
                and words[1] not in ('asc', 'desc')):
            raise query_error('Ошибка разбора параметра запроса $orderby')
        if fields is not None and words[0] not in fields:
            raise ODataError(400, 10, f'Не найдено свойство "{words[0]}"')
        keys.append((words[0], len(words) == 2 and words[1] == 'desc'))
    return keys


def parse_select(text, fields):
    if not text:
        return None
    names = [n.strip() for n in text.split(',') if n.strip()]
    for name in names:
        if name != '*' and fields is not None and name not in fields:
            raise ODataError(400, 10, f'Не найдено свойство "{name}"')
    return None if '*' in names else names


def _sort_key(value):
    # None/empty sort first, like 1C's empty values
    if value is None:
        return (0, '')
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, (int, float, Decimal)):
        return (2, Decimal(str(value)))
    return (3, str(value))


class Query:
    """Parsed query options of one request, applied to a row source.

    ``source`` is any iterable of row dicts; it may be lazy (generated data
    sets), and may offer ``iter_by_key()`` yielding rows ordered by Ref_Key
    so that paging ordered by Ref_Key does not materialise everything.
    """

    def __init__(self, args, fields=None):
        self.fields = fields
        flt = args.get('$filter')
        self.predicate, self.ast = (compile_filter(flt, fields) if flt
            else (None, None))
        self.select = parse_select(args.get('$select'), fields)
        self.orderby = parse_orderby(args.get('$orderby'), fields)
        self.top = _nonnegative(args, '$top')
        self.skip = _nonnegative(args, '$skip') or 0
        inline = args.get('$inlinecount')
        if inline not in (None, 'allpages', 'none'):
            raise query_error('Неверное значение параметра запроса '
                '$inlinecount')
        self.count = inline == 'allpages'
        if args.get('$expand'):
            raise ODataError(400, 0, 'Параметр $expand не поддерживается '
                'симулятором')

    def run(self, source, resume=None):
        """Return (page rows, total count or None, rest).

        rest iterates the matching rows after this page; passing it back as
        resume for the next page ($skip = what was read so far) continues
        there instead of ordering and skipping everything again."""
        if resume is not None:
            rows, skip = resume, 0
        else:
            rows, skip = self._ordered(source), self.skip
            if self.predicate:
                rows = (row for row in rows if self.predicate(row))
        if self.count:
            rows = list(rows)
            total = len(rows)
            page = rows[skip:None if self.top is None else skip + self.top]
            rest = iter(rows[skip + len(page):])
        else:
            total = None
            rows = iter(rows)
            stop = None if self.top is None else skip + self.top
            page = list(itertools.islice(rows, skip, stop))
            rest = rows
        return [self.project(row) for row in page], total, rest

    def _ordered(self, source):
        if not self.orderby:
            return iter(source)
        if (self.orderby == [('Ref_Key', False)]
                and hasattr(source, 'iter_by_key')):
            return source.iter_by_key()
        rows = list(source)
        for name, desc in reversed(self.orderby):
            rows.sort(key=lambda r: _sort_key(r.get(name)), reverse=desc)
        return iter(rows)

    def project(self, row):
        if self.select is None:
            return row
        return {name: row[name] for name in self.select if name in row}


def merge_by_key(*sorted_iterables):
    "Merge row streams that are each ordered by Ref_Key"
    return heapq.merge(*sorted_iterables, key=lambda r: r['Ref_Key'])


# -- representation --------------------------------------------------------

def wants_json(request):
    fmt = request.args.get('$format', '')
    if fmt:
        return fmt.startswith('json') or fmt.startswith('application/json')
    return 'json' in request.headers.get('Accept', '')


def metadata_level(request):
    "nometadata, minimalmetadata (1C's JSON default) or fullmetadata"
    text = request.args.get('$format', '') + ';' + request.headers.get(
        'Accept', '')
    for level in ('nometadata', 'fullmetadata'):
        if f'odata={level}' in text:
            return level
    return 'minimalmetadata'


def error_body(code, message, as_json):
    if as_json:
        return dumps({'odata.error': {'code': str(code),
                    'message': {'lang': 'ru', 'value': message}}}), \
            'application/json;charset=utf-8'
    xml = ('<?xml version="1.0" encoding="UTF-8"?>\r\n'
        '<m:error xmlns:m="http://schemas.microsoft.com/ado/2007/08/'
        'dataservices/metadata">\r\n'
        f'<m:code>{escape(str(code))}</m:code>\r\n'
        f'<m:message xml:lang="ru">{escape(message)}</m:message>\r\n'
        '</m:error>')
    return xml, 'application/xml;charset=utf-8'


_NS = ('xmlns="http://www.w3.org/2005/Atom" '
    'xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices" '
    'xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"')


def _utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        '%Y-%m-%dT%H:%M:%SZ')


def _xml_value(name, value):
    if isinstance(value, list):
        items = ''.join('<d:element>' + ''.join(_xml_value(k, v)
                for k, v in row.items()) + '</d:element>' for row in value)
        return f'<d:{name}>{items}</d:{name}>'
    if isinstance(value, bool):
        text = 'true' if value else 'false'
    elif isinstance(value, Decimal):
        text = str(json_default(value))
    else:
        text = '' if value is None else str(value)
    return f'<d:{name}>{escape(text)}</d:{name}>'


def _atom_entry(base, entity_set, row):
    now = _utc_now()
    ref = row.get('Ref_Key')
    link = f"{entity_set}(guid'{ref}')" if ref else entity_set
    props = ''.join(_xml_value(k, v) for k, v in row.items())
    return (f'<entry><id>{escape(base)}/{escape(link)}</id>'
        f'<category term="StandardODATA.{entity_set}" scheme='
        '"http://schemas.microsoft.com/ado/2007/08/dataservices/scheme"/>'
        f'<title type="text"/><updated>{now}</updated><author/><summary/>'
        f'<link rel="edit" href={quoteattr(link)} title="edit-link"/>'
        '<content type="application/xml"><m:properties>'
        f'{props}</m:properties></content></entry>')


def atom_feed(base, entity_set, rows, count=None):
    now = _utc_now()
    count_xml = f'<m:count>{count}</m:count>' if count is not None else ''
    entries = ''.join(_atom_entry(base, entity_set, r) for r in rows)
    return ('<?xml version="1.0" encoding="UTF-8"?>\r\n'
        f'<feed {_NS} xml:base="{escape(base)}/">{count_xml}'
        f'<id>{escape(base)}/{escape(entity_set)}</id><title type="text"/>'
        f'<updated>{now}</updated><author/>{entries}</feed>')


def atom_entry(base, entity_set, row):
    entry = _atom_entry(base, entity_set, row)
    return ('<?xml version="1.0" encoding="UTF-8"?>\r\n'
        + entry.replace('<entry>', f'<entry {_NS} xml:base="{escape(base)}/">',
            1))


EDM_TYPES = {'guid': 'Edm.Guid', 'str': 'Edm.String', 'enum': 'Edm.String',
    'bool': 'Edm.Boolean', 'num': 'Edm.Double', 'date': 'Edm.DateTime',
    'int': 'Edm.Int64', 'any': 'Edm.String', 'type': 'Edm.String'}


def metadata_document(entity_types):
    """CSDL for ``$metadata``: entity_types is {name: (fields, tabular)}.

    fields maps property -> simple type; tabular maps section -> fields.
    """
    parts = []
    for name, (fields, tabular, keyed) in entity_types.items():
        props = ''.join(f'<Property Name="{p}" Type="{EDM_TYPES[t]}" '
            f'Nullable="{"false" if p == "Ref_Key" else "true"}"/>'
            for p, t in fields.items())
        for section, row_fields in tabular.items():
            row_type = f'{name}_{section}_RowType'
            parts.append(f'<ComplexType Name="{row_type}">' + ''.join(
                    f'<Property Name="{p}" Type="{EDM_TYPES[t]}" '
                    'Nullable="true"/>' for p, t in row_fields.items())
                + '</ComplexType>')
            props += (f'<Property Name="{section}" Type="Collection('
                f'StandardODATA.{row_type})" Nullable="true"/>')
        key = '<Key><PropertyRef Name="Ref_Key"/></Key>' if keyed else ''
        parts.append(f'<EntityType Name="{name}">{key}{props}</EntityType>')
    sets = ''.join(f'<EntitySet Name="{n}" EntityType="StandardODATA.{n}"/>'
        for n in entity_types)
    return ('<?xml version="1.0" encoding="UTF-8"?>\r\n'
        '<edmx:Edmx xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/'
        'edmx" Version="1.0"><edmx:DataServices xmlns:m="http://schemas.'
        'microsoft.com/ado/2007/08/dataservices/metadata" '
        'm:DataServiceVersion="3.0"><Schema xmlns="http://schemas.microsoft'
        '.com/ado/2009/11/edm" Namespace="StandardODATA">' + ''.join(parts)
        + f'<EntityContainer Name="InfoBase" m:IsDefaultEntityContainer='
        f'"true">{sets}</EntityContainer></Schema></edmx:DataServices>'
        '</edmx:Edmx>')


def service_document(base, names):
    collections = ''.join(f'<collection href="{escape(n)}"><atom:title>'
        f'{escape(n)}</atom:title></collection>' for n in names)
    return ('<?xml version="1.0" encoding="UTF-8"?>\r\n'
        '<service xmlns="http://www.w3.org/2007/app" xmlns:atom='
        f'"http://www.w3.org/2005/Atom" xml:base="{escape(base)}">'
        f'<workspace><atom:title>Default</atom:title>{collections}'
        '</workspace></service>')
