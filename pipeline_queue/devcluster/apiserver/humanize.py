"""Ages as kubectl shows them (`45s`, `3m12s`, `5h`, `2d3h`): apimachinery's HumanDuration, over API timestamps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

UNKNOWN = "<unknown>"
_MINUTE, _HOUR, _DAY, _YEAR = 60, 3600, 86400, 365 * 86400


def parse_time(text: str) -> datetime | None:
    """An RFC 3339 timestamp as the API writes it (`2024-05-01T10:00:00Z`, maybe with fractions); None if not one."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None


def _pair(value: int, unit: str, rest: int, rest_unit: str) -> str:
    return f"{value}{unit}{rest}{rest_unit}" if rest else f"{value}{unit}"


def human_duration(seconds: float) -> str:
    """The short form of a duration; a little in the future (clock skew) still reads `0s`."""
    whole = int(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 2 * _MINUTE:
        return f"{whole}s"
    minutes, hours = whole // _MINUTE, whole // _HOUR
    if minutes < 10:
        return _pair(minutes, "m", whole % _MINUTE, "s")
    if minutes < 3 * 60:
        return f"{minutes}m"
    if hours < 8:
        return _pair(hours, "h", minutes % 60, "m")
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        return _pair(days, "d", hours % 24, "h")
    if whole < 2 * _YEAR:
        return f"{days}d"
    if whole < 8 * _YEAR:
        return _pair(days // 365, "y", days % 365, "d")
    return f"{days // 365}y"


def since(timestamp: str, now: datetime) -> str:
    """How long ago `timestamp` was, or `<unknown>` without one."""
    moment = parse_time(timestamp) if timestamp else None
    if moment is None:
        return UNKNOWN
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return human_duration((now - moment).total_seconds())


def age(obj: dict[str, Any], now: datetime) -> str:
    """The AGE column: time since the object's creationTimestamp."""
    return since((obj.get("metadata") or {}).get("creationTimestamp") or "", now)
