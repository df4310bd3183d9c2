"""`llmlog delete-user` and `llmlog prune`: erasure and retention on demand, same store code as the server."""

from __future__ import annotations

import time

import click

from llmlog.proxy.cli.common import config_options, open_store
from llmlog.proxy.query.timeparse import parse_duration_ms


@click.command("delete-user")
@config_options
@click.argument("user_id")
def delete_user(config_path, db, user_id):
    """Erase every call of one end user, content and search rows included, and reclaim the space.

    \b
    Example:
      llmlog delete-user customer-4711
    """
    _, store = open_store(config_path, db, reads_content=False)
    try:
        deleted = store.delete_user(user_id)
    finally:
        store.close()
    click.echo(f"deleted {deleted} call{'s' if deleted != 1 else ''} of user {user_id!r}")


@click.command("prune")
@config_options
@click.option("--older-than", "older_than", required=True, metavar="AGE",
              help="Remove what started longer ago than this, e.g. 30d, 12h, 2w.")
@click.option("--content-only", is_flag=True,
              help="Drop only bodies, text and search rows; keep the calls and their metrics.")
def prune(config_path, db, older_than, content_only):
    """Delete old calls (or only their content) and hand the space back.

    \b
    Examples:
      llmlog prune --older-than 90d
      llmlog prune --older-than 30d --content-only
    """
    try:
        age_ms = parse_duration_ms(older_than)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--older-than") from None
    _, store = open_store(config_path, db, reads_content=False)
    try:
        result = store.prune(int(time.time() * 1000) - age_ms, content_only)
    finally:
        store.close()
    if content_only:
        click.echo(f"dropped the content of {result.contents_dropped} calls older than {older_than}")
    else:
        click.echo(f"deleted {result.calls_deleted} calls older than {older_than}")
    if result.export_files_removed:
        click.echo(f"removed {result.export_files_removed} export file(s) written before the cutoff")
