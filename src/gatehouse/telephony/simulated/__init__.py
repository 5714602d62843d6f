"""The simulated phone network: a discrete-event engine in virtual time."""
