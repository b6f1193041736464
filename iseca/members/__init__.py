"""Members (会員): app members and cards (専用カード), and who pays at a till
(a wallet QR or a card: payers). It may use money, never merchants or city."""
