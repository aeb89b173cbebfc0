"""SLA deadlines assigned at ingest (see DOMAIN.md, "Deadlines").

The first answer is due 1 h after an emergency appeal, 3 h after a high-importance one and
8 h after any other. Fast-track fix deadlines and 59-FZ official appeals come with issue 3.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum


class Priority(StrEnum):
    NORMAL = "normal"
    HIGH = "high"
    EMERGENCY = "emergency"


FIRST_ANSWER_DEADLINE: dict[Priority, timedelta] = {
    Priority.EMERGENCY: timedelta(hours=1),
    Priority.HIGH: timedelta(hours=3),
    Priority.NORMAL: timedelta(hours=8),
}


def priority_for(sla_class: str, *, emergency: bool = False, high: bool = False) -> Priority:
    """The taxonomy's class sets the floor; a feed's own signal may only raise it."""
    if emergency or sla_class == "emergency":
        return Priority.EMERGENCY
    if high or sla_class == "high":
        return Priority.HIGH
    return Priority.NORMAL


def first_answer_deadline(created_at: datetime, priority: Priority) -> datetime:
    if created_at.tzinfo is None:
        raise ValueError("created_at must carry a time zone")
    return created_at + FIRST_ANSWER_DEADLINE[priority]
