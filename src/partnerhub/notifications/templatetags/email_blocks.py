"""Blocks of the notification e-mails that take a list (issue 16, item 5): the table of facts.

The other shared blocks (recipient line, heading, button, notes) are plain partials under
``templates/notifications/email/partials/``, included with ``{% include ... with ... %}``.
"""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("notifications/email/partials/facts.html")
def email_facts(*labels_and_values: Any) -> dict[str, Any]:
    """The table of facts of an e-mail: ``{% email_facts _("Сумма") amount _("Клиент") client %}``
    renders one row a label and its value, in the order given."""
    if len(labels_and_values) % 2:
        raise template.TemplateSyntaxError("email_facts takes pairs of a label and a value")
    pairs = iter(labels_and_values)
    return {"facts": list(zip(pairs, pairs, strict=True))}


@register.filter
def numbered(value: Any) -> str:
    """``42`` as "№ 42", the way the e-mails show the number of a payout or a lead."""
    return f"№ {value}"
