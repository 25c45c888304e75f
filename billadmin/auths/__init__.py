"""Prior authorizations and referrals: the register, the payer rules that require them (and
NDCs and referring providers), and what is expiring or nearly used up (issue 20)."""
