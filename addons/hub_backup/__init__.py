"""Backups of the hub: the database and the file store, encrypted, in a
local folder and S3-compatible storage; restore into a new database and
verification against the set's manifest.  See README.md."""
