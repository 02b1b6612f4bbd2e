"""Ports and names of the local cloud; every port can be moved with an environment variable."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
REGION = "us-east-1"


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default))
    if not raw.isdigit() or not 0 <= int(raw) < 65536:
        raise SystemExit(f"{name}={raw!r} is not a port number")
    return int(raw)


@dataclass(frozen=True)
class LocalCloudConfig:
    host: str = "127.0.0.1"
    api_port: int = field(default_factory=lambda: _port("CHECKOUT_API_PORT", 3000))
    aws_port: int = field(default_factory=lambda: _port("CHECKOUT_AWS_PORT", 4566))
    xray_port: int = field(default_factory=lambda: _port("CHECKOUT_XRAY_PORT", 2000))
    console_port: int = field(default_factory=lambda: _port("CHECKOUT_CONSOLE_PORT", 8080))
    max_workers_per_function: int = field(
        default_factory=lambda: int(os.environ.get("CHECKOUT_MAX_WORKERS", "8"))
    )
    # The templates' schedules (the reconciler's sweep) run this often locally, in seconds.
    schedule_seconds: float = field(
        default_factory=lambda: float(os.environ.get("CHECKOUT_SCHEDULE_SECONDS", "10"))
    )
    project: str = "checkout"
    stage: str = field(default_factory=lambda: os.environ.get("CHECKOUT_STAGE", "local"))
    state_dir: Path = field(
        default_factory=lambda: Path(os.environ.get("CHECKOUT_STATE_DIR", ROOT / ".local-cloud"))
    )

    # How long a checkout waits for the customer's payment approval: long enough to click.
    approval_seconds: int = field(
        default_factory=lambda: int(os.environ.get("CHECKOUT_APPROVAL_SECONDS", "120"))
    )

    def parameter_overrides(self) -> dict[str, dict[str, str]]:
        """Template parameters the local cloud sets (per unit), as `sam deploy` would."""
        return {
            "payment": {
                "PaymentApprovalSeconds": str(self.approval_seconds),
                "SimulatedProviderUrl": self.api_url,  # one gateway serves every stack's API
                "PaymentWebhookUrl": f"{self.api_url}/payments/webhook",
            }
        }

    @property
    def aws_endpoint(self) -> str:
        return f"http://{self.host}:{self.aws_port}"

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    @property
    def console_url(self) -> str:
        return f"http://{self.host}:{self.console_port}/"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"


def fake_credentials() -> dict[str, str]:
    """Everything local runs with fake credentials in one region: nothing can reach AWS."""
    return {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": "local",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
    }
