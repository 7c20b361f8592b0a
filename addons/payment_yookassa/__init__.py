"""YooKassa (ЮKassa) for order_payment: payments made on the website and by
payment links, capture, refunds, 54-FZ receipts, notifications.  See
README.md."""
from . import routes  # noqa: F401  (registers the notification route)
