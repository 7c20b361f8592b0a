"""Payments, refunds and fiscal receipts of orders, whatever the payment
provider: the business rules; providers (payment_yookassa) plug in.  See
README.md."""
