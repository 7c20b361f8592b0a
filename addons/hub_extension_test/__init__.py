"""A module for the tests only (never activated by the demo or in
production): it extends the integrations the way every later module does —
a new kind of outbound message, an inbound event handler, one part of the
1C order mapper overridden — without touching the modules it extends."""
