"""Health Auto Export (iOS app, REST API automation) JSON payloads -> records.py records.

Pure domain code: bytes in, records out; no grpc, SQL or I/O. See parser.HaeParser.
"""

from .parser import HaeParser, parse_bytes

__all__ = ["HaeParser", "parse_bytes"]
