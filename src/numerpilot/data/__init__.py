"""Numerai datasets: file layout, synthetic data, column-selective int8 loading."""
