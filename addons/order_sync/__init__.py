"""What the integrations add to the order, whatever the system: the order's
action log hears of an exchange that failed for good, and the hub's
administrators manage the exchange.  Glue between ``order_hub`` (which knows
no integration) and ``hub_sync`` (which knows no business model); every
bridge depends on it."""
