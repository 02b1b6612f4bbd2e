"""Deployment: one SAM template per deployable unit, the bundler their builds call, stage config."""
