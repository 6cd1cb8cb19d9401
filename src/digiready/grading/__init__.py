"""Grading: the sandbox, kernels, nbgrader glue, trusted marking and the gradebook."""
