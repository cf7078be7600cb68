"""What an action asks the gateway to do, independent of any provider."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Action = Literal["explain", "document", "refactor", "hover"]


@dataclass(frozen=True, slots=True)
class Task:
    #: the built-in action this task is routed and checked like
    action: Action
    #: the system and user prompt, already rendered from the action's template
    system: str
    prompt: str
    language: str = "text"
    #: name of the target unit (function/class) or "" for a plain range
    unit: str = ""
    #: estimated tokens of the prompt (context included) and of the whole file
    context_tokens: int = 0
    file_tokens: int = 0
    #: expected answer size, used for routing and cost estimates
    max_output_tokens: int = 512
    #: private content may only go to local providers
    private: bool = False
    #: a stable hash of what the answer depends on (normalized code, context, template version)
    cache_key: str = ""
    #: `provider.alias` or `provider/model-id` pinned by the user, if any
    model_pin: str | None = None
    #: the file the task came from (for the ledger; never the code itself)
    source_path: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    #: how many leading characters of `prompt` repeat across requests on the same code (the
    #: context, after the shared system prompt): providers may cache that prefix
    prompt_prefix: int = 0
    #: the action's own name when it is not `action` itself: "fix", "tests", a custom action
    #: ("simplify"); ledger rows, cache keys and `[routing.rules]` use it
    name: str = ""

    @property
    def action_name(self) -> str:
        return self.name or self.action
