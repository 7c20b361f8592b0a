"""Helpers for tests that need the whole hub in one database."""
from pathlib import Path

ADDONS = Path(__file__).resolve().parents[2]


def all_hub_modules():
    """Every module of the hub as the leaves of its dependency graph (the
    leaves bring their dependencies; test modules included, so the glue of
    extras_depend comes with them).  One list for every test that needs the
    whole hub: the same list is the same cached database."""
    names = {p.parent.name for p in ADDONS.glob('*/tryton.cfg')}
    depended = set()
    for name in names:
        cfg = (ADDONS / name / 'tryton.cfg').read_text()
        section = cfg.split('depends:', 1)[1] if 'depends:' in cfg else ''
        for line in section.splitlines()[1:]:
            if not line.startswith((' ', '\t')):
                break
            depended.add(line.strip())
    return sorted(names - depended)
