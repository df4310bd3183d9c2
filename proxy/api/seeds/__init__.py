"""Routes that answer as the seed products' documents describe (issue 18): thin translations over /v1/logs' code."""
