"""`llmlog genkey` and `llmlog rekey`: making a content encryption key, and moving every stored entry
to the newest key (issue 21; store/sealing.py)."""

from __future__ import annotations

import click

from llmlog.proxy.cli.common import config_options, open_store
from llmlog.proxy.privacy.keys import new_key

REKEY_BATCH = 500  # entries per transaction: a server writing to the same store waits at most one batch


@click.command("genkey")
def genkey():
    """Print a new random 256-bit key for privacy.encryption_key_env / _file (64 hex digits).

    \b
    Example:
      export LLMLOG_CONTENT_KEY=$(llmlog genkey)
      LLMLOG_PRIVACY_ENCRYPTION_KEY_ENV=LLMLOG_CONTENT_KEY llmlog serve
    """
    click.echo(new_key())


@click.command("rekey")
@config_options
@click.option("--drop-unreadable", is_flag=True,
              help="Remove the content of entries that cannot be decrypted (changed on disk since they were "
                   "written), keeping them as calls without content, so the old keys can still go.")
def rekey(config_path, db, drop_unreadable):
    """Encrypt every stored entry with the newest configured key, then forget the older keys.

    Entries under an older key, and entries written in clear before encryption was on (these also
    leave the search index), are encrypted again in short transactions, so `llmlog serve` may keep
    running on the same store. Afterwards the older keys can be removed from the configuration.

    \b
    Example (rotating from key A to key B):
      LLMLOG_CONTENT_KEY="$B,$A" llmlog rekey
      LLMLOG_CONTENT_KEY="$B" llmlog serve
    """
    config, store = open_store(config_path, db)
    if config.keyring is None:
        store.close()
        raise click.ClickException("llmlog rekey needs an encryption key: set privacy.encryption_key_env "
                                   "(or privacy.encryption_key_file), newest key first")
    seen = 0

    def progress(rows: int) -> None:
        nonlocal seen
        seen += rows
        click.echo(f"  {_entries(seen)} looked at", err=True)

    try:
        result = store.rekey(batch_size=REKEY_BATCH, progress=progress, drop_unreadable=drop_unreadable)
    finally:
        store.close()
    newest = config.keyring.newest.id
    click.echo(f"encrypted {_entries(result.sealed_clear)} stored in clear and {_entries(result.resealed)} under "
               f"older keys with key {newest}")
    if result.forgotten:
        click.echo(f"forgot key id(s) {', '.join(result.forgotten)}: their keys can be removed from the configuration")
    if result.failed:
        shown = ", ".join(result.failed[:10]) + (" …" if len(result.failed) > 10 else "")
        count = _entries(len(result.failed))
        if drop_unreadable:
            click.echo(f"removed the content of {count} that could not be decrypted: {shown}")
        else:
            left = "was left as it is" if len(result.failed) == 1 else "were left as they are"
            raise click.ClickException(
                f"{count} could not be decrypted (changed since written) and {left}: {shown}; their keys are "
                "still needed, or run `llmlog rekey --drop-unreadable` to remove their content")


def _entries(count: int) -> str:
    return f"{count} {'entry' if count == 1 else 'entries'}"
