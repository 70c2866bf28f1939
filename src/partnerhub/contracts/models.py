"""Models of contracts (issue 6)."""
