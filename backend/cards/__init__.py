"""«4. Pago de Tarjetas» and «5. Diferido de Tarjetas»: the card's books, other institutions' card numbers
(sealed), card payments, the monthly cycle and deferrals."""
