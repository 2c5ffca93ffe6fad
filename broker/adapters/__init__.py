"""Adapters at the edges: database, messaging, signing, agreements on disk."""
