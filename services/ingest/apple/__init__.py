"""Apple Health "Export All Health Data" (export.zip / export.xml) -> records for Tracking."""

from services.ingest.apple.parser import (
    AppleHealthParser,
    ExportError,
    find_export_xml,
    parse_export,
    read_gpx,
)

__all__ = ["AppleHealthParser", "ExportError", "find_export_xml", "parse_export", "read_gpx"]
