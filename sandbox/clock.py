"""Time for the simulators: the real clock, or a fake one that tests move.

Everything a simulator does with time goes through its clock: the time of
day (``now``, ``time``), durations (``monotonic``), waiting (``sleep``) and
timers (``call_later``, ``repeat``): token expiry, rate-limit windows, slow
answers, webhook delays, asynchronous processing and the demo activity.
Tests give a :class:`FakeClock` and ``advance`` it, so nothing they check
depends on how busy the machine is.
"""
import heapq
import itertools
import logging
import threading
import time
from datetime import datetime, timedelta, timezone

log = logging.getLogger('sandbox.clock')
MSK = timezone(timedelta(hours=3))


class Clock:
    "Real time; timers are daemon threads"
    fake = False

    def time(self):
        "Seconds since the epoch"
        return time.time()

    def monotonic(self):
        "Seconds for durations and deadlines"
        return time.monotonic()

    def now(self, tz=timezone.utc):
        "The time of day in tz, aware"
        return datetime.fromtimestamp(self.time(), tz)

    def sleep(self, seconds):
        time.sleep(seconds)

    def call_later(self, delay, func, *args):
        "Run func(*args) after delay seconds; the handle has cancel()"
        timer = threading.Timer(max(delay, 0), func, args)
        timer.daemon = True
        timer.start()
        return timer

    def repeat(self, interval, func):
        "Run func every interval seconds until the handle is cancelled"
        return Repeat(self, interval, func)


class Repeat:
    "A call repeated on a clock; an exception is logged, not fatal"

    def __init__(self, clock, interval, func):
        self.clock, self.interval, self.func = clock, interval, func
        self._lock = threading.Lock()
        self._cancelled = False
        self._timer = clock.call_later(interval, self._run)

    def _run(self):
        if self._cancelled:
            return
        try:
            self.func()
        except Exception:
            log.exception('repeated call %r failed', self.func)
        with self._lock:
            if not self._cancelled:
                self._timer = self.clock.call_later(self.interval, self._run)

    def cancel(self):
        with self._lock:
            self._cancelled = True
            self._timer.cancel()


class _FakeTimer:
    def __init__(self, due, func, args):
        self.due, self.func, self.args = due, func, args
        self.cancelled = False

    def cancel(self):
        self.cancelled = True


class FakeClock(Clock):
    """A clock that stands still until :meth:`advance` moves it.

    Timers due in the advanced span run in the advancing thread, in order,
    each at its own time; ``sleep`` blocks its thread until the clock has
    been advanced past its end (use :meth:`wait_for_timers` to know that a
    request thread is sleeping before advancing).
    """
    fake = True

    def __init__(self, start=None):
        start = start or datetime(2026, 3, 2, 10, 0, tzinfo=MSK)
        self._time = start.timestamp()
        self._origin = self._time
        self._timers = []
        self._seq = itertools.count()
        self._cond = threading.Condition()

    def time(self):
        with self._cond:
            return self._time

    def monotonic(self):
        with self._cond:
            return self._time - self._origin

    def sleep(self, seconds):
        woken = threading.Event()
        self.call_later(seconds, woken.set)
        woken.wait()

    def call_later(self, delay, func, *args):
        with self._cond:
            timer = _FakeTimer(self._time + max(delay, 0), func, args)
            heapq.heappush(self._timers, (timer.due, next(self._seq), timer))
            self._cond.notify_all()
            return timer

    def advance(self, seconds):
        "Move the clock on, running the timers that fall due on the way"
        with self._cond:
            end = self._time + seconds
        while True:
            timer = self._next_due(end)
            if timer is None:
                break
            timer.func(*timer.args)
        with self._cond:
            self._time = max(self._time, end)

    def _next_due(self, end):
        with self._cond:
            while self._timers and self._timers[0][0] <= end:
                due, _, timer = heapq.heappop(self._timers)
                if not timer.cancelled:
                    self._time = max(self._time, due)
                    return timer
            return None

    def pending(self):
        "How many timers wait for the clock"
        with self._cond:
            return sum(not t.cancelled for _, _, t in self._timers)

    def wait_for_timers(self, count=1, timeout=5):
        """Block (in real time) until count timers are pending: a request
        thread has reached its sleep.  False when timeout passed first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.pending() < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True
