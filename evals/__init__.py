"""Evaluation of a model on the product: the understanding table, suites of its rows, the audit."""
