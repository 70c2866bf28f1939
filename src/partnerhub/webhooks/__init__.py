"""Outgoing webhooks: each organisation's endpoints get its outbox events as signed JSON."""
