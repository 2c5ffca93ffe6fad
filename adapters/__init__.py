"""Partner side: the adapter SDK and the reference adapters (police, health, education)."""
