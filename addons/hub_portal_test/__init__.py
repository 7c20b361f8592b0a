"""Tests only: a small model with a page, a record page and an action in
the shop portal, as a business module (shipments…) adds its own."""
