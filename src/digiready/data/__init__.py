"""Synthetic data: the course datasets and the demo cohort's answers."""
