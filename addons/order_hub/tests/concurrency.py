"""Several processes acting on the same records at once (PostgreSQL): the
launcher the concurrency tests share.

Each process runs ``action(item)`` for every item, all processes starting
each item together (a barrier), in its own transaction that is committed,
and retries as Tryton's RPC layer does when a transaction loses a lock race
(``DatabaseOperationalError``).  A ``UserError`` is an answer, not a
failure: the item is reported 'refused'.
"""
import multiprocessing
import random
import time

from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

ATTEMPTS = 50


def attempt(company, action, item, setup=None):
    """(outcome, attempts): 'done', 'refused' (a UserError) or None when
    every attempt lost its lock race"""
    from trytond.backend import DatabaseOperationalError
    from trytond.exceptions import UserError
    for number in range(ATTEMPTS):
        try:
            with Transaction().start(DB_NAME, 1, context={
                        'company': company, 'language': 'ru'},
                    ) as transaction:
                action(item)
                transaction.commit()
            return 'done', number
        except DatabaseOperationalError:
            time.sleep(random.uniform(0, 0.02))
        except UserError:
            return 'refused', number
    return None, None


def _worker(company, action, setup, barrier, items, results):
    Pool(DB_NAME).init()
    if setup:
        setup()
    for item in items:
        barrier.wait()
        outcome, number = attempt(company, action, item)
        results.put((item, outcome, number))


def run_in_processes(company, action, items, processes=4, setup=None,
        timeout=300, per_process=None):
    """Run action(item) in processes processes at once for each item; the
    results as [(item, outcome, attempts)], processes × items of them.
    per_process, instead of items, gives each process its own items (a list
    per process, all of the same length): step n of every process starts
    together.  action and setup (run once in each process after the pool
    is loaded) must be module-level functions: the processes are spawned."""
    context = multiprocessing.get_context('spawn')
    if per_process is None:
        per_process = [list(items)] * processes
    processes = len(per_process)
    barrier = context.Barrier(processes)
    results = context.Queue()
    workers = [context.Process(target=_worker, args=(
                company, action, setup, barrier, list(own), results),
            daemon=True) for own in per_process]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=timeout)
        for _ in range(sum(len(own) for own in per_process))]
    for worker in workers:
        worker.join(timeout=60)
    return outcomes
