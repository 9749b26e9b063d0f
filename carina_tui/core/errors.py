"""Our own error types. Every one carries a sentence a person can act on.

Gateways turn library errors (docker-py, requests, py-consul) into these;
screens show ``str(error)`` and nothing else, so no traceback reaches the user.
"""

from __future__ import annotations


def clip(text: str, limit: int = 60) -> str:
    """``text`` for a sentence: what the user typed, cut short (saying how long it was) when it is
    long, so 5,000 digits do not become a 5,000-character sentence."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


class CarinaError(Exception):
    """Base: ``str(err)`` is a complete sentence saying what failed and what to do."""

    title = "Error"

    def __init__(self, sentence: str) -> None:
        super().__init__(sentence)
        self.sentence = sentence

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.sentence


class EngineUnreachable(CarinaError):
    title = "Engine unreachable"


class TLSProblem(EngineUnreachable):
    title = "TLS problem"


class SSHProblem(EngineUnreachable):
    """An engine behind ssh:// cannot be reached: the sentence names the SSH cause (key, host key, sshd)."""

    title = "SSH problem"


class NotFound(CarinaError):
    title = "Not found"


class Conflict(CarinaError):
    title = "Conflict"


class EngineRefused(CarinaError):
    """The engine answered but refused the request (4xx/5xx with its own message)."""

    title = "The engine refused"


class ValidationError(CarinaError):
    """Input rejected before any engine call. ``field`` names the form field."""

    title = "Check the form"

    def __init__(self, sentence: str, field: str | None = None) -> None:
        super().__init__(sentence)
        self.field = field


class Refused(CarinaError):
    """The protection guard refused a mutation. ``rule`` names what matched."""

    title = "Refused by the guard"

    def __init__(self, sentence: str, rule: str | None = None) -> None:
        super().__init__(sentence)
        self.rule = rule


class AddressesShort(CarinaError):
    """A service create or scale would not fit in a swarm network's subnet (said before the engine is asked)."""

    title = "Not enough addresses"


class AuditUnwritable(CarinaError):
    """The audit log cannot be written: the guard then does nothing (or, after acting, says so).
    ``why`` is the system's reason."""

    title = "Audit log"
    why = ""


class Unanswered(EngineUnreachable):
    """A request reached the engine but no answer came back: whether it took effect is unknown."""

    title = "No answer"


class GuardBypass(CarinaError):
    """A mutating gateway call arrived without a permit from the guard: a programming error."""

    title = "Internal error"


class ConfigError(CarinaError):
    title = "Configuration problem"


class ConsulProblem(CarinaError):
    title = "Consul problem"
