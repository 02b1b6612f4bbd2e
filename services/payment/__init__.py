"""Payment service: charges the customer for an order and refunds the charge.

Lambdas: `charge_payment` (action, at most one charge per order) and `refund_payment` (its
compensation). The payment provider sits behind a port (`gateway`); the simulated provider is the
only adapter so far.
"""
