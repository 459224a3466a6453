"""`healthmesh keys`: API keys, for a device or an exporter app (Health Auto Export) to send as
`Authorization: Bearer <secret>`.

    healthmesh keys create --name "Health Auto Export"
    healthmesh keys create --name "Band" --device <device id>   (the key may only stream, upload and
                                                                 report health for that device)
    healthmesh keys list
    healthmesh keys revoke <id>

The secret is printed once, by create (healthmesh keeps only a digest of it): store it then. The
list shows each key's first characters, enough to recognise it.
"""

from __future__ import annotations

import sys

from client import api
from client.output import checked, emit, local_time, short_id, table


def keys_create(args) -> None:
    key = {"displayName": args.name}
    if args.device:
        key["device"] = api.resource("devices", args.device)
    with api.connect(args) as http:
        made = checked(http.post("/v1/users/me/apiKeys", json=key), "creating the API key")
    if args.json:
        emit(made)
        return
    print(made["secret"])
    made_key = made["apiKey"]
    print(f"created {made_key['name']} ({made_key['displayName']}"
          + (f", for {made_key['device']}" if made_key.get("device") else "") + ")", file=sys.stderr)
    print("healthmesh: this secret is shown once and cannot be read again: store it now", file=sys.stderr)


def keys_list(args) -> None:
    rows = api.listed(args, "/v1/users/me/apiKeys", "apiKeys", "listing API keys")
    if rows is None:
        return
    if not rows:
        print("no API keys")
        return
    print(table(["id", "name", "prefix", "created", "last used", "device"],
                [[short_id(k["name"]), k.get("displayName", ""), k.get("secretPrefix", "") + "...",
                  local_time(k.get("createTime")), local_time(k.get("lastUseTime")) if k.get("lastUseTime") else "never",
                  short_id(k["device"]) if k.get("device") else "-"] for k in rows]))


def keys_revoke(args) -> None:
    name = api.resource("apiKeys", args.key)
    with api.connect(args) as http:
        checked(http.delete(f"/v1/{name}"), "revoking the API key")
    if args.json:
        emit({"name": name, "revoked": True})
    else:
        print(f"revoked {name}: calls with it fail from now on")


def add_commands(commands) -> None:
    p = commands.add_parser("keys", help="create, list and revoke API keys")
    actions = p.add_subparsers(dest="action", required=True)
    p_create = actions.add_parser("create", help="a new API key; its secret is shown this once")
    p_create.add_argument("--name", required=True, help="where the key is used, 1 to 100 characters")
    p_create.add_argument("--device", help="bind the key to this device (its id or name)")
    p_create.set_defaults(run=keys_create)
    actions.add_parser("list", help="your live API keys, newest first").set_defaults(run=keys_list)
    p_revoke = actions.add_parser("revoke", help="revoke an API key: calls with it fail from now on")
    p_revoke.add_argument("key", help="the key's id or name")
    p_revoke.set_defaults(run=keys_revoke)
