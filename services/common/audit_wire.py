"""How an audit record's id travels in WriteAuditEvents: as field 10 of AuditRecord.

The id is what lets Auth store a batch sent again only once. The contract does not declare the
field yet, so until it does (`string id = 10;`, the record's uuid7 as text) the id is written and
read as an unknown field, which protobuf keeps on the wire. Once it is declared, both functions
use the declared field and this module can be folded into its two callers.
"""

from __future__ import annotations

import uuid

from google.protobuf import unknown_fields
from google.protobuf.message import Message

ID_FIELD = 10
_TAG = bytes([ID_FIELD << 3 | 2])  # field 10, length-delimited
_UUID_TEXT_LENGTH = 36


def set_id(message: Message, record_id: uuid.UUID) -> None:
    if "id" in message.DESCRIPTOR.fields_by_name:
        message.id = str(record_id)
    else:
        message.MergeFromString(_TAG + bytes([_UUID_TEXT_LENGTH]) + str(record_id).encode())


def id_of(message: Message) -> uuid.UUID | None:
    """The record's id, or None when the sender gave none (or one that is not a UUID)."""
    if "id" in message.DESCRIPTOR.fields_by_name:
        raw = message.id
    else:
        raw = ""
        for f in unknown_fields.UnknownFieldSet(message):
            if f.field_number == ID_FIELD and isinstance(f.data, bytes):
                raw = f.data.decode("utf-8", "replace")
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None
