"""The pure domain: no I/O, no framework imports (enforced by tests/unit/test_architecture.py)."""
