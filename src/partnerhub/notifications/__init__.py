"""Notifications: email and the in-app list, driven by outbox events (see ``rules``)."""
