"""mash-receiver: how a receiving service takes in, verifies and acknowledges its views.

A reference consumer for services downstream of the MASH (Early Help, children's social
care, Supporting Families): it reads the service's own RabbitMQ queue, verifies each view
against the broker's published JWKS, checks it is addressed to this service, stores it once
(SQLite, keyed by view id: re-sent views are recognised) and answers with a receipt signed
by the service's own Ed25519 key. It logs ids only, never the content.
"""
