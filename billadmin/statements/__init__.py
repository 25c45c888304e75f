"""Patient accounts worked to resolution: statement cycles and dunning, credit balances,
payment plans, collections and follow-up (issue 19)."""
