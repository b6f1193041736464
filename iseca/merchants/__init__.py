"""Merchants (加盟店): businesses and stores as records, the application and
its review (onboarding), 店舗情報 / 事業者情報 changes, registers (レジ) and
their QR codes, and suspension (利用停止). It may use money, never members or
city."""
