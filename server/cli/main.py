"""`scanfloor`: the admin CLI; each command group lives in its own module beside this one."""

from __future__ import annotations

import click

from server.cli.access import api_key, device
from server.cli.carriers import closeout
from server.cli.counts import counts
from server.cli.db import backup, db, restore
from server.cli.labels import labels
from server.cli.replen import replen
from server.cli.run import carrier_sim, demo, serve_cluster, worker
from server.cli.shop import channel, webhook
from server.cli.site import allocate_cmd, import_, init
from server.cli.stock import stock
from server.cli.transfers import transfers
from server.cli.users import user


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Run the floor of eCommerce warehouses: admin commands."""


for command in (
    init,
    import_,
    allocate_cmd,
    api_key,
    device,
    channel,
    webhook,
    labels,
    closeout,
    counts,
    replen,
    transfers,
    stock,
    user,
    serve_cluster,
    worker,
    demo,
    carrier_sim,
    db,
    backup,
    restore,
):
    main.add_command(command)

if __name__ == "__main__":
    main()
