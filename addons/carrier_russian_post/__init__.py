"""Russian Post (Почта России): shipments through the Otpravka API and
tracking by polling the tracking service within its daily quota.

Wire clients: ``client.py`` (Otpravka), ``tracking.py`` (the SOAP tracking
services), ``planner.py`` (what to poll within the quota).  Plugged into
order_shipments: ``request.py`` (the request form), ``shipment.py``
(creation through the outbox, forms, cancel), ``track.py`` (the polling
cron).  See README.md."""
