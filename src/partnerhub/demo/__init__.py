"""Demo data of every program (``partnerhub demo_load``): the one app allowed to import them all."""
