"""What `--fail-on` looks for: findings that should make a cron job exit 1.

Pure: a view and its settlement in, messages out.
"""

from __future__ import annotations

from collections.abc import Collection

from arledger.ledger import LedgerView
from arledger.settle import Settlement


def findings(
    view: LedgerView, settlement: Settlement, kinds: Collection[str]
) -> list[str]:
    """One message per kind of finding present (empty: nothing needs attention).

    Args:
        kinds: any of "overdue" (an open item past its due date), "hold" (a
            customer on credit hold) and "broken-promise" (a promise to pay whose
            date passed unpaid).
    """
    messages = []
    if "overdue" in kinds:
        late = [i for i in settlement.items if i.open > 0 and i.due < view.as_of]
        if late:
            customers = len({i.customer for i in late})
            messages.append(
                f"{len(late)} overdue item{'s' if len(late) != 1 else ''} "
                f"({customers} customer{'s' if customers != 1 else ''})"
            )
    if "hold" in kinds:
        from arledger.reports import aging

        result = aging.compute(view, settlement)
        held = sorted(
            {r.customer for s in result.sections for r in s.customers if r.hold}
        )
        if held:
            messages.append(f"{len(held)} on credit hold: {', '.join(held)}")
    if "broken-promise" in kinds:
        from arledger.promises import promises

        broken = sorted(
            {p.customer for p in promises(view, settlement) if p.status == "broken"}
        )
        if broken:
            messages.append(f"broken promise to pay: {', '.join(broken)}")
    return messages
