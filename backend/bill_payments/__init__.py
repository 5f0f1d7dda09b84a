"""«3. Pago de Servicios»: registered services, consulta de deuda, payments and their life, the recaudación
gateway, the billers' catalogue and Pagos Programados."""
