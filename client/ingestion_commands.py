"""`healthmesh ingestions`: the uploads received (imports, Health Auto Export posts, batches) and
what became of each.

    healthmesh ingestions                             (newest first: state, format, size, counts; or `ingestions list`)
    healthmesh ingestions --state FAILED --limit 5
    healthmesh ingestions show <id>                   (counts per input kind, skip reasons, every error)
"""

from __future__ import annotations

import sys

from client import api
from client.import_commands import COUNTS, summary
from client.output import checked, emit, local_time, non_negative, number, short_id, size, table

DEFAULT_LIMIT = 20
STATES = ("PENDING", "RUNNING", "SUCCEEDED", "FAILED")
FORMATS = ("HEALTH_AUTO_EXPORT", "APPLE_HEALTH_EXPORT", "BATCH")


def totals(ingestion: dict) -> dict[str, int]:
    counts = ingestion.get("counts", {}).values()
    return {k: sum(int(c.get(k, 0)) for c in counts) for k in COUNTS}


def ingestions_list(args) -> None:
    params = {k: v for k, v in (("state", args.state), ("format", args.format)) if v}
    rows = api.listed(args, "/v1/users/me/ingestions", "ingestions", "listing ingestions", params, args.limit)
    if rows is None:
        return
    if not rows:
        print("no ingestions")
        return
    print(table(["id", "received", "format", "state", "size", *COUNTS],
                [[short_id(i["name"]), local_time(i.get("createTime")), i.get("format", ""), i.get("state", ""),
                  size(i.get("payloadSizeBytes", 0)), *(number(n) for n in totals(i).values())] for i in rows],
                right=range(4, 10)))
    if args.limit and len(rows) == args.limit:
        print(f"healthmesh: the newest {args.limit} shown; --limit 0 shows them all", file=sys.stderr)


def ingestions_show(args) -> None:
    with api.connect(args) as http:
        ingestion = checked(http.get(f"/v1/{api.resource('ingestions', args.ingestion)}"), "reading the ingestion")
    if args.json:
        emit(ingestion)
    else:
        print(summary(ingestion, max_errors=None))


def add_commands(commands) -> None:
    p = commands.add_parser("ingestions", help="your uploads and what became of them (show <id> for one)")
    p.add_argument("--state", type=str.upper, choices=STATES, help="only ingestions in this state")
    p.add_argument("--format", type=str.upper, choices=FORMATS, help="only ingestions of this format")
    p.add_argument("--limit", type=non_negative, default=DEFAULT_LIMIT,
                   help=f"at most this many (default {DEFAULT_LIMIT}; 0: all)")
    p.set_defaults(run=ingestions_list)
    actions = p.add_subparsers(dest="action")
    actions.add_parser("list", help="the same as `healthmesh ingestions`").set_defaults(run=ingestions_list)
    p_show = actions.add_parser("show", help="one ingestion: its counts, skip reasons and errors")
    p_show.add_argument("ingestion", help="the ingestion's id or name")
    p_show.set_defaults(run=ingestions_show)
