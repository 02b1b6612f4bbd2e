"""Order service: an order goes PENDING, then CONFIRMED (the pivot) or CANCELLED with a reason.

Lambdas: `create_order` (action), `cancel_order` (its compensation) and `confirm_order` (the pivot,
which has no compensation: after it, the saga only moves forward).
"""
