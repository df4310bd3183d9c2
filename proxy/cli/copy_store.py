"""`llmlog copy-store`: move a history from one store to another (SQLite to PostgreSQL, usually),
through the Store interface, so any backend copies to any other.

Entries go in (started_at, id) order, one batch per transaction. Ids already in the target are
skipped, so a copy run twice, or resumed after a crash, never duplicates; the position reached
after each batch is kept in a small state file (`progress_path`), so an interrupted copy resumes
where it stopped instead of re-reading everything.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

import click
import orjson

from llmlog.proxy.cli.common import terminal_safe
from llmlog.store.backends import open_store, printable
from llmlog.store.filters import LogFilter
from llmlog.store.interface import Position, Store, StoreError

BATCH = 2000


@dataclass(frozen=True)
class CopySeams:
    """How the copy reads and writes, where no option reaches: a test passes its own as click's
    `obj` (`CliRunner().invoke(main, args, obj=CopySeams(...))`); users always get the defaults."""

    batch: int = BATCH  # entries per transaction
    open_store: Callable[..., Store] = open_store  # store/backends.py's: (location, **options) -> Store


def progress_path(source: str, target: str) -> str:
    """Where the position of a copy from `source` to `target` is kept between runs (named after
    both, the password left out of the hash input so a rotated password resumes too)."""
    key = hashlib.sha256(f"{os.path.abspath(source)}\n{printable(target)}".encode()).hexdigest()[:16]
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "llmlog", f"copy-store-{key}.json")


def _load_position(path: str) -> tuple[Position | None, int]:
    try:
        with open(path, "rb") as handle:
            saved = orjson.loads(handle.read())
        return (int(saved["after"][0]), str(saved["after"][1])), int(saved["copied"])
    except FileNotFoundError:
        return None, 0
    except (ValueError, KeyError, TypeError, IndexError):  # torn or edited: start over, nothing is duplicated
        return None, 0


def _save_position(path: str, after: Position, copied: int) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = path + ".part"
    with open(partial, "wb") as handle:
        handle.write(orjson.dumps({"after": list(after), "copied": copied}))
    os.replace(partial, path)


@click.command("copy-store")
@click.option("--from", "source", required=True, metavar="STORE",
              help="The store to copy from: a SQLite file (or a postgresql:// URL).")
@click.option("--to", "target", required=True, metavar="STORE",
              help="The store to copy into, created if needed: a postgresql:// URL (or a SQLite file).")
@click.option("--restart", is_flag=True, help="Start from the first entry, not where an interrupted copy stopped.")
def copy_store(source, target, restart):
    """Copy every logged call (metrics, content, tags, feedback) from one store into another.

    Resumable and idempotent: run it again after an interruption and it goes on where it stopped;
    calls already in the target are skipped, so a target that replicas already write to is fine.
    Export jobs and their files are not copied (start them again on the new store).

    \b
    Example:
      llmlog copy-store --from ~/.local/share/llmlog/llmlog.db --to postgresql://llmlog@db:5432/llmlog
    """
    seams = click.get_current_context().find_object(CopySeams) or CopySeams()
    if printable(source) == printable(target):
        raise click.ClickException("--from and --to name the same store")
    try:
        src = seams.open_store(source, create=False)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        dst = seams.open_store(target)
    except StoreError as exc:
        src.close()
        raise click.ClickException(str(exc)) from None
    state = progress_path(source, target)
    after, copied = (None, 0) if restart else _load_position(state)
    earlier = copied
    try:
        if after is not None:
            click.echo(f"resuming after {copied} calls copied earlier (--restart to start over)", err=True)
        new = 0
        with click.progressbar(length=src.count(LogFilter()), label="copying", file=sys.stderr,
                               hidden=not sys.stderr.isatty()) as bar:
            bar.update(copied)
            while batch := src.read_entries(after, seams.batch):
                written, refused = dst.write_or_split(batch)
                for entry, reason in refused:
                    click.echo(terminal_safe(f"not copied: call {entry.call.get('id')}: {reason}"), err=True)
                new += written
                copied += len(batch)
                after = (batch[-1].call["started_at"], batch[-1].call["id"])
                _save_position(state, after, copied)
                bar.update(len(batch))
    except StoreError as exc:
        raise click.ClickException(f"{exc} (run the same command again to resume)") from None
    finally:
        src.close()
        dst.close()
    if os.path.exists(state):
        os.remove(state)
    now = copied - earlier
    click.echo(f"copied {now} calls from {printable(source)} to {printable(target)}: {new} new, "
               f"{now - new} already there" + (f" ({earlier} copied by an earlier run)" if earlier else ""))
