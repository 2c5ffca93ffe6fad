"""Information Sharing Agreements: the model, loader and policy rules.

Used by both sides: the broker decides whom to ask and for what; a partner's
adapter checks that a request it receives falls under an agreement in force.
"""
