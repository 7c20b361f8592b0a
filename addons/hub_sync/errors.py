"""How an exchange with an external system failed (plain Python).

Bridges' clients raise these; ``hub_sync`` decides what happens next:
a ``TransientError`` is retried with back-off, a ``PermanentError`` stops the
message and tells the user, anything else (``ConfigurationError`` included)
is retried too but needs an administrator.  No Tryton imports: clients use
this module.
"""


class SyncError(Exception):
    "An exchange failed; message is the remote reason, detail is technical"

    def __init__(self, message, status=None, detail=None, body=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.detail = detail
        self.body = body


class TransientError(SyncError):
    "Timeout, connection error, 429, 5xx: the same request may work later"

    def __init__(self, message, retry_after=None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class PermanentError(SyncError):
    "The remote system refused the request (4xx, business error)"


class ConfigurationError(SyncError):
    "Our side is wrong: missing credentials, bad URL, unknown operation"
