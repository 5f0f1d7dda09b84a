"""«4. Pago de Tarjetas» and «5. Diferido de Tarjetas»."""
