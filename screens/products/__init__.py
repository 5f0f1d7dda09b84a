"""«1. Productos» and «7. Solicita tus Productos»."""
