"""Code every service uses: settings, errors, observability, saga contracts.

Never imports a service.
"""
