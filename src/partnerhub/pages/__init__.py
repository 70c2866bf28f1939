"""Page helpers shared by the partner's cabinet and the vendor's back office.

The two page apps do not import each other (the import-linter ``layers`` contract): what both
need (request filters, file responses, labels of domain words) lives here, one layer below them.
"""
