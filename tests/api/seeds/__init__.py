"""Tests of the seed-compatible routes, one file per seed document."""
