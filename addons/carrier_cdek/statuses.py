"""CDEK's reference of order statuses and additional-status reasons.

Plain data for the client and the webhook parser (no Tryton): the Russian
names CDEK gives (API v2, "Appendix 1"; /work/shared/docs/external/cdek.md
§7, §7.2).  The mapping onto shipment states is not here: it is data of
``order_shipments.carrier.status`` (admin-editable), loaded by the
integration step from ``STATUSES``.
"""

# code -> (Russian name, legacy numeric status_code or None)
STATUSES = {
    'ACCEPTED': ('Принят', None),
    'CREATED': ('Создан', '1'),
    'REMOVED': ('Удален', '2'),
    'RECEIVED_AT_SHIPMENT_WAREHOUSE': ('Принят на склад отправителя', '3'),
    'READY_FOR_SHIPMENT_IN_SENDER_CITY': (
        'Выдан на отправку в г. отправителе', '6'),
    'RETURNED_TO_SENDER_CITY_WAREHOUSE': (
        'Возвращен на склад отправителя', '16'),
    'TAKEN_BY_TRANSPORTER_FROM_SENDER_CITY': (
        'Сдан перевозчику в г. отправителе', '7'),
    'SENT_TO_TRANSIT_CITY': ('Отправлен в г. транзит', '21'),
    'ACCEPTED_IN_TRANSIT_CITY': ('Встречен в г. транзите', '22'),
    'ACCEPTED_AT_TRANSIT_WAREHOUSE': ('Принят на склад транзита', '13'),
    'RETURNED_TO_TRANSIT_WAREHOUSE': ('Возвращен на склад транзита', '17'),
    'READY_FOR_SHIPMENT_IN_TRANSIT_CITY': (
        'Выдан на отправку в г. транзите', '19'),
    'TAKEN_BY_TRANSPORTER_FROM_TRANSIT_CITY': (
        'Сдан перевозчику в г. транзите', '20'),
    'SENT_TO_SENDER_CITY': ('Отправлен в г. отправитель', '27'),
    'SENT_TO_RECIPIENT_CITY': ('Отправлен в г. получатель', '8'),
    'ACCEPTED_IN_SENDER_CITY': ('Встречен в г. отправителе', '28'),
    'ACCEPTED_IN_RECIPIENT_CITY': ('Встречен в г. получателе', '9'),
    'ACCEPTED_AT_RECIPIENT_CITY_WAREHOUSE': ('Принят на склад доставки',
        '10'),
    'ACCEPTED_AT_PICK_UP_POINT': ('Принят на склад до востребования', '12'),
    'TAKEN_BY_COURIER': ('Выдан на доставку', '11'),
    'RETURNED_TO_RECIPIENT_CITY_WAREHOUSE': ('Возвращен на склад доставки',
        '18'),
    'DELIVERED': ('Вручен', '4'),
    'NOT_DELIVERED': ('Не вручен', '5'),
    'INVALID': ('Некорректный заказ', None),
    'IN_CUSTOMS_INTERNATIONAL': (
        'Таможенное оформление в стране отправления', None),
    'SHIPPED_TO_DESTINATION': ('Отправлено в страну назначения', None),
    'PASSED_TO_TRANSIT_CARRIER': ('Передано транзитному перевозчику', None),
    'IN_CUSTOMS_LOCAL': ('Таможенное оформление в стране назначения', None),
    'CUSTOMS_COMPLETE': ('Таможенное оформление завершено', None),
    'POSTOMAT_POSTED': ('Заложен в постамат', None),
    'POSTOMAT_SEIZED': ('Изъят из постамата курьером', None),
    'POSTOMAT_RECEIVED': ('Изъят из постамата клиентом', None),
    'ENTERED_TO_TRANSIT_WAREHOUSE': ('Поступил в г. транзита', None),
    'ENTERED_TO_RECIPIENT_CITY_WAREHOUSE': ('Поступил на склад доставки',
        None),
    'ENTERED_TO_PICK_UP_POINT': ('Поступил на склад до востребования', None),
    }

# legacy numeric status_code -> code, for payloads that carry only the
# number (2019–2021).  "1000" (statuses newer than the numeric scheme,
# unconfirmed) maps to nothing: such a payload without ``code`` is unknown.
LEGACY_CODES = {legacy: code for code, (_, legacy) in STATUSES.items()
    if legacy}

# additional status (reason_code / status_reason_code) -> Russian text
REASONS = {
    '1': 'Возврат, неверный адрес',
    '2': 'Возврат, не дозвонились',
    '3': 'Возврат, адресат не проживает',
    '4': 'Возврат, вес отличается от заявленного',
    '5': 'Возврат, фактически нет отправления',
    '6': 'Возврат, дубль номера заказа',
    '7': 'Возврат, не доставляем в этот регион',
    '8': 'Возврат, повреждение упаковки при приёмке',
    '9': 'Возврат, повреждение упаковки у перевозчика',
    '10': 'Возврат, повреждение упаковки на складе',
    '11': 'Возврат, отказ от получения: без объяснения',
    '12': 'Возврат, отказ от получения: претензия к качеству товара',
    '13': 'Возврат, отказ от получения: недовложение',
    '14': 'Возврат, отказ от получения: пересорт',
    '15': 'Возврат, отказ от получения: не устроили сроки',
    '16': 'Возврат, отказ от получения: уже купил',
    '17': 'Возврат, отказ от получения: передумал',
    '18': 'Возврат, отказ от получения: ошибка оформления',
    '19': 'Возврат, отказ от получения: повреждение упаковки у получателя',
    '20': 'Частичная доставка',
    '21': 'Возврат, отказ от получения: нет денег',
    '22': 'Возврат, отказ от получения: товар не подошёл',
    '23': 'Возврат, истёк срок хранения',
    '24': 'Возврат, не прошёл таможню',
    '25': 'Возврат, является коммерческим грузом',
    '26': 'Утерян',
    '27': 'Не востребован, утилизация',
    '31': 'Возврат по запросу отправителя',
    '32': 'Возврат по запросу плательщика',
    '33': 'Возврат, СНТ не получено',
    }

# a parcel ends its life in these (no polling after them)
FINAL = {'DELIVERED', 'NOT_DELIVERED', 'REMOVED', 'INVALID',
    'POSTOMAT_RECEIVED'}
# DELETE /v2/orders/{uuid} is accepted while the order is in these (§6:
# "only while there is no cargo movement", i.e. CREATED; ACCEPTED is the
# moment before it)
DELETABLE = {'ACCEPTED', 'CREATED'}


def status_name(code):
    "CDEK's Russian name of a status code, or None when unknown"
    return STATUSES.get(code, (None, None))[0]
