"""«2. Transferencias»: own accounts, other members, other institutions; beneficiaries, the payee check and
interbank clearing."""
