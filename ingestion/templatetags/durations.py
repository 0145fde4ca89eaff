"""Template filters for durations: 45 s, 3 min, 1 h 5 min."""

from django import template

register = template.Library()


@register.filter
def duration(seconds: float | None) -> str:
    """45 s, 3 min, 1 h 5 min."""
    if seconds is None:
        return ""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"
