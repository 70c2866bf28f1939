"""Models of payouts (issue 6)."""
