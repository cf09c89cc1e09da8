"""Messages to people outside the app (SMS, Zalo ZNS) through a transactional outbox.

outbox.enqueue writes the message in the caller's transaction; sender.send_due delivers what is
due through the configured provider (providers.py), retrying with back-off, recording each
attempt; templates.py holds the texts, rendered in the recipient's language at send time.
"""
from .outbox import enqueue

__all__ = ["enqueue"]
