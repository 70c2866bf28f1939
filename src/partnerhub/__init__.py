"""partnerhub: a partner platform for software vendors (partner programs and the partner cabinet)."""
