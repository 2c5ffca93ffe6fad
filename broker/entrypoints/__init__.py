"""Thin entrypoints: HTTP API and CLI. They parse input, call a use case, shape output."""
