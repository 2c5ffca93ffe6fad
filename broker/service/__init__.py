"""Use cases: each one a function over ports, run inside one unit of work."""
