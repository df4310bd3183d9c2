"""Routes that answer as the seed products' documents do: thin translations over the logs API."""
