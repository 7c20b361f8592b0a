"""Chestny Znak marking: a code per unit of a marked product, codes from
scanners and photos, validated against the registry, carried into fiscal
receipts; withdrawal and return documents; relabeling.  See README.md."""
