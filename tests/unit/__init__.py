"""Pure unit tests (no network, no database). A package so module names never clash."""
