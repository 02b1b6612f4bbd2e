"""The checkout saga's orchestration: the state machine definition and what reads or draws it."""
