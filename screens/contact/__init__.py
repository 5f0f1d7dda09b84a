"""«6. Contacto»."""
