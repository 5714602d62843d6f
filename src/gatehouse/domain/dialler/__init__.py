"""Pure dialler domain: campaign configuration (C2), eligibility and retry rules, agent states.

No I/O here: the runtime in ``gatehouse.services.dialler`` feeds these functions the clock's
time and the rows it loaded, and stores what they return.
"""
