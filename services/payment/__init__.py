"""Payment service: holds an order's total on the card, then takes it or releases it.

Lambdas: `authorize_payment` (action, at most one hold per order), `void_payment` (its
compensation: the hold released, nothing moved) and `capture_payment` (after the pivot: the hold
taken, once). The payment provider sits behind a port (`gateway`); the simulated provider is the
only adapter so far.
"""
