"""URL_TABLE entries of issue 6 areas, merged by tests/test_url_authorisation.py."""
