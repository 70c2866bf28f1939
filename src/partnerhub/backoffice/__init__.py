"""The backoffice pages (thin: they call services and selectors)."""
