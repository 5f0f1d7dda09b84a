"""«6. Contacto»: channels, agencies and «Escríbenos», and staff's answers to members."""
