"""`healthmesh samples` and `healthmesh aggregate`: the stored samples, and their buckets.

    healthmesh samples --type heart_rate --start 2026-03-01 --end 2026-03-07 --source "Apple Watch"
    healthmesh samples --limit 0 --json               (every sample, newest first, as one JSON array)
    healthmesh aggregate --type step_count --interval day --start 2026-03-01 --end 2026-03-31

Times. --start and --end take a date (2026-03-01) or an RFC 3339 timestamp (2026-03-01T08:00:00Z,
2026-03-01T08:00:00+01:00). A date is read in this computer's time zone (TZ), as local midnight:
--start 2026-03-01 is the start of that day, --end 2026-03-07 the end of that day (the next local
midnight), so both days are included. A timestamp without an offset is local time too; one with
`Z` or an offset is that instant. --start is inclusive, --end exclusive, as in the API.

Samples are listed newest first (--oldest-first for the other order), paged through 1000 at a
time, at most --limit of them (default 100; 0 for all). Each shows its start in its own local time,
at the UTC offset it was recorded with.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from client import api
from client.output import checked, emit, emit_array, local_time, non_negative, number, table

DEFAULT_LIMIT = 100
INTERVALS = ("hour", "day", "week", "month")


def when(text: str, end: bool = False, tz: dt.tzinfo | None = None) -> str:
    """--start/--end as the API's RFC 3339 UTC timestamp. A date is local midnight of that day
    (of the next day for an end, so the day is included); a naive timestamp is local time. `tz`
    is the local zone (None: this computer's)."""
    try:
        day = dt.date.fromisoformat(text) if len(text) == 10 else None
        if day is not None:
            moment = dt.datetime.combine(day + dt.timedelta(days=1) if end else day, dt.time())
        else:
            moment = dt.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a date (2026-03-01) nor an RFC 3339 timestamp (2026-03-01T08:00:00Z)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz) if tz is not None else moment.astimezone()
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _end(text: str) -> str:
    return when(text, end=True)


def sample_time(sample: dict) -> str:
    """A sample's start in its own local time, with the offset it was recorded at."""
    try:
        start = dt.datetime.fromisoformat(sample["startTime"].replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return sample.get("startTime", "-")
    offset = dt.timezone(dt.timedelta(minutes=int(sample.get("utcOffsetMinutes", 0))))
    return start.astimezone(offset).strftime("%Y-%m-%d %H:%M:%S %z")


def sample_value(sample: dict) -> str:
    value = number(sample.get("value", 0))
    if "value2" in sample:
        return f"{value}/{number(sample['value2'])}"  # blood pressure: systolic/diastolic
    if "min" in sample and "max" in sample:
        return f"{value} ({number(sample['min'])}-{number(sample['max'])})"
    return value


def samples(args) -> None:
    params = {k: v for k, v in (("type", args.type), ("startTime", args.start), ("endTime", args.end),
                                ("source", args.source)) if v}
    if args.oldest_first:
        params["orderBy"] = "start_time"
    # One more than the limit says whether there are more.
    with api.connect(args) as http:
        found = api.pages(http, "/v1/users/me/samples", "samples", "listing samples", params,
                          limit=args.limit + 1 if args.limit else 0)
        if args.json:
            emit_array(item for i, item in enumerate(found) if not args.limit or i < args.limit)
            return
        rows = list(found)
    more = bool(args.limit) and len(rows) > args.limit
    rows = rows[:args.limit] if args.limit else rows
    if not rows:
        print("no samples")
        return
    print(table(["start", "type", "value", "unit", "source"],
                [[sample_time(s), s.get("type", ""), sample_value(s), s.get("unit", ""), s.get("source", "")]
                 for s in rows], right=[2]))
    if more:
        print(f"healthmesh: the first {args.limit} shown; --limit 0 shows them all", file=sys.stderr)


def aggregate(args) -> None:
    params = {"type": args.type, "interval": args.interval.upper(), "startTime": args.start, "endTime": args.end}
    if args.source:
        params["source"] = args.source
    with api.connect(args) as http:
        found = checked(http.get("/v1/users/me/samples:aggregate", params=params), "aggregating samples")
    if args.json:
        emit(found)
        return
    buckets = found.get("buckets", [])
    print(f"{found.get('type', args.type)} in {found.get('unit', '?')}, {found.get('aggregation', '?')} "
          f"per {args.interval.lower()}")
    if not buckets:
        print("no samples in that window")
        return
    hourly = args.interval.lower() == "hour"
    print(table(["start", "count", "sum", "min", "avg", "max", "sources"],
                [[local_time(b.get("startTime"), seconds=False) if hourly else b.get("localDate", ""),
                  number(b.get("count", 0)), number(b.get("sum", 0)), number(b.get("min", 0)),
                  number(b.get("avg", 0)), number(b.get("max", 0)), ", ".join(b.get("sources", []))]
                 for b in buckets], right=range(1, 6)))


def _window(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument("--start", type=when, required=required, metavar="DATE|TIME",
                   help="from this date (local midnight) or RFC 3339 time, inclusive")
    p.add_argument("--end", type=_end, required=required, metavar="DATE|TIME",
                   help="to the end of this date (the next local midnight) or before this RFC 3339 time")
    p.add_argument("--source", help="only samples of exactly this source, e.g. 'Apple Watch'")


def add_commands(commands) -> None:
    p = commands.add_parser("samples", help="list your samples, newest first",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--type", help="only this sample type, e.g. heart_rate (GET /v1/sampleTypes lists them)")
    _window(p, required=False)
    p.add_argument("--limit", type=non_negative, default=DEFAULT_LIMIT, help=f"at most this many (default {DEFAULT_LIMIT}; 0: all)")
    p.add_argument("--oldest-first", action="store_true", help="oldest first instead of newest first")
    p.set_defaults(run=samples)
    p = commands.add_parser("aggregate", help="a sample type in hour, day, week or month buckets",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--type", required=True, help="the sample type, e.g. step_count")
    p.add_argument("--interval", type=str.lower, choices=INTERVALS, default="day", help="the bucket width (default day)")
    _window(p, required=True)
    p.set_defaults(run=aggregate)
