"""«1. Productos» (the position) and «7. Solicita tus Productos»: simulators, requests, the back office's
approvals, what an approval opens, and what matures each day."""
