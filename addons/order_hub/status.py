"""The status vocabularies of mission.md, shared by every module.

Translations of these labels live in locale/ru.po for each field that
uses them.
"""

ORDER_STATES = [
    ('awaiting_payment', "Confirmed, Awaiting Payment"),
    ('paid', "Paid"),
    ('assembling', "Assembling"),
    ('delivering', "Delivering"),
    ('issued', "Issued"),
    ('cancelled', "Cancelled"),
    ]

SHIPMENT_STATES = [
    ('assembling', "Assembling"),
    ('sent', "Sent"),
    ('delivered', "Delivered"),
    ('issued', "Issued"),
    ]

ITEM_STATES = [
    ('requested', "Goods Requested"),
    ('assembling', "Assembling"),
    ('to_central', "Sent to Central Warehouse"),
    ('to_pickup', "Sent to Pickup Point / Handed to Courier"),
    ('relabeling', "Relabeling"),
    ('issued', "Issued"),
    ('returned', "Returned"),
    ]

RETURN_STATES = [
    ('to_return', "To Return"),
    ('returned', "Returned"),
    ]

# lines may be added, changed and removed only in these states
LINES_EDITABLE = {'awaiting_payment', 'paid', 'assembling'}
# the order header is frozen in these states
CLOSED = {'issued', 'cancelled'}
