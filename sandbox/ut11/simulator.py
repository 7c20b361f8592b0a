"""The UT11 simulator: the OData service over catalogue, stock, documents
and control actions, each in its own module."""
import base64
import collections
import itertools
import random
from zoneinfo import ZoneInfo

from ..core import Simulator
from .catalogue import Catalogue, demo_dataset
from .control import Control
from .demo import DemoActivity
from .documents import Documents
from .metadata import ENTITY_SETS, _DEFAULTS
from .odata import EMPTY_REF
from .page import ControlPage
from .service import ODataService
from .stock import Ledger, Stock
from .storage import Table, new_ref


class UT11Simulator(ODataService, Catalogue, Stock, Documents, Control,
        DemoActivity, ControlPage, Simulator):
    """One UT11 base: its tables, ledger and prices; the parts of the
    simulator are mixed in from the modules named after them"""
    name = 'ut11'
    default_port = 8107

    def init_state(self):
        self.user, self.password = 'odata', 'odata'
        self.publication = 'ut'
        self.version = '11.5'
        self.ib_prefix = '00'
        self.timezone = 'Europe/Moscow'
        self.unpublished = set()
        self.refusals = collections.defaultdict(list)
        self._version_counter = itertools.count(1)
        self.random = random.Random()
        self.activity = collections.deque(maxlen=50)   # (time, what)
        self._reset_data()
        self._load_dataset(demo_dataset())

    def _reset_data(self):
        self.generation = getattr(self, 'generation', 0) + 1
        self.paging = None
        self.tables = {name: Table() for name, s in ENTITY_SETS.items()
            if s.keyed}
        self.ledger = Ledger(self.now)
        self.effects = {}
        self.counters = collections.Counter()
        self.prices = []
        self.generated_prices = None
        self.barcodes = []
        self.generated_barcodes = None
        self.refs = {}
        self.order_types = {}   # order key -> entity set, for Заказ_Type
        self._seed_reference_data()

    def now(self):
        "The base's local time, to the second, as 1C writes dates"
        return self.clock.now(ZoneInfo(self.timezone)).strftime(
            '%Y-%m-%dT%H:%M:%S')

    def _data_version(self):
        n = next(self._version_counter)
        return base64.b64encode(n.to_bytes(4, 'big') + bytes(4)).decode()

    def _new_row(self, entity):
        row = {name: _DEFAULTS[t] for name, t in entity.fields.items()}
        row.update({section: [] for section in entity.tabular})
        row['Ref_Key'] = new_ref()
        return row

    def _assign_code(self, entity, row):
        "Codes/numbers like 1C's autonumbering: prefix + zero padding"
        self.counters[entity.name] += 1
        n = self.counters[entity.name]
        if entity.kind == 'document':
            org = self.tables['Catalog_Организации'].get(
                row.get('Организация_Key', EMPTY_REF))
            prefix = (org['Префикс'] if org else '') + self.ib_prefix + '-'
            row['Number'] = prefix + str(n).zfill(11 - len(prefix))
        elif entity.code_length == 11:
            prefix = self.ib_prefix + '-'
            row['Code'] = prefix + str(n).zfill(11 - len(prefix))
        else:
            row['Code'] = str(n).zfill(entity.code_length or 9)

    def _add(self, entity_name, **values):
        "Create a catalog item or document from Python values (seeding)"
        entity = ENTITY_SETS[entity_name]
        row = self._new_row(entity)
        tabular = {k: values.pop(k) for k in list(values) if k in entity.tabular}
        row.update(values)
        for section, lines in tabular.items():
            row[section] = [self._complete_line(entity, section, row, i, line)
                for i, line in enumerate(lines, 1)]
        if entity.kind == 'catalog' and not row['Code']:
            self._assign_code(entity, row)
        row['DataVersion'] = self._data_version()
        self.tables[entity_name].put(row)
        return row

    def _complete_line(self, entity, section, owner, n, line):
        fields = entity.tabular[section]
        full = {name: _DEFAULTS[t] for name, t in fields.items()}
        full.update(line)
        full['Ref_Key'], full['LineNumber'] = owner['Ref_Key'], str(n)
        return full
