"""The `llmlog` command: assembles the click commands of proxy/cli/ (one module per concern)."""

from __future__ import annotations

import click

from llmlog.proxy.cli.aggregates import stats, summary
from llmlog.proxy.cli.common import installed_version
from llmlog.proxy.cli.copy_store import copy_store
from llmlog.proxy.cli.export import export
from llmlog.proxy.cli.filters import option_name
from llmlog.proxy.cli.keys import genkey, rekey
from llmlog.proxy.cli.logs import logs, show
from llmlog.proxy.cli.maintenance import delete_user, prune
from llmlog.proxy.cli.prices import pricing, reprice_cmd
from llmlog.proxy.cli.serve import serve
from llmlog.proxy.errors import LlmlogError, ValidationError
from llmlog.store.interface import StoreError
from llmlog.store.sealing import UnsealError


class _Commands(click.Group):
    """The one map from errors to the terminal: each is one `Error:` line. A value the caller must
    fix is a usage error (exit 2) naming the option that carried it; everything else, a store that
    fails mid-command (locked, unreachable, a deadlock that kept recurring) included, exits 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ValidationError as exc:
            raise self._usage_error(ctx, exc) from None
        except (LlmlogError, StoreError, UnsealError) as exc:
            raise click.ClickException(str(exc)) from None

    def _usage_error(self, ctx: click.Context, exc: ValidationError) -> click.UsageError:
        """`--limit must be ...`, under the command's usage line: the option named once, as the
        CLI spells it (`--since`, not the API's `start_date`)."""
        flag = option_name(exc.param) if exc.param else None
        if flag is None:
            message = exc.message
        elif exc.template is not None:
            message = exc.template.replace("parameter {}", "{}", 1).replace("{}", flag, 1)
        else:
            message = f"{flag}: {exc.message}"
        name = ctx.invoked_subcommand
        command = self.get_command(ctx, name) if name else None
        where = click.Context(command, info_name=name, parent=ctx) if command else ctx
        return click.UsageError(message, ctx=where)


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"llmlog {installed_version()}")
        ctx.exit()


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Print the installed version and exit.")
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
main.add_command(genkey)
main.add_command(rekey)


if __name__ == "__main__":
    main()
