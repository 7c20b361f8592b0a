"""Identifiers as 1C makes them and the rows of catalogs and documents
(optionally over a large data set computed on demand)."""
import itertools
import uuid

from .odata import merge_by_key


def new_ref():
    "A fresh reference in 1C's time-based GUID shape"
    return str(uuid.uuid1()).lower()


def stable_ref(*parts):
    "The same GUID for the same demo object on every reset"
    h = uuid.uuid5(uuid.NAMESPACE_URL, 'ut11:' + ':'.join(parts)).hex
    return f'{h[:8]}-{h[8:12]}-11ee-{h[16:20]}-{h[20:32]}'


def ean13(body12):
    digits = [int(c) for c in body12]
    check = (10 - sum(d * (3 if i % 2 else 1)
            for i, d in enumerate(digits)) % 10) % 10
    return body12 + str(check)


class Generated:
    """A large catalogue built on demand: row i is computed, not stored.

    Keys encode the row index so lookups by key need no index; they sort in
    index order, which makes paging ordered by Ref_Key lazy.
    """

    def __init__(self, count, builder, tag):
        self.count = count
        self.builder = builder
        self.tag = tag

    def key(self, i):
        return f'{i:08x}-0000-11ee-8000-{self.tag}'

    def index(self, key):
        if key[8:] != f'-0000-11ee-8000-{self.tag}':
            return None
        i = int(key[:8], 16)
        return i if i < self.count else None

    def build(self, i):
        return self.builder(i, self.key(i))


class Table:
    "The rows of one catalog or document, optionally over a Generated set"

    def __init__(self, generated=None):
        self.rows = {}
        self.generated = generated
        self.overrides = {}
        self.deleted = set()

    def get(self, key):
        if key in self.rows:
            return self.rows[key]
        if key in self.overrides:
            return self.overrides[key]
        i = self.generated.index(key) if self.generated else None
        if i is None or key in self.deleted:
            return None
        return self.generated.build(i)

    def put(self, row):
        key = row['Ref_Key']
        if self.generated and self.generated.index(key) is not None:
            self.overrides[key] = row
            self.deleted.discard(key)
        else:
            self.rows[key] = row

    def delete(self, key):
        self.rows.pop(key, None)
        self.overrides.pop(key, None)
        if self.generated and self.generated.index(key) is not None:
            self.deleted.add(key)

    def _generated_rows(self):
        if not self.generated:
            return
        for i in range(self.generated.count):
            key = self.generated.key(i)
            if key in self.deleted:
                continue
            yield self.overrides.get(key) or self.generated.build(i)

    def __iter__(self):
        return itertools.chain(self._generated_rows(), list(self.rows.values()))

    def iter_by_key(self):
        explicit = sorted(self.rows.values(), key=lambda r: r['Ref_Key'])
        return merge_by_key(self._generated_rows(), explicit)

    def __len__(self):
        generated = (self.generated.count - len(self.deleted)
            if self.generated else 0)
        return generated + len(self.rows)
