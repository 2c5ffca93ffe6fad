"""The broker's message-driven loops: outbox relay, reply consumer, deadline sweeper."""
