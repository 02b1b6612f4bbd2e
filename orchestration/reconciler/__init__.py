"""The reconciler: brings every checkout whose saga execution died to a consistent end.

Triggered by the state machine's "Execution Status Change" events (EventBridge) and by a schedule
that sweeps the executions that closed unfinished, so a missed event does not matter. The
decision is `orchestration.recovery`; this package carries it out.
"""
