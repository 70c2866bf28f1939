"""partnerhub: a partner platform for software vendors (programs and the partner cabinet)."""
