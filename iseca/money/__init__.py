"""Money: the points ledger and everything that moves or counts points and
yen — payments (決済), cancellations (取消), one-time request keys, grants and
campaigns, per-day totals, 精算 periods and their closing, the transfer
schedule, statements (利用額明細), the Zengin transfer file, bank codes and
kana, and the usage lists (利用状況一覧). It imports nothing from merchants,
members or city (tests/test_architecture.py)."""
