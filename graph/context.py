"""Run settings (`context_schema`): model, CDP file, protocol, approvals, budgets and the customer rules.

Every field has an environment override (`CDP_AGENTS_<FIELD>`) and a description Studio shows as a
form. The contact-policy limits live here so a run can tighten them, and only the gate reads them.
"""

from __future__ import annotations

import os
from dataclasses import MISSING, dataclass, field, fields
from typing import Literal

from cdp.db import default_db_path
from cdp.policy import ContactPolicy

Protocol = Literal["hub", "p2p", "blackboard"]
ApprovalMode = Literal["ask", "auto", "deny"]

DEFAULT_PRIORITY = "compliance,service,budget,growth,content,analytics,optimization,audience,activation"


def _default_model() -> str:
    if os.environ.get("MODEL"):
        return os.environ["MODEL"]
    return "openai/gpt-4o-mini" if os.environ.get("OPENAI_API_KEY") else "scripted"


@dataclass(kw_only=True)
class Context:
    """Settings of one orchestrated run."""

    model: str = field(
        default_factory=_default_model,
        metadata={"description": "Chat model: 'scripted' (offline) or an OpenAI-compatible model name."},
    )
    db_path: str = field(
        default_factory=default_db_path,
        metadata={"description": "Path of the CDP SQLite file (CDP_AGENTS_DB)."},
    )
    protocol: Protocol = field(
        default="hub",
        metadata={
            "description": "How agents talk: hub (via supervisor), p2p (direct, supervised) or blackboard."
        },
    )
    approval: ApprovalMode = field(
        default="ask",
        metadata={"description": "High-impact actions: ask a person (interrupt), auto-approve, or deny."},
    )
    approval_threshold: int = field(
        default=500,
        metadata={"description": "Scheduling more sends than this needs approval (when approval is 'ask')."},
    )
    max_agent_steps: int = field(
        default=6, metadata={"description": "Model calls one specialist may spend on one task."}
    )
    max_task_attempts: int = field(
        default=3, metadata={"description": "Attempts per model call on transient errors (RetryPolicy)."}
    )
    max_concurrency: int = field(default=8, metadata={"description": "Tasks run at the same time."})
    priority_rules: str = field(
        default=DEFAULT_PRIORITY,
        metadata={"description": "Conflict priority, highest first (comma-separated agent names)."},
    )
    frequency_cap: int = field(
        default=3, metadata={"description": "Marketing messages per customer per window."}
    )
    frequency_window_days: int = field(
        default=7, metadata={"description": "Rolling window of the cap, days."}
    )
    complaint_window_days: int = field(
        default=30, metadata={"description": "No promotion this many days after a complaint."}
    )
    holdout_pct: float = field(default=10.0, metadata={"description": "Control group share per campaign, %."})
    quiet_hours_start: int = field(
        default=21, metadata={"description": "SMS/push quiet hours start (local)."}
    )
    quiet_hours_end: int = field(default=8, metadata={"description": "SMS/push quiet hours end (local)."})
    cost_email: float = field(default=0.01, metadata={"description": "Cost per email send."})
    cost_sms: float = field(default=0.05, metadata={"description": "Cost per SMS send."})
    cost_push: float = field(default=0.005, metadata={"description": "Cost per push send."})
    simulate_days: int = field(
        default=0,
        metadata={
            "description": "After launch, simulate this many days of customer responses, measured against "
            "the holdout and optimised daily (0: stop at launch). Writes simulated events into the CDP."
        },
    )
    simulation_seed: int = field(default=7, metadata={"description": "Seed of the engagement simulator."})
    followup_every_days: int = field(
        default=3,
        metadata={"description": "A reminder wave to contacted non-buyers every N simulated days (0: none)."},
    )
    stop_unsubscribe_rate: float = field(
        default=0.02,
        metadata={"description": "Stop the campaign when this share of contacted customers unsubscribed."},
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            raw = os.environ.get(f"CDP_AGENTS_{f.name.upper()}")
            # model and db_path read their environment in default_factory; an explicit argument wins.
            if raw is None or f.default is MISSING or getattr(self, f.name) != f.default:
                continue
            setattr(self, f.name, type(f.default)(raw))
        if self.protocol not in ("hub", "p2p", "blackboard"):
            raise ValueError(f"unknown protocol {self.protocol!r}: use hub, p2p or blackboard")
        if self.approval not in ("ask", "auto", "deny"):
            raise ValueError(f"unknown approval mode {self.approval!r}: use ask, auto or deny")
        if not 0 <= self.simulate_days <= 90:
            raise ValueError(f"simulate_days must be between 0 and 90, got {self.simulate_days}")
        if self.followup_every_days < 0:
            raise ValueError("followup_every_days must be 0 (no reminders) or a number of days")
        if not 0 < self.stop_unsubscribe_rate <= 1:
            raise ValueError("stop_unsubscribe_rate must be a share between 0 and 1, such as 0.02")

    def policy(self) -> ContactPolicy:
        """The contact-policy settings the gate enforces for this run."""
        return ContactPolicy(
            frequency_cap=self.frequency_cap,
            frequency_window_days=self.frequency_window_days,
            complaint_window_days=self.complaint_window_days,
            holdout_pct=self.holdout_pct,
            quiet_hours_start=self.quiet_hours_start,
            quiet_hours_end=self.quiet_hours_end,
            channel_costs={"email": self.cost_email, "sms": self.cost_sms, "push": self.cost_push},
        )

    def priorities(self) -> list[str]:
        return [p.strip() for p in self.priority_rules.split(",") if p.strip()]
