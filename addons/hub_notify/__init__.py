"""Messages to customers by e-mail (SMTP) and SMS (a provider-neutral HTTP
client), sent through the outbox: retried, journalled, never lost.  Knows no
business model: a module composes the text and calls ``Message.send``."""
