"""Russian Post (Почта России): shipments through the Otpravka API and
tracking by polling the tracking service within its daily quota.

This first part holds the connections and the wire clients (``client.py``
for Otpravka, ``tracking.py`` for the SOAP tracking services, ``planner.py``
for what to poll within the quota); the shipments integration comes with
``order_shipments``.  See README.md."""
