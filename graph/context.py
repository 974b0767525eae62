"""Run settings (`context_schema`): model, CDP file, protocol, approvals, budgets and the customer rules.

Every field has an environment override (`CDP_AGENTS_<FIELD>`) and a description Studio shows as a
form. The contact-policy limits live here so a run can tighten them, and only the gate reads them;
their defaults and bounds come from `cdp.policy`, the one place that defines them.

Every numeric field has bounds (`metadata["bound"]`), checked once when the Context is built, so a
bad value from the environment, Studio or a CLI flag stops the run before anything is written,
with one line naming the variable (or field), the value and the allowed range.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal

from pydantic.json_schema import SkipJsonSchema

from cdp.db import default_db_path
from cdp.policy import COST_BOUND, DEFAULT_CHANNEL_COSTS, POLICY_BOUNDS, ContactPolicy, check_combinations
from cdp.settings import InvalidSettingError, env_name, number, whole

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

ENV_PREFIX = "CDP_AGENTS_"
_POLICY = ContactPolicy()
_CHOICES = {"protocol": ("hub", "p2p", "blackboard"), "approval": ("ask", "auto", "deny")}

Protocol = Literal["hub", "p2p", "blackboard"]
ApprovalMode = Literal["ask", "auto", "deny"]

DEFAULT_PRIORITY = "compliance,service,budget,growth,content,analytics,optimization,audience,activation"


FACTORY_ENV = "CDP_AGENTS_MODEL_FACTORY"


def _import_factory(path: str, model: str) -> Callable[[str], Any]:
    """The model factory a 'module:function' path names, tried once with the run's model name, or
    one line saying why it cannot be used (a bad factory stops every command at its start)."""
    import importlib

    module, _, name = path.partition(":")
    if not (module and name):
        raise InvalidSettingError(FACTORY_ENV, path, "must name a function as 'module:function'")
    try:
        factory = getattr(importlib.import_module(module), name)
    except Exception as exc:  # any import-time failure of someone else's module is a bad setting
        raise InvalidSettingError(
            FACTORY_ENV, path, f"cannot be imported ({type(exc).__name__}: {exc})"
        ) from None
    if not callable(factory):
        raise InvalidSettingError(FACTORY_ENV, path, "must name a function as 'module:function'")
    from langchain_core.language_models import BaseChatModel

    try:
        made = factory(model)
    except Exception as exc:
        raise InvalidSettingError(
            FACTORY_ENV, path, f"failed when called with the model name ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(made, BaseChatModel):
        raise InvalidSettingError(FACTORY_ENV, path, f"must return a chat model, not {type(made).__name__}")
    return factory  # type: ignore[no-any-return]


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
    # Typed loosely (a chat model is what it must return) so the form schema needs no model classes.
    model_factory: SkipJsonSchema[Callable[[str], Any] | None] = field(
        default=None,
        repr=False,
        compare=False,
        metadata={
            "setting": False,
            "description": "Builds the chat model from its name (default: llm.loader.load_chat_model). "
            "Embedders and tests inject their own here, or name one as 'module:function' in "
            "CDP_AGENTS_MODEL_FACTORY.",
        },
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
        metadata={
            "bound": whole(0, 10_000_000),
            "description": "Scheduling more sends than this needs approval (when approval is 'ask').",
        },
    )
    audience_warn_share: float = field(
        default=0.5,
        metadata={
            "bound": number(0.01, 1),
            "description": "An audience larger than this share of all customers is a warning: the launch "
            "waits for a person, even with approval 'auto'.",
        },
    )
    max_agent_steps: int = field(
        default=6,
        metadata={"bound": whole(1, 50), "description": "Model calls one specialist may spend on one task."},
    )
    max_task_attempts: int = field(
        default=3,
        metadata={
            "bound": whole(1, 10),
            "description": "Agents that may attempt one task: the planned agent, then its registered "
            "fallbacks in turn, before a person decides (1: no fallback).",
        },
    )
    max_concurrency: int = field(
        default=8, metadata={"bound": whole(1, 64), "description": "Tasks run at the same time."}
    )
    priority_rules: str = field(
        default=DEFAULT_PRIORITY,
        metadata={"description": "Conflict priority, highest first (comma-separated agent names)."},
    )
    frequency_cap: int = field(
        default=_POLICY.frequency_cap,
        metadata={
            "bound": POLICY_BOUNDS["frequency_cap"],
            "description": "Marketing messages per customer per window.",
        },
    )
    frequency_window_days: int = field(
        default=_POLICY.frequency_window_days,
        metadata={
            "bound": POLICY_BOUNDS["frequency_window_days"],
            "description": "Rolling window of the cap, days.",
        },
    )
    complaint_window_days: int = field(
        default=_POLICY.complaint_window_days,
        metadata={
            "bound": POLICY_BOUNDS["complaint_window_days"],
            "description": "No promotion this many days after a complaint.",
        },
    )
    holdout_pct: float = field(
        default=_POLICY.holdout_pct,
        metadata={
            "bound": POLICY_BOUNDS["holdout_pct"],
            "description": "Control group share per campaign, %.",
        },
    )
    quiet_hours_start: int = field(
        default=_POLICY.quiet_hours_start,
        metadata={
            "bound": POLICY_BOUNDS["quiet_hours_start"],
            "description": "SMS/push quiet hours start (local).",
        },
    )
    quiet_hours_end: int = field(
        default=_POLICY.quiet_hours_end,
        metadata={
            "bound": POLICY_BOUNDS["quiet_hours_end"],
            "description": "SMS/push quiet hours end (local).",
        },
    )
    cost_email: float = field(
        default=DEFAULT_CHANNEL_COSTS["email"],
        metadata={"bound": COST_BOUND, "description": "Cost per email send."},
    )
    cost_sms: float = field(
        default=DEFAULT_CHANNEL_COSTS["sms"],
        metadata={"bound": COST_BOUND, "description": "Cost per SMS send."},
    )
    cost_push: float = field(
        default=DEFAULT_CHANNEL_COSTS["push"],
        metadata={"bound": COST_BOUND, "description": "Cost per push send."},
    )
    simulate_days: int = field(
        default=0,
        metadata={
            "bound": whole(0, 90),
            "description": "After launch, simulate this many days of customer responses, measured against "
            "the holdout and optimised daily (0: stop at launch). Writes simulated events into the CDP.",
        },
    )
    simulation_seed: int = field(
        default=7, metadata={"bound": whole(0, 2**31 - 1), "description": "Seed of the engagement simulator."}
    )
    followup_every_days: int = field(
        default=3,
        metadata={
            "bound": whole(0, 90),
            "description": "A reminder wave to contacted non-buyers every N simulated days (0: none).",
        },
    )
    stop_unsubscribe_rate: float = field(
        default=0.02,
        metadata={
            "bound": number(0.001, 1),
            "description": "Stop the campaign when this share of contacted customers unsubscribed.",
        },
    )

    def __post_init__(self) -> None:
        source: dict[str, str] = {}
        for f in fields(self):
            if f.metadata.get("setting") is False:
                continue
            name = env_name(ENV_PREFIX, f.name)
            raw = os.environ.get(name)
            # model and db_path read their environment in default_factory; an explicit argument wins.
            from_env = raw is not None and f.default is not MISSING and getattr(self, f.name) == f.default
            value = raw if from_env else getattr(self, f.name)
            source[f.name] = name if from_env else f.name
            if "bound" in f.metadata:
                setattr(self, f.name, f.metadata["bound"].check(source[f.name], value))
            elif f.name in _CHOICES:
                if value not in _CHOICES[f.name]:
                    allowed = ", ".join(_CHOICES[f.name])
                    raise InvalidSettingError(
                        source[f.name], value, f"unknown {f.name}, use one of {allowed}"
                    )
            elif from_env:
                setattr(self, f.name, raw)
        if self.model_factory is None and os.environ.get(FACTORY_ENV, "").strip():
            self.model_factory = _import_factory(os.environ[FACTORY_ENV].strip(), self.model)
        check_combinations(self, source)
        # The gate's own checks, here too, so a bad combination stops the run at its start.
        self.policy()

    def settings(self) -> dict[str, object]:
        """The run's settings by field name, as a run records them (injected factories left out)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.metadata.get("setting") is not False}

    def chat_model(self) -> BaseChatModel:
        """The run's chat model, built by the injected factory or the one loader."""
        if self.model_factory is not None:
            return self.model_factory(self.model)
        from llm.loader import load_chat_model

        return load_chat_model(self.model)

    def policy(self) -> ContactPolicy:
        """The contact-policy settings the gate enforces for this run."""
        return ContactPolicy(
            frequency_cap=self.frequency_cap,
            frequency_window_days=self.frequency_window_days,
            complaint_window_days=self.complaint_window_days,
            holdout_pct=self.holdout_pct,
            quiet_hours_start=self.quiet_hours_start,
            quiet_hours_end=self.quiet_hours_end,
            channel_costs={channel: getattr(self, f"cost_{channel}") for channel in DEFAULT_CHANNEL_COSTS},
        )

    def priorities(self) -> list[str]:
        return [p.strip() for p in self.priority_rules.split(",") if p.strip()]
