"""Money as a person reads it, for every command and page that prints one."""

from __future__ import annotations

from typing import Any

# Currencies whose minor unit is the unit itself: 500 JPY is 500, not 5.00.
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "CLP", "ISK", "VND", "HUF"})


def money_text(total: Any) -> str:
    """`{amount, currency}` (minor units) as `25.00 EUR`; empty when not priced."""
    if not isinstance(total, dict) or "amount" not in total:
        return ""
    currency = str(total.get("currency", ""))
    if currency in ZERO_DECIMAL_CURRENCIES:
        return f"{total['amount']} {currency}".strip()
    return f"{int(total['amount']) / 100:.2f} {currency}".strip()
