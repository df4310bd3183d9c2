"""`python -m llmlog.proxy.settings --markdown > docs/settings.md`: regenerate the docs table."""

import sys

from llmlog.proxy.settings.docs import markdown

if __name__ == "__main__":
    if sys.argv[1:] != ["--markdown"]:
        sys.exit("usage: python -m llmlog.proxy.settings --markdown > docs/settings.md")
    sys.stdout.write(markdown())
