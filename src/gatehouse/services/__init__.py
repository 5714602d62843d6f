"""Use cases: one transaction per command; audit entries in the same transaction."""
