"""«8. Ayuda»: the FAQ (data/faq.toml) filled with this deployment's settings."""
