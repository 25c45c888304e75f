"""Acknowledgements (TA1, 999, 277CA) and claim status (276/277): what happened to a claim
after it left, before the 835."""
