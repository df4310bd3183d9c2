"""The `llmlog` command: assembles the click commands of proxy/cli/ (one module per concern)."""

from __future__ import annotations

import click

from proxy.cli.aggregates import stats, summary
from proxy.cli.copy_store import copy_store
from proxy.cli.export import export
from proxy.cli.logs import logs, show
from proxy.cli.maintenance import delete_user, prune
from proxy.cli.prices import pricing, reprice_cmd
from proxy.cli.serve import serve
from store.interface import StoreError


class _Commands(click.Group):
    """A store that fails mid-command (locked, unreachable, a deadlock that kept recurring) is
    one `Error:` line, like every other error a command reports."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except StoreError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """llmlog: a transparent logging proxy for LLM APIs, and the tools to read its logs.

    \b
    Example:
      llmlog serve                 # proxy on 127.0.0.1:8080, logging to SQLite
      llmlog logs -n 20            # the newest calls
    """


main.add_command(serve)
# command modules register here, one line each
main.add_command(summary)
main.add_command(stats)
main.add_command(logs)
main.add_command(show)
main.add_command(delete_user)
main.add_command(prune)
main.add_command(export)
main.add_command(pricing)
main.add_command(reprice_cmd)
main.add_command(copy_store)


if __name__ == "__main__":
    main()
