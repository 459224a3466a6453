"""Bulk imports of records (activities, sleep sessions): what became of each, and the steps every
kind shares (check each, store the good ones in one go)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from services.common import checks
from services.common.errors import Violations

F = TypeVar("F")  # the fields a client gives
R = TypeVar("R")  # the record to store


@dataclass(frozen=True)
class ImportOutcome:
    """What became of one record of a bulk import."""

    outcome: str  # ACCEPTED, DUPLICATE, UPDATED or REJECTED
    message: str = ""  # why it was rejected


ACCEPTED, DUPLICATE, UPDATED = ImportOutcome("ACCEPTED"), ImportOutcome("DUPLICATE"), ImportOutcome("UPDATED")


async def import_each(items: list[tuple[F, str]], check: Callable[[F, Violations], F],
                      record: Callable[[F], Awaitable[R]],
                      store: Callable[[list[tuple[R, str]]], Awaitable[list[ImportOutcome]]]) -> list[ImportOutcome]:
    """Checks each (fields, request id): one that fails is REJECTED, and a request id is required
    here; the others become records, stored together, each ACCEPTED (new), DUPLICATE (its request
    id was used before for the same content), UPDATED (merged into the record of that request id)
    or REJECTED (the merge does not hold together)."""
    outcomes: list[ImportOutcome | None] = []
    good: list[tuple[R, str]] = []
    for fields, request_id in items:
        v = Violations()
        fields = check(fields, v)
        if not request_id:
            v.add("request_id", "is required")
        checks.request_id(request_id, v)
        if v.items:
            outcomes.append(ImportOutcome("REJECTED", v.summary))
            continue
        good.append((await record(fields), request_id))
        outcomes.append(None)
    stored = iter(await store(good) if good else [])
    return [outcome or next(stored) for outcome in outcomes]


def merge_in_order(current: dict[str, R], again: list[tuple[int, R, str]],
                   merge: Callable[[R, R], R | ImportOutcome], outcomes: list[ImportOutcome | None],
                   ) -> list[tuple[R, R]]:
    """Merges each (index, record, request id) of a batch, in input order, into the record stored
    under its request id (`current`, as read and locked; a later one merges into an earlier one's
    result), setting its outcome: UPDATED, or what merge answered (DUPLICATE, REJECTED). One whose
    stored record is gone (deleted since) keeps no outcome. Returns (as stored, as merged) of each
    record that changed."""
    first = dict(current)
    for i, incoming, request_id in again:
        if request_id not in current:
            continue
        result = merge(current[request_id], incoming)
        if isinstance(result, ImportOutcome):
            outcomes[i] = result
        else:
            current[request_id], outcomes[i] = result, UPDATED
    return [(first[r], x) for r, x in current.items() if x is not first[r]]
