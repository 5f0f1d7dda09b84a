"""«2. Transferencias»: the form, the history and beneficiaries."""
