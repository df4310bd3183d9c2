"""Model prices and call cost: shipped price data, config overrides, lookup, micro-dollar cost."""

from .cost import compute_cost
from .prices import ModelPrice, PriceTier
from .table import PriceMatch, PriceTable

__all__ = ["ModelPrice", "PriceMatch", "PriceTable", "PriceTier", "compute_cost"]
