"""Institutional (facility) billing: the UB-04 / 837I claim of a hospital department (issue 17)."""
