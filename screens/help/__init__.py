"""«8. Ayuda»: the FAQ, Acerca de and per-screen help (F1)."""
