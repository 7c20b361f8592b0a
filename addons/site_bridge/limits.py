"""How much of what the site sends the hub keeps (plain Python, one place).

A site answer or a captured file larger than MAX_FILE_BYTES is refused as a
whole; one order larger than MAX_ORDER_BYTES once its texts are cut is
quarantined; a text longer than its limit is cut, the order keeps the rest
and the cut is told in the inbox event's result (and so in the journal).
"""

MAX_FILE_BYTES = 64 * 1024 * 1024  # an answer, a file, a zip member
MAX_ORDER_BYTES = 1024 * 1024      # one order as the inbox stores it (JSON)
MAX_COMMENT_CHARS = 10_000         # the customer's comment
MAX_TEXT_CHARS = 1_000             # any other text of an order
MAX_DOCUMENT_CHARS = 200_000       # an unreadable order's XML, kept
