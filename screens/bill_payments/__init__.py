"""«3. Pago de Servicios»: Registro, Pagar, Pagos Programados and the history."""
