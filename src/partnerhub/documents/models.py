"""Models of documents (issue 6)."""
