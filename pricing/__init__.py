"""Reading providers' answers into usage (pricing.usage) and pricing it (pricing.prices).

Pure functions, no I/O but the shipped data.
"""
