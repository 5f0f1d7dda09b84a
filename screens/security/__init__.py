"""Sign-in: members (and «Regístrate aquí») and staff's second step."""
