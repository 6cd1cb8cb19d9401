"""Reporting: scores, readiness against a pathway, the cohort report."""
