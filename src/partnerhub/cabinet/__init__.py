"""The cabinet pages (thin: they call services and selectors)."""
