"""The OData service: routing under /<publication>/odata/standard.odata,
HTTP Basic, 1C's error bodies, reading and writing catalogs and documents,
tabular sections and registers, paging."""
import base64
import json
import logging
from decimal import Decimal

from flask import Response, request

from ..core import route
from .metadata import (ENTITY_SETS, ENUMS, TABULAR_SETS,
    turnover_fields, _DEFAULTS)
from .odata import (
    EMPTY_DATE, GUID_RE, INTERNAL_ERROR, ODataError, Query, atom_entry,
    atom_feed, compile_filter, dumps, equalities, error_body,
    metadata_document, metadata_level, normalize_date, parse_function_args,
    parse_key, service_document, split_segment, to_decimal, wants_json)
from .stock import _group

log = logging.getLogger('sandbox.ut11')
ODATA_ROOT = '/<publication>/odata/standard.odata'
ODATA_METHODS = ('GET', 'POST', 'PATCH', 'PUT', 'MERGE', 'DELETE')


class ODataService:
    "The HTTP side (a part of UT11Simulator)"

    @route(ODATA_ROOT, methods=ODATA_METHODS)
    @route(ODATA_ROOT + '/', methods=ODATA_METHODS)
    @route(ODATA_ROOT + '/<path:rest>', methods=ODATA_METHODS)
    def _handle(self, publication, rest=''):
        if publication != self.publication:
            # the web server, not 1C, answers for an unknown publication
            return Response('Not Found', 404, content_type='text/html')
        as_json = wants_json(request)
        try:
            self._authenticate()
            return self._route(rest, as_json)
        except ODataError as exc:
            return self._error(exc, as_json)
        except Exception:   # a simulator bug still answers like 1C does
            log.exception('ut11: unhandled error')
            return self._error(ODataError(500, -1, INTERNAL_ERROR), as_json)

    def _error(self, exc, as_json):
        body, ctype = error_body(exc.code, exc.message, as_json)
        response = Response(body, exc.status, content_type=ctype)
        if exc.status == 401:
            response.headers['WWW-Authenticate'] = 'Basic realm="1C:Enterprise"'
        return response

    def fault_response(self, kind, status, rule):
        as_json = wants_json(request)
        if kind == 'rate_limit':
            message = ('Превышено допустимое количество одновременных '
                'запросов. Повторите попытку позже.')
            body, ctype = error_body(-1, message, as_json)
            return Response(body, status or 429, content_type=ctype)
        body, ctype = error_body(-1, INTERNAL_ERROR, as_json)
        return Response(body, status or 500, content_type=ctype)

    def _authenticate(self):
        auth = request.headers.get('Authorization', '')
        scheme, _, value = auth.partition(' ')
        if scheme.lower() == 'basic':
            try:
                raw = base64.b64decode(value, validate=True)
                try:
                    text = raw.decode('utf-8')
                except UnicodeDecodeError:
                    text = raw.decode('latin-1')
                user, _, password = text.partition(':')
            except ValueError:
                user = password = None
            if (user, password) == (self.user, self.password):
                return
        raise ODataError(401, 20, 'Ошибка аутентификации: неверное имя '
            'пользователя или пароль')

    def _base(self):
        return request.host_url.rstrip('/') + (
            f'/{self.publication}/odata/standard.odata')

    def _route(self, rest, as_json):
        segments = _split_path(rest)
        method = request.method
        if not segments:
            self._only(method, 'GET')
            return self._xml(service_document(self._base() + '/',
                    sorted(self._published())))
        if segments == ['$metadata']:
            self._only(method, 'GET')
            return self._xml(self._metadata())
        name, args = split_segment(segments[0])
        entity = self._entity(name)
        tail = segments[1:]
        if entity.kind in ('catalog', 'document'):
            return self._object_request(entity, args, tail, as_json)
        if entity.kind == 'tabular':
            return self._tabular_request(entity, args, tail, as_json)
        return self._register_request(entity, args, tail, as_json)

    def _published(self):
        names = {**ENTITY_SETS, **TABULAR_SETS}
        return {n for n, e in names.items() if self.version in e.versions
            and n not in self.unpublished}

    def _entity(self, name):
        entity = ENTITY_SETS.get(name) or TABULAR_SETS.get(name)
        if entity is None or name not in self._published():
            raise ODataError(404, 6, f'Неверный URL: сущность "{name}" не '
                'найдена')
        return entity

    @staticmethod
    def _only(method, *allowed):
        if method not in allowed:
            raise ODataError(405, 19, f'Метод HTTP {method} запрещен для '
                'данного ресурса')

    def _xml(self, text, status=200):
        return Response(text, status, content_type='application/xml;'
            'charset=utf-8')

    def _metadata(self):
        types = {}
        for name in sorted(self._published()):
            entity = ENTITY_SETS.get(name) or TABULAR_SETS[name]
            types[name] = (entity.fields, entity.tabular, entity.keyed)
        return metadata_document(types)

    def _object_request(self, entity, args, tail, as_json):
        method = request.method
        if args is None:
            if tail == ['$count']:
                self._only(method, 'GET')
                with self.lock:
                    count = len(self.tables[entity.name])
                return Response(str(count), 200, content_type='text/plain')
            if tail:
                raise ODataError(400, 6, 'Неверный URL: лишние сегменты')
            self._only(method, 'GET', 'POST')
            if method == 'GET':
                return self._list(entity, self.tables[entity.name], as_json)
            return self._create(entity, as_json)
        key = parse_key(args)
        if tail:
            return self._action(entity, key, tail, as_json)
        self._only(method, 'GET', 'PATCH', 'MERGE', 'PUT', 'DELETE')
        if method == 'GET':
            with self.lock:
                row = self._get(entity, key)
                return self._entity_response(entity, row, as_json)
        if method == 'DELETE':
            self._delete(entity, key)
            return Response(status=204)
        return self._update(entity, key, replace=method == 'PUT',
            as_json=as_json)

    def _get(self, entity, key):
        row = self.tables[entity.name].get(key)
        if row is None:
            raise ODataError(404, 9, 'Экземпляр сущности не найден')
        return row

    def _list(self, entity, source, as_json):
        query = Query(request.args, entity.all_fields())
        with self.lock:
            rows, count = self._run(query, source)
            return self._collection_response(entity.name, rows, count,
                as_json, query)

    def _run(self, query, source):
        """query.run(source), continuing a paged read where its previous
        page stopped, as a database walks a sorted index: ordering and
        skipping everything again for each $skip page would make reading
        100,000 products quadratic.  Any write starts over."""
        key = (request.path, tuple(sorted(
                    (k, v) for k, v in request.args.items(multi=True)
                    if k not in ('$top', '$skip'))), self.generation)
        resume = None
        if self.paging and self.paging[:2] == (key, query.skip):
            resume = self.paging[2]
        page, count, rest = query.run(source, resume)
        self.paging = ((key, query.skip + len(page), rest)
            if query.top and len(page) == query.top else None)
        return page, count

    def _before(self):
        if request.method != 'GET':
            self.generation += 1
        return super()._before()

    def _collection_response(self, name, rows, count, as_json, query=None):
        if not as_json:
            return self._xml(atom_feed(self._base(), name, rows, count))
        level = metadata_level(request)
        body = {}
        if level != 'nometadata':
            select = f'&$select={",".join(query.select)}' if (
                query and query.select) else ''
            body['odata.metadata'] = f'{self._base()}/$metadata#{name}{select}'
        if count is not None:
            body['odata.count'] = str(count)
        body['value'] = [self._decorate(name, r, level) for r in rows]
        return Response(dumps(body), 200,
            content_type='application/json;charset=utf-8')

    def _entity_response(self, entity, row, as_json, status=200):
        if not as_json:
            return self._xml(atom_entry(self._base(), entity.name, row), status)
        level = metadata_level(request)
        body = {}
        if level != 'nometadata':
            body['odata.metadata'] = (f'{self._base()}/$metadata#'
                f'{entity.name}/@Element')
        body.update(self._decorate(entity.name, row, level))
        response = Response(dumps(body), status,
            content_type='application/json;charset=utf-8')
        if status == 201:
            response.headers['Location'] = (f"{self._base()}/{entity.name}"
                f"(guid'{row['Ref_Key']}')")
        return response

    @staticmethod
    def _decorate(name, row, level):
        "fullmetadata adds navigation links next to every reference"
        if level != 'fullmetadata' or 'Ref_Key' not in row:
            return row
        out = {}
        link = f"{name}(guid'{row['Ref_Key']}')"
        for field, value in row.items():
            out[field] = value
            if field.endswith('_Key') and field != 'Ref_Key':
                out[f'{field[:-4]}@navigationLinkUrl'] = f'{link}/{field[:-4]}'
        return out

    def _body(self):
        try:
            body = json.loads(request.get_data(as_text=True) or 'null',
                parse_float=Decimal)
        except ValueError:
            raise ODataError(400, 1, 'Ошибка разбора тела запроса: '
                'неверный формат JSON')
        if not isinstance(body, dict):
            raise ODataError(400, 2, 'Неверный формат запроса: ожидается '
                'объект JSON')
        return body

    def _create(self, entity, as_json):
        body = self._body()
        with self.lock:
            row = self._new_row(entity)
            key = body.get('Ref_Key')
            if key is not None:
                row['Ref_Key'] = self._convert(entity.name, 'Ref_Key', 'guid',
                    key)
                if self.tables[entity.name].get(row['Ref_Key']):
                    raise ODataError(409, 15, 'Объект с таким ключом уже '
                        'существует')
            self._assign(entity, row, body)
            self._write(entity, row)
            return self._entity_response(entity, row, as_json, 201)

    def _update(self, entity, key, replace, as_json):
        body = self._body()
        with self.lock:
            current = self._get(entity, key)
            self._check_version(current)
            if replace:
                row = self._new_row(entity)
                row['Ref_Key'] = key
            else:
                row = {k: (list(v) if isinstance(v, list) else v)
                    for k, v in current.items()}
            row['Posted'] = current.get('Posted', False)
            self._assign(entity, row, body)
            if (entity.kind == 'document' and row['DeletionMark']
                    and row['Posted']):
                # marking a posted document for deletion unposts it
                self._unpost(entity, row)
            self._write(entity, row)
            return self._entity_response(entity, row, as_json)

    def _write(self, entity, row):
        if entity.kind == 'document':
            if not row['Number']:
                self._assign_code(entity, row)
            if row['Date'] == EMPTY_DATE:
                row['Date'] = self.now()
        elif not row['Code'] and entity.code_length:
            self._assign_code(entity, row)
        row['DataVersion'] = self._data_version()
        self.tables[entity.name].put(row)

    def _check_version(self, row):
        expected = request.headers.get('If-Match')
        if expected and expected != '*':
            expected = expected.removeprefix('W/').strip('"')
            if expected != row['DataVersion']:
                raise ODataError(412, -1, 'Версия объекта не совпадает с '
                    'версией в информационной базе (объект изменен другим '
                    'пользователем)')

    def _delete(self, entity, key):
        with self.lock:
            row = self._get(entity, key)
            self._check_version(row)
            if entity.kind == 'document' and row['Posted']:
                self.ledger.apply(self.effects.pop(key, []), -1)
            self.tables[entity.name].delete(key)

    def _assign(self, entity, row, body):
        for name, value in body.items():
            if name in ('Ref_Key', 'DataVersion', 'Posted') or '@' in name \
                    or name.startswith('odata.') or name.endswith(
                        '____Presentation'):
                continue    # read-only or annotations
            if name in entity.tabular:
                row[name] = self._convert_lines(entity, name, row, value)
            elif name in entity.fields:
                row[name] = self._convert(entity.name, name,
                    entity.fields[name], value, entity.statuses)
            else:
                raise ODataError(400, 10, f'Не найдено свойство "{name}" '
                    f'у сущности "{entity.name}"')

    def _convert_lines(self, entity, section, row, lines):
        if not isinstance(lines, list):
            raise ODataError(400, 4, f'Неверное значение свойства "{section}"')
        fields = entity.tabular[section]
        result = []
        for n, line in enumerate(lines, 1):
            if not isinstance(line, dict):
                raise ODataError(400, 4, f'Неверное значение свойства '
                    f'"{section}"')
            full = {name: _DEFAULTS[t] for name, t in fields.items()}
            for name, value in line.items():
                if name in ('Ref_Key', 'LineNumber') or '@' in name:
                    continue
                if name not in fields:
                    raise ODataError(400, 10, f'Не найдено свойство "{name}" '
                        f'у строки табличной части "{section}"')
                full[name] = self._convert(section, name, fields[name], value)
            full['Ref_Key'], full['LineNumber'] = row['Ref_Key'], str(n)
            result.append(full)
        return result

    @staticmethod
    def _convert(owner, name, kind, value, statuses=()):
        "Client JSON value -> stored value, or 1C's invalid-value error"
        try:
            if kind == 'guid':
                if not isinstance(value, str) or not GUID_RE.match(value):
                    raise ValueError
                return value.lower()
            if kind == 'num':
                return to_decimal(value)
            if kind == 'bool':
                if not isinstance(value, bool):
                    raise ValueError
                return value
            if kind == 'date':
                return normalize_date(value)
            if not isinstance(value, str):
                raise ValueError
            allowed = statuses if name == 'Статус' else ENUMS.get(name)
            if kind == 'enum' and allowed and value and value not in allowed:
                raise ValueError
            return value
        except ValueError:
            raise ODataError(400, 4, f'Неверное значение свойства "{name}": '
                f'{value!r}')

    def _tabular_request(self, entity, args, tail, as_json):
        if request.method == 'POST':
            raise ODataError(400, 13, 'Создание строк табличной части '
                'напрямую не поддерживается')
        self._only(request.method, 'GET')
        if args is not None or tail:
            raise ODataError(400, 0, 'Обращение к строке табличной части по '
                'ключу не поддерживается симулятором')
        table = self.tables[entity.owner.name]
        rows = (line for doc in table for line in doc[entity.section])
        return self._list(entity, rows, as_json)

    def _register_request(self, entity, args, tail, as_json):
        self._only(request.method, 'GET')
        if args is not None:
            raise ODataError(400, 6, 'Неверный URL: лишние сегменты')
        if not tail:
            if entity.kind == 'balance':
                raise ODataError(400, 0, 'Чтение записей регистра накопления '
                    'не поддерживается симулятором: используйте Balance(...)')
            rows = self._price_rows(entity) if entity.kind == 'periodic' \
                else self._barcode_rows()
            return self._list(entity, rows, as_json)
        function, fargs = split_segment(tail[0])
        if len(tail) != 1 or fargs is None:
            raise ODataError(400, 6, 'Неверный URL: лишние сегменты')
        params = parse_function_args(fargs)
        expected = {'balance': ('Balance', 'Turnovers'),
            'periodic': ('SliceLast',)}.get(entity.kind, ())
        if function not in expected:
            raise ODataError(400, 6, f'Неверный URL: лишние сегменты '
                f'("{function}")')
        fields = (turnover_fields(entity.fields) if function == 'Turnovers'
            else entity.fields)
        condition = params.get('Condition')
        predicate, ast = compile_filter(condition, fields) if \
            condition else (None, None)
        with self.lock:
            if function == 'Turnovers':
                rows = self._turnover_rows(entity, params.get('StartPeriod'),
                    params.get('EndPeriod'))
            elif entity.kind == 'balance':
                rows = self._balance_rows(entity, ast)
            else:
                rows = self._slice_last(entity, params.get('Period'),
                    equalities(ast))
            if predicate:
                rows = (r for r in rows if predicate(r))
            if params.get('Dimensions'):
                rows = _group(rows, params['Dimensions'], fields)
            query = Query(request.args, fields)
            page, count = self._run(query, rows)
            return self._collection_response(entity.name, page, count,
                as_json, query)


def _split_path(path):
    "Split on '/' outside quotes and parentheses (Condition may contain '/')"
    segments, current, depth, quoted = [], '', 0, False
    for char in path:
        if char == "'":
            quoted = not quoted
        elif not quoted and char == '(':
            depth += 1
        elif not quoted and char == ')':
            depth -= 1
        if char == '/' and depth == 0 and not quoted:
            segments.append(current)
            current = ''
        else:
            current += char
    if current:
        segments.append(current)
    return [s for s in segments if s]
