"The retry policy of outbound messages and inbound events (plain Python)"
import random

BASE = 10           # seconds before the first retry
CAP = 60 * 60       # never wait longer than an hour between attempts
JITTER = 0.2        # spread retries of messages that failed together


def backoff(attempts, retry_after=None, rand=random.random):
    "Seconds to wait after the attempts-th failed attempt"
    delay = BASE * 2 ** max(attempts - 1, 0) * (1 + JITTER * rand())
    # The remote's Retry-After wins, even beyond our cap
    return max(min(delay, CAP), retry_after or 0)
