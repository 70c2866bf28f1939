"""Admin of the core primitives, one module a topic."""
