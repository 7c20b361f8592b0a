"""Local simulators of the external systems the order hub talks to.

Independent of Tryton: the hub reaches them only over HTTP.  Start them all
with ``python -m sandbox`` or, from tests, with :func:`start`.
"""
import importlib

# system code -> (module:class, default port)
SYSTEMS = {
    'cdek': ('sandbox.cdek:CdekSimulator', 8101),
    'russian_post': ('sandbox.russian_post:RussianPostSimulator', 8102),
    'yookassa': ('sandbox.yookassa:YooKassaSimulator', 8103),
    'chestny_znak': ('sandbox.chestny_znak:ChestnyZnakSimulator', 8104),
    'bitrix24': ('sandbox.bitrix24:Bitrix24Simulator', 8105),
    'bitrix_site': ('sandbox.bitrix_site:BitrixSiteSimulator', 8106),
    'ut11': ('sandbox.ut11:UT11Simulator', 8107),
    }


def simulator_class(system):
    path, _ = SYSTEMS[system]
    module, name = path.split(':')
    return getattr(importlib.import_module(module), name)


class Sandbox:
    "A set of running simulators, by system code"

    def __init__(self, simulators):
        self.simulators = simulators

    def __getitem__(self, system):
        return self.simulators[system]

    @property
    def urls(self):
        return {code: sim.base_url for code, sim in self.simulators.items()}

    def reset(self):
        for sim in self.simulators.values():
            sim.reset()

    def stop(self):
        for sim in self.simulators.values():
            sim.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start(systems=None, host='127.0.0.1', ports=None, clock=None):
    """Start simulators in this process, on free ports unless ports given,
    on the real clock unless given one (a :class:`sandbox.clock.FakeClock`).

    Returns a :class:`Sandbox`; use it as a context manager to stop them.
    """
    ports = ports or {}
    started = {}
    try:
        for system in systems or SYSTEMS:
            sim = simulator_class(system)(clock=clock)
            sim.start(host, ports.get(system, 0))
            started[system] = sim
    except BaseException:
        Sandbox(started).stop()
        raise
    return Sandbox(started)
