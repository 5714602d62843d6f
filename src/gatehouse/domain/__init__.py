"""The pure domain: rules, state machines and calculations. No I/O, no adapters."""
